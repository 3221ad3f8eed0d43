/**
 * The operator CLI (`bun run cli <command>`): finds the command named by the leading words, runs it and
 * exits with its code. Exit codes: 0 success, 1 failure (or a problem found), 2 wrong command line.
 * Errors go to stderr as one line an operator can act on; with `--json` also to stdout as `{"error": …}`.
 */
import { ConfigError, loadConfig, type AppConfig } from '../config.ts';
import { DirLockedError } from '../db/dir-lock.ts';
import { SchemaNotCurrentError } from '../db/migrate.ts';
import { auditCheckpoint, auditExport, auditVerify } from './audit.ts';
import { auditConsistency, auditLogKey, auditProof, auditVerifyProof, auditWitness } from './audit-transparency.ts';
import { clientsCreate, clientsList, clientsRevoke, clientsRotateSecret } from './clients.ts';
import type { Command } from './command.ts';
import { dbMigrate } from './db.ts';
import { exportInspections, exportStatusChanges } from './export-datasets.ts';
import { exportPermits } from './export-permits.ts';
import { importContractors, importInspections, importParcels, importPermits, importStatusChanges } from './import.ts';
import {
  jurisdictionsCapacity,
  jurisdictionsCapacityList,
  jurisdictionsCapacityRemove,
  jurisdictionsHolidaysAdd,
  jurisdictionsHolidaysList,
  jurisdictionsHolidaysRemove,
} from './inspection-calendar.ts';
import { jurisdictionsCreate, jurisdictionsList } from './jurisdictions.ts';
import { CliError, createOutput, ExitCode, type Output } from './io.ts';
import { keysRotate } from './keys.ts';
import { persistedList } from './persisted.ts';
import { policyAudit } from './policy.ts';
import { token } from './token.ts';
import { webhooksList, webhooksReplay } from './webhooks.ts';

export const COMMANDS: readonly Command[] = [
  clientsCreate,
  clientsList,
  clientsRevoke,
  clientsRotateSecret,
  keysRotate,
  token,
  policyAudit,
  persistedList,
  auditVerify,
  auditCheckpoint,
  auditExport,
  auditConsistency,
  auditProof,
  auditVerifyProof,
  auditWitness,
  auditLogKey,
  exportPermits,
  exportInspections,
  exportStatusChanges,
  dbMigrate,
  jurisdictionsCreate,
  jurisdictionsList,
  jurisdictionsCapacity,
  jurisdictionsCapacityList,
  jurisdictionsCapacityRemove,
  jurisdictionsHolidaysAdd,
  jurisdictionsHolidaysList,
  jurisdictionsHolidaysRemove,
  importParcels,
  importContractors,
  importPermits,
  importInspections,
  importStatusChanges,
  webhooksList,
  webhooksReplay,
];

const isHelp = (a: string) => a === '--help' || a === '-h' || a === 'help';

function overview(commands: readonly Command[], heading = 'Usage: bun run cli <command> [options]'): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    heading,
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Every command takes --json (machine-readable output) and --help.',
    'Configuration comes from the environment (DATABASE_URL, DATA_DIR, …) as for the server.',
    'Exit codes: 0 success, 1 failure or a problem found, 2 wrong command line.',
  ].join('\n');
}

/** The command whose name words lead `argv`, and the arguments after them. */
function findCommand(argv: string[]): { command: Command; rest: string[] } | null {
  let best: { command: Command; rest: string[] } | null = null;
  for (const command of COMMANDS) {
    const words = command.name.split(' ');
    if (words.every((w, i) => argv[i] === w) && (!best || words.length > best.command.name.split(' ').length)) {
      best = { command, rest: argv.slice(words.length) };
    }
  }
  return best;
}

async function fail(out: Output, message: string, code: number): Promise<number> {
  process.stderr.write(`cli: ${message}\n`);
  if (out.json) await out.write(`${JSON.stringify({ error: { message, exitCode: code } })}\n`);
  return code;
}

export async function runCli(argv: string[]): Promise<number> {
  const out = createOutput(argv.includes('--json'));
  const words = argv.filter((a) => !a.startsWith('-'));
  if (argv.length === 0 || (isHelp(argv[0] ?? '') && words.length <= 1)) {
    await out.write(`${overview(COMMANDS)}\n`);
    return argv.length === 0 ? ExitCode.USAGE : ExitCode.OK;
  }
  const found = findCommand(argv);
  if (!found) {
    // a group alone (`cli clients`, `cli audit --help`, `cli jurisdictions holidays`): list that group's commands
    const firstOption = argv.findIndex((a) => a.startsWith('-'));
    const lead = firstOption === -1 ? argv : argv.slice(0, firstOption);
    let depth = lead.length;
    const inGroup = (c: Command, n: number) => lead.slice(0, n).every((w, i) => c.name.split(' ')[i] === w);
    while (depth > 1 && !COMMANDS.some((c) => inGroup(c, depth))) depth--;
    const group = COMMANDS.filter((c) => inGroup(c, depth) && c.name.split(' ').length > depth);
    if (depth >= 1 && group.length) {
      const name = lead.slice(0, depth).join(' ');
      const help = argv.slice(depth).some(isHelp);
      if (help) {
        await out.write(`${overview(group, `Usage: bun run cli ${name} <command> [options]`)}\n`);
        return ExitCode.OK;
      }
      const subcommands = [...new Set(group.map((c) => c.name.split(' ')[depth]))];
      return fail(out, `${name}: unknown or missing subcommand "${argv[depth] ?? ''}"; one of: ${subcommands.join(', ')}`, ExitCode.USAGE);
    }
    return fail(out, `unknown command "${argv[0]}" (bun run cli --help lists them)`, ExitCode.USAGE);
  }
  const { command, rest } = found;
  if (rest.some((a) => a === '--help' || a === '-h')) {
    await out.write(`${command.help}\n`);
    return ExitCode.OK;
  }
  let config: AppConfig | undefined;
  try {
    return await command.run(rest, { out, config: () => (config ??= loadConfig()) });
  } catch (err) {
    if (err instanceof CliError) return fail(out, `${command.name}: ${err.message}`, err.exitCode);
    if (err instanceof ConfigError || err instanceof DirLockedError || err instanceof SchemaNotCurrentError)
      return fail(out, `${command.name}: ${err.message}`, ExitCode.FAILED);
    const e = err as Error & { code?: string };
    // the reader went away (`| head`): nothing left to say to it
    if (e.code === 'EPIPE') return ExitCode.OK;
    // connection failures are the operator's to fix; anything else is a bug worth its stack
    if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'CONNECT_TIMEOUT' || e.code === '28P01' || e.code === '3D000') {
      return fail(out, `${command.name}: cannot reach the database: ${e.message}`, ExitCode.FAILED);
    }
    process.stderr.write(`${e.stack ?? String(e)}\n`);
    return fail(out, `${command.name}: unexpected error: ${e.message}`, ExitCode.FAILED);
  }
}

if (import.meta.main) {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(ExitCode.OK);
  });
  const code = await runCli(process.argv.slice(2));
  process.exitCode = code;
  // Handles are closed by now; should a driver still hold the event loop, do not hang the shell.
  setTimeout(() => process.exit(code), 3000).unref();
}
