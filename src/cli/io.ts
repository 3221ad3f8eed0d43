/**
 * What every CLI command shares: argument parsing (node:util parseArgs, strict), the error kinds and their
 * exit codes, and output that is either human text or, with `--json`, one JSON document on stdout.
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { GraphQLError } from 'graphql';

/** Exit codes: 0 success, 1 the operation failed or found a problem, 2 the command line was wrong. */
export const ExitCode = { OK: 0, FAILED: 1, USAGE: 2 } as const;

/** A failure with a message meant for the operator (no stack trace). */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.FAILED,
  ) {
    super(message);
  }
}

export const usageError = (message: string) => new CliError(message, ExitCode.USAGE);

/** Options every command accepts. */
export const COMMON_OPTIONS = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsOptionsConfig;

/** Strict parsing: unknown options and stray positionals are usage errors naming the culprit. */
export function parseOptions<O extends ParseArgsOptionsConfig>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...options }, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw usageError((err as Error).message.replace(/^TypeError( \[[A-Z_]+\])?: /, ''));
  }
}

/** The value of a required string option, or a usage error naming the flag. */
export function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw usageError(`${flag} is required`);
  return value;
}

/** Where command output goes. Text for people; with `--json`, exactly one JSON document per command. */
export interface Output {
  readonly json: boolean;
  /** Writes raw text to stdout (awaited, so large exports are not cut off at exit). */
  write(text: string): Promise<void>;
  /** The command's result: `data` as JSON with `--json`, else `text()`. */
  result(data: unknown, text: () => string): Promise<void>;
  /** A remark for the operator on stderr (never mixed into machine-readable stdout). */
  note(text: string): void;
}

export function createOutput(json: boolean): Output {
  // process.stdout, not Bun.write(Bun.stdout): the latter writes at offset 0 of a redirected file, so
  // `>>` or output shared with other commands was overwritten. The callback waits until the chunk is handed
  // to the OS, so large exports are neither buffered whole nor cut off at exit.
  const write = (text: string) =>
    new Promise<void>((resolve, reject) => {
      process.stdout.write(text, (err) => (err ? reject(err) : resolve()));
    });
  return {
    json,
    write,
    result: (data, text) => write(json ? `${JSON.stringify(data, null, 2)}\n` : ensureNewline(text())),
    note: (text) => process.stderr.write(ensureNewline(text)),
  };
}

const ensureNewline = (s: string) => (s.endsWith('\n') ? s : `${s}\n`);

/** A plain text table: columns padded to their widest cell. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * Domain functions report bad input as GraphQL errors naming the input field (`input.role: …`);
 * the operator typed a flag, so name the flag instead.
 */
export function fromDomainError(err: unknown, flags: Record<string, string>): unknown {
  if (!(err instanceof GraphQLError)) return err;
  const field = typeof err.extensions.field === 'string' ? err.extensions.field : undefined;
  let message = err.message;
  if (field && flags[field]) message = `${flags[field]}: ${message.slice(field.length + 2)}`;
  return new CliError(message);
}

/** {@link parseOptions} for commands that take exactly one FILE argument besides their options. */
export function parseArgsWithFile<O extends ParseArgsOptionsConfig>(argv: string[], options: O) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...options }, strict: true, allowPositionals: true });
  } catch (err) {
    throw usageError((err as Error).message.replace(/^TypeError( \[[A-Z_]+\])?: /, ''));
  }
  if (parsed.positionals.length !== 1)
    throw usageError(parsed.positionals.length === 0 ? 'FILE is required' : `one FILE expected, got ${parsed.positionals.join(' ')}`);
  return { values: parsed.values, file: parsed.positionals[0]! };
}
