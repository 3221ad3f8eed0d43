/**
 * Readable log lines for a developer's terminal: `12:03:04.512 INFO  token granted  requestId=… client=demo-analyst`.
 * pino writes JSON; this destination reformats each line as it is written, in the same process (no worker, no
 * dependency: pino-pretty and its dozen packages would do the same for a handful of fields). JSON stays the format
 * wherever a machine reads the logs: any environment but development, or output that is not a terminal.
 */

/** `LOG_FORMAT`: `auto` is pretty only in development on a terminal. */
export type LogFormat = 'auto' | 'json' | 'pretty';

export function usePrettyLogs(format: LogFormat, env: string, isTTY: boolean): boolean {
  return format === 'pretty' || (format === 'auto' && env === 'development' && isTTY);
}

const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '90'],
  20: ['DEBUG', '36'],
  30: ['INFO ', '32'],
  40: ['WARN ', '33'],
  50: ['ERROR', '31'],
  60: ['FATAL', '35'],
};
/** Fields every line has (or that say nothing to a reader): shown in the line's head or not at all. */
const HEAD = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname', 'err']);

const show = (v: unknown) => (typeof v === 'string' && /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v));

/** One pino JSON line as a readable line (an error's stack on the lines below it); anything else unchanged. */
export function prettyLine(json: string, color: boolean): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const [name, code] = LEVELS[o.level as number] ?? [String(o.level).padEnd(5), '0'];
  const time = typeof o.time === 'string' ? o.time.slice(11, 23) : new Date(Number(o.time)).toISOString().slice(11, 23);
  const fields = Object.entries(o)
    .filter(([k]) => !HEAD.has(k))
    .map(([k, v]) => `${paint('2', `${k}=`)}${show(v)}`)
    .join(' ');
  const err = o.err as { type?: string; message?: string; stack?: string } | undefined;
  const tail = err ? `\n    ${(err.stack ?? `${err.type ?? 'Error'}: ${err.message}`).replace(/\n/g, '\n    ')}` : '';
  return `${paint('2', time)} ${paint(code, name)} ${o.msg ?? ''}${fields ? `  ${fields}` : ''}${tail}\n`;
}

/** A pino destination writing readable lines to `out` (colours when `color`). */
export function prettyLogDestination(out: { write(s: string): unknown } = process.stdout, color = true) {
  return { write: (line: string) => void out.write(prettyLine(line, color)) };
}
