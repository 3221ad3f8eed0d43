/**
 * Issue 22: the operators' `cli webhooks list|replay`, run as a child process the way an operator does. The
 * functions behind them are tested in test/events/delivery-instances.test.ts; this covers the commands themselves:
 * their output (table and --json, never a secret), what replay changes in the database, and the exit codes
 * (0 done, 1 no such webhook, 2 usage).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/rows.ts';
import { newWebhookSecret } from '../../src/events/webhook-store.ts';
import { CLI_HOOK_TIMEOUT, CLI_TEST_TIMEOUT, createCliDatabase, runCli, type CliDatabase } from './support.ts';

let cdb: CliDatabase;
beforeAll(async () => {
  cdb = await createCliDatabase();
}, CLI_HOOK_TIMEOUT);
afterAll(async () => {
  await cdb?.drop();
}, CLI_HOOK_TIMEOUT);

const cli = (...args: string[]) => runCli(args, cdb.env);
const REASON = 'disabled after failing since 2026-01-01T00:00:00.000Z: HTTP 500';
const secrets: string[] = [];
const ids = { active: '', disabled: '', deleted: '' };

/** Runs `work` on the CLI's database and closes it again (PGlite: the CLI must be able to take the directory). */
async function onDatabase<T>(work: (db: Awaited<ReturnType<CliDatabase['open']>>['db']) => Promise<T>): Promise<T> {
  const database = await cdb.open();
  try {
    return await work(database.db);
  } finally {
    await database.close();
  }
}

/**
 * Three webhooks: an active one (a delivery delivered, one pending), one the server disabled (two deliveries
 * dead-lettered, the older a day back, one delivered an hour back), one deleted (a delivery dead-lettered).
 */
async function plantWebhooks() {
  await onDatabase(async (db) => {
    const hook = async (client: string, url: string, over: { active?: boolean; reason?: string; deleted?: boolean } = {}) => {
      const secret = newWebhookSecret();
      secrets.push(secret);
      const [row] = rowsOf<{ id: string }>(
        await db.execute(sql`insert into webhooks (client_id, jurisdiction_id, url, events, secret, active, disabled_reason, deleted_at)
          values (${client}, 'demo-city', ${url}, '{permit.status_changed}'::text[], ${secret}, ${over.active ?? true},
            ${over.reason ?? null}, ${over.deleted ? sql`now()` : sql`null`}) returning id::text`),
      );
      return row!.id;
    };
    const delivery = (webhookId: string, state: string, age: string, lastError: string | null = null) =>
      db.execute(sql`insert into webhook_deliveries (message_id, webhook_id, event_type, body, state, attempts, last_error, created_at)
        values (${`msg_${crypto.randomUUID()}`}, ${webhookId}::uuid, 'permit.status_changed', '{"type":"permit.status_changed","data":{}}'::jsonb,
          ${state}, 1, ${lastError}, now() - ${age}::interval)`);
    ids.active = await hook('demo-contractor-a', 'https://hooks.example.org/a');
    ids.disabled = await hook('demo-gis', 'https://gis.example.net/in', { active: false, reason: REASON });
    ids.deleted = await hook('demo-clerk', 'https://gone.example.com/x', { deleted: true });
    await delivery(ids.active, 'delivered', '2 hours');
    await delivery(ids.active, 'pending', '1 minute');
    await delivery(ids.disabled, 'dead', '1 day', 'HTTP 500');
    await delivery(ids.disabled, 'dead', '2 hours', 'HTTP 500');
    await delivery(ids.disabled, 'delivered', '1 hour');
    await delivery(ids.deleted, 'dead', '1 hour', 'connect timeout');
  });
}

describe('cli webhooks', () => {
  test(
    'list: none registered, then every webhook with its state, delivery counts and reason, never a secret',
    async () => {
      const empty = await cli('webhooks', 'list');
      expect(empty).toMatchObject({ code: 0, stdout: expect.stringContaining('No webhooks registered.') });
      expect(JSON.parse((await cli('webhooks', 'list', '--json')).stdout)).toEqual([]);

      await plantWebhooks();
      const listed = await cli('webhooks', 'list', '--json');
      expect(listed.code).toBe(0);
      const hooks = JSON.parse(listed.stdout) as Record<string, unknown>[];
      const byId = new Map(hooks.map((h) => [h.id, h]));
      expect(byId.get(ids.active)).toMatchObject({
        clientId: 'demo-contractor-a',
        url: 'https://hooks.example.org/a',
        active: true,
        deleted: false,
        disabledReason: null,
        pending: 1,
        delivered: 1,
        dead: 0,
        lastError: null,
      });
      expect(byId.get(ids.disabled)).toMatchObject({ active: false, disabledReason: REASON, pending: 0, delivered: 1, dead: 2 });
      expect(byId.get(ids.deleted)).toMatchObject({ deleted: true, dead: 1, lastError: 'connect timeout' });

      const table = await cli('webhooks', 'list');
      expect(table.code).toBe(0);
      const lines = table.stdout.split('\n');
      expect(lines[0]).toMatch(/^ID\s+CLIENT\s+URL\s+STATE\s+PENDING\s+DELIVERED\s+DEAD\s+LAST ERROR/);
      const row = (id: string) => lines.find((l) => l.startsWith(id)) ?? '';
      expect(row(ids.active)).toMatch(/demo-contractor-a\s+https:\/\/hooks\.example\.org\/a\s+active\s+1\s+1\s+0\s+-/);
      expect(row(ids.disabled)).toMatch(/demo-gis\s+\S+\s+disabled\s+0\s+1\s+2\s+disabled after failing since 2026-01-01/);
      expect(row(ids.deleted)).toMatch(/\sdeleted\s+0\s+0\s+1\s+connect timeout/);
      for (const out of [listed.stdout, table.stdout]) {
        for (const s of secrets) expect(out).not.toContain(s);
        expect(out).not.toContain('whsec_');
      }
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    "replay: a disabled webhook's dead-lettered deliveries are queued again and the webhook enabled; --since takes delivered ones too",
    async () => {
      const replayed = await cli('webhooks', 'replay', '--id', ids.disabled);
      expect(replayed.code).toBe(0);
      expect(replayed.stdout.trim()).toBe(`Queued 2 deliveries of webhook ${ids.disabled} again.`);
      const after = await onDatabase(async (db) => ({
        hook: rowsOf<{ active: boolean; disabled_reason: string | null }>(
          await db.execute(sql`select active, disabled_reason from webhooks where id = ${ids.disabled}::uuid`),
        )[0],
        states: rowsOf<{ state: string; attempts: number; last_error: string | null }>(
          await db.execute(
            sql`select state, attempts, last_error from webhook_deliveries where webhook_id = ${ids.disabled}::uuid order by seq`,
          ),
        ),
      }));
      expect(after.hook).toEqual({ active: true, disabled_reason: null });
      expect(after.states).toEqual([
        { state: 'pending', attempts: 0, last_error: null },
        { state: 'pending', attempts: 0, last_error: null },
        { state: 'delivered', attempts: 1, last_error: null },
      ]);

      // the active webhook: nothing dead-lettered; since 3 hours back its delivered one too (the pending one stays)
      const none = await cli('webhooks', 'replay', '--id', ids.active, '--json');
      expect(none.code).toBe(0);
      expect(JSON.parse(none.stdout)).toEqual({ webhookId: ids.active, queued: 0 });
      const since = new Date(Date.now() - 3 * 3600_000).toISOString();
      const sinceRun = await cli('webhooks', 'replay', '--id', ids.active, '--since', since, '--json');
      expect(sinceRun.code).toBe(0);
      expect(JSON.parse(sinceRun.stdout)).toEqual({ webhookId: ids.active, queued: 1 });
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'replay refuses a deleted or unknown webhook (exit 1) and bad options (exit 2), changing nothing',
    async () => {
      const deleted = await cli('webhooks', 'replay', '--id', ids.deleted);
      expect(deleted.code).toBe(1);
      expect(deleted.stderr).toContain(`no webhook ${ids.deleted} (unknown, or deleted)`);
      const unknown = await cli('webhooks', 'replay', '--id', crypto.randomUUID());
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('(unknown, or deleted)');

      const noId = await cli('webhooks', 'replay');
      expect(noId.code).toBe(2);
      expect(noId.stderr).toContain('--id');
      const notUuid = await cli('webhooks', 'replay', '--id', 'abc');
      expect(notUuid.code).toBe(2);
      expect(notUuid.stderr).toContain('--id: not a webhook id (a UUID)');
      const badSince = await cli('webhooks', 'replay', '--id', ids.active, '--since', 'yesterday');
      expect(badSince.code).toBe(2);
      expect(badSince.stderr).toContain('--since: not a time: yesterday');

      const deadLeft = await onDatabase(async (db) =>
        rowsOf<{ state: string }>(await db.execute(sql`select state from webhook_deliveries where webhook_id = ${ids.deleted}::uuid`)),
      );
      expect(deadLeft).toEqual([{ state: 'dead' }]);
    },
    CLI_TEST_TIMEOUT,
  );
});
