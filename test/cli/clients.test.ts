import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { CLI_HOOK_TIMEOUT, CLI_TEST_TIMEOUT, createCliDatabase, runCli, type CliDatabase } from './support.ts';

let cdb: CliDatabase;
beforeAll(async () => {
  cdb = await createCliDatabase();
}, CLI_HOOK_TIMEOUT);
afterAll(async () => {
  await cdb?.drop();
}, CLI_HOOK_TIMEOUT);

const cli = (...args: string[]) => runCli(args, cdb.env);

describe('cli clients', () => {
  test(
    'a client is created with its secret shown once, listed without it, given a new secret, then revoked',
    async () => {
      const created = await cli('clients', 'create', '--id', 'acme-gis', '--role', 'gis_vendor', '--jurisdiction', 'demo-city', '--json');
      expect(created.code).toBe(0);
      const c = JSON.parse(created.stdout);
      expect(c).toMatchObject({ clientId: 'acme-gis', role: 'gis_vendor', jurisdiction: 'demo-city', status: 'active' });
      expect(c.clientSecret).toMatch(/^[A-Za-z0-9_-]{40,}$/);

      const listed = await cli('clients', 'list', '--json');
      expect(listed.code).toBe(0);
      const list = JSON.parse(listed.stdout) as Record<string, unknown>[];
      const entry = list.find((x) => x.clientId === 'acme-gis');
      expect(entry).toMatchObject({ role: 'gis_vendor', jurisdiction: 'demo-city', status: 'active', certBound: false });
      expect(listed.stdout).not.toContain(c.clientSecret);
      expect(listed.stdout).not.toMatch(/secret|hash|argon2/i);

      const rotated = await cli('clients', 'rotate-secret', '--id', 'acme-gis', '--json');
      expect(rotated.code).toBe(0);
      const r = JSON.parse(rotated.stdout);
      expect(r.clientId).toBe('acme-gis');
      expect(r.clientSecret).toMatch(/^[A-Za-z0-9_-]{40,}$/);
      expect(r.clientSecret).not.toBe(c.clientSecret);

      const revoked = await cli('clients', 'revoke', '--id', 'acme-gis', '--json');
      expect(revoked.code).toBe(0);
      expect(JSON.parse(revoked.stdout)).toEqual({ clientId: 'acme-gis', status: 'revoked' });

      const after = JSON.parse((await cli('clients', 'list', '--json')).stdout) as Record<string, unknown>[];
      expect(after.find((x) => x.clientId === 'acme-gis')?.status).toBe('revoked');
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'revoking a client twice fails the second time with a message',
    async () => {
      expect((await cli('clients', 'create', '--id', 'twice-revoked', '--role', 'analyst', '--jurisdiction', 'other-town')).code).toBe(0);
      expect((await cli('clients', 'revoke', '--id', 'twice-revoked')).code).toBe(0);
      const again = await cli('clients', 'revoke', '--id', 'twice-revoked');
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('no active client twice-revoked');
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'a contractor client is bound to a contractor license of its jurisdiction',
    async () => {
      const unbound = await cli('clients', 'create', '--id', 'builder-x', '--role', 'contractor', '--jurisdiction', 'demo-city');
      expect(unbound.code).toBe(1);
      expect(unbound.stderr).toContain('--contractor');
      const bound = await cli(
        'clients',
        'create',
        '--id',
        'builder-x',
        '--role',
        'contractor',
        '--jurisdiction',
        'demo-city',
        '--contractor',
        'DC-LIC-1001',
        '--json',
      );
      expect(bound.code).toBe(0);
      expect(JSON.parse(bound.stdout).contractor).toBe('DC-LIC-1001');
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'an unknown role exits non-zero naming --role and the valid roles, and registers nothing',
    async () => {
      const bad = await cli('clients', 'create', '--id', 'bad-role', '--role', 'wizard', '--jurisdiction', 'demo-city');
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('--role');
      expect(bad.stderr).toContain('wizard');
      expect(bad.stderr).toContain('gis_vendor');
      const list = JSON.parse((await cli('clients', 'list', '--json')).stdout) as { clientId: string }[];
      expect(list.some((x) => x.clientId === 'bad-role')).toBe(false);
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'an unknown jurisdiction, a missing option and an unknown option each fail with a message',
    async () => {
      const nowhere = await cli('clients', 'create', '--id', 'lost-one', '--role', 'clerk', '--jurisdiction', 'nowhere');
      expect(nowhere.code).toBe(1);
      expect(nowhere.stderr).toContain('--jurisdiction: no jurisdiction nowhere');

      const missing = await cli('clients', 'create', '--role', 'clerk', '--jurisdiction', 'demo-city');
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('--id is required');

      const unknown = await cli('clients', 'list', '--colour');
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('--colour');
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'with --json a failure also answers a JSON error on stdout',
    async () => {
      const res = await cli('clients', 'rotate-secret', '--id', 'never-registered', '--json');
      expect(res.code).toBe(1);
      expect(JSON.parse(res.stdout).error.message).toContain('never-registered');
    },
    CLI_TEST_TIMEOUT,
  );
});
