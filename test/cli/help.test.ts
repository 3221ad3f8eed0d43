import { describe, expect, test } from 'bun:test';
import { COMMANDS } from '../../src/cli/main.ts';
import { CLI_TEST_TIMEOUT, runCli } from './support.ts';

describe('cli help and command lookup', () => {
  test(
    '--help lists every command and exits 0',
    async () => {
      const res = await runCli(['--help']);
      expect(res.code).toBe(0);
      for (const c of COMMANDS) expect(res.stdout).toContain(c.name);
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'every command answers --help with its usage and exits 0 without needing a database or configuration',
    async () => {
      // an invalid configuration proves --help never loads it
      // four at a time: forty cold `bun` starts at once thrash a 2-core machine far past the timeout
      const results: Awaited<ReturnType<typeof runCli>>[] = [];
      for (let i = 0; i < COMMANDS.length; i += 4)
        results.push(
          ...(await Promise.all(COMMANDS.slice(i, i + 4).map((c) => runCli([...c.name.split(' '), '--help'], { PORT: 'not-a-port' })))),
        );
      for (const [i, res] of results.entries()) {
        expect(res.code).toBe(0);
        expect(res.stdout).toContain(`cli ${COMMANDS[i]!.name}`);
      }
    },
    2 * CLI_TEST_TIMEOUT,
  );

  test(
    'a group word with --help lists its subcommands',
    async () => {
      const res = await runCli(['clients', '--help']);
      expect(res.code).toBe(0);
      expect(res.stdout).toContain('clients rotate-secret');
      expect(res.stdout).not.toContain('export permits');
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'an unknown command or subcommand is a usage error (exit 2) with a message',
    async () => {
      const unknown = await runCli(['frobnicate']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('unknown command "frobnicate"');
      const sub = await runCli(['clients', 'delete', '--id', 'x']);
      expect(sub.code).toBe(2);
      expect(sub.stderr).toContain('create, list, revoke, rotate-secret');
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'an invalid configuration stops a command with the variable named',
    async () => {
      const res = await runCli(['clients', 'list'], { PORT: 'not-a-port' });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('PORT');
    },
    CLI_TEST_TIMEOUT,
  );
});
