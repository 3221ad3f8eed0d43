/** `cli jurisdictions create|list` on an empty database: the first step of bringing a city's data. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { CLI_HOOK_TIMEOUT, CLI_TEST_TIMEOUT, createCliDatabase, runCli, type CliDatabase } from './support.ts';

let cdb: CliDatabase;
beforeAll(async () => {
  cdb = await createCliDatabase({ seed: false });
}, CLI_HOOK_TIMEOUT);
afterAll(async () => {
  await cdb?.drop();
}, CLI_HOOK_TIMEOUT);

const cli = (...args: string[]) => runCli(args, cdb.env);

describe('cli jurisdictions', () => {
  test(
    'creates a jurisdiction, lists it, refuses a duplicate and bad values, then a client can belong to it',
    async () => {
      const empty = await cli('jurisdictions', 'list', '--json');
      expect(empty.code).toBe(0);
      expect(JSON.parse(empty.stdout)).toEqual([]);

      const created = await cli(
        'jurisdictions',
        'create',
        '--id',
        'springfield-il',
        '--name',
        'City of Springfield',
        '--state',
        'il',
        '--timezone',
        'America/Chicago',
        '--json',
      );
      expect(created.code).toBe(0);
      expect(JSON.parse(created.stdout)).toMatchObject({
        id: 'springfield-il',
        name: 'City of Springfield',
        state: 'IL',
        timezone: 'America/Chicago',
        permitPrefix: 'SI',
      });

      const listed = await cli('jurisdictions', 'list');
      expect(listed.code).toBe(0);
      expect(listed.stdout).toMatch(/springfield-il\s+City of Springfield\s+IL\s+America\/Chicago\s+SI/);

      const again = await cli('jurisdictions', 'create', '--id', 'springfield-il', '--name', 'Again', '--state', 'IL');
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('jurisdiction springfield-il already exists');

      const bad = await cli('jurisdictions', 'create', '--id', 'Bad Id', '--name', 'X', '--state', 'ZZ', '--timezone', 'Mars/Olympus');
      expect(bad.code).toBe(2);
      for (const part of ['--id: "Bad Id"', '--state: "ZZ"', '--timezone: "Mars/Olympus"']) expect(bad.stderr).toContain(part);

      const missing = await cli('jurisdictions', 'create', '--id', 'x-town', '--name', 'X');
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('--state is required');

      const client = await cli(
        'clients',
        'create',
        '--id',
        'springfield-clerk',
        '--role',
        'clerk',
        '--jurisdiction',
        'springfield-il',
        '--json',
      );
      expect(client.code).toBe(0);
    },
    CLI_TEST_TIMEOUT,
  );
});
