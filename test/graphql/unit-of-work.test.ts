/**
 * The unit of work (src/db/unit-of-work.ts) runs the commit hooks' statements (the audit entry) inside the
 * mutation's own transaction, before COMMIT; the one-statement unit makes them parts of the change's single
 * statement. Either way a failing one must leave nothing of the change behind: "no change without its entry".
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { sql, type SQL } from 'drizzle-orm';
import { openDatabase, type Database, type Executor } from '../../src/db/client.ts';
import { rowsOf } from '../../src/db/rows.ts';
import { createOneStatementUnit, createUnitOfWork, type CommitHook } from '../../src/db/unit-of-work.ts';
import type { StatementChange } from '../../src/db/fused-statements.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

setDefaultTimeout(60_000);
let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
  await t.database.db.execute(sql`create table uow_probe (
    id serial primary key,
    run text not null,
    what text not null check (what <> 'refused'),
    xact text not null default pg_current_xact_id()::text)`);
});
afterAll(() => t.drop());

const rows = async (run: string) =>
  rowsOf<{ what: string; xact: string }>(await t.database.db.execute(sql`select what, xact from uow_probe where run = ${run} order by id`));

/** Runs `fn` on a pool of one connection (postgres-js prepares statements per connection), closed afterwards. */
async function onOneConnection(fn: (db: Database['db']) => Promise<void>) {
  const single = await openDatabase({ url: t.url!, poolMax: 1 });
  try {
    await fn(single.db);
  } finally {
    await single.close();
  }
}

/** What a pooler or an operator's DEALLOCATE does to a session's prepared statement: the one whose text matches is gone. */
async function deallocate(db: Executor, statementText: SQL) {
  const [prepared] = rowsOf<{ name: string }>(await db.execute(sql`select name from pg_prepared_statements where ${statementText}`));
  expect(prepared).toBeDefined();
  await db.execute(sql.raw(`deallocate "${prepared!.name.replace(/"/g, '')}"`));
}

const hookWriting =
  (run: string, what: string, log: string[]): CommitHook =>
  () => ({
    statement: sql`insert into uow_probe (run, what) values (${run}, ${what})`,
    committed: () => log.push(what),
  });

test("the hooks' statements commit in the work's own transaction", async () => {
  const log: string[] = [];
  const uow = createUnitOfWork(t.database.db, [hookWriting('same-tx', 'entry-1', log), hookWriting('same-tx', 'entry-2', log)]);
  const r = await uow(
    async (tx) => {
      await tx.execute(sql`insert into uow_probe (run, what) values ('same-tx', 'change')`);
      return 'done';
    },
    () => ['P-1'],
  );
  expect(r).toBe('done');
  const written = await rows('same-tx');
  expect(written.map((w) => w.what)).toEqual(['change', 'entry-1', 'entry-2']);
  expect(new Set(written.map((w) => w.xact)).size).toBe(1);
  expect(log).toEqual(['entry-1', 'entry-2']);
});

test('a hook statement the database refuses rolls the change back and fails the unit of work', async () => {
  const log: string[] = [];
  const uow = createUnitOfWork(t.database.db, [hookWriting('refused', 'entry', log), hookWriting('refused', 'refused', log)]);
  const err = await uow(
    async (tx) => {
      await tx.execute(sql`insert into uow_probe (run, what) values ('refused', 'change')`);
      return 'done';
    },
    () => [],
  ).then(
    () => null,
    (e: unknown) => e as Error,
  );
  expect(err).not.toBeNull();
  expect(String((err as { cause?: unknown }).cause ?? err)).toMatch(/uow_probe_what_check|check constraint/);
  expect(await rows('refused')).toEqual([]);
  expect(log).toEqual([]);
});

test('a hook that throws while building its statement rolls the change back', async () => {
  const log: string[] = [];
  const broken: CommitHook = () => {
    throw new Error('entry cannot be stored');
  };
  const uow = createUnitOfWork(t.database.db, [hookWriting('thrown', 'entry', log), broken]);
  await expect(
    uow(
      async (tx) => {
        await tx.execute(sql`insert into uow_probe (run, what) values ('thrown', 'change')`);
        return 'done';
      },
      () => [],
    ),
  ).rejects.toThrow('entry cannot be stored');
  expect(await rows('thrown')).toEqual([]);
  expect(log).toEqual([]);
});

test('work that fails: no hook statement is sent, nothing committed', async () => {
  const log: string[] = [];
  let built = 0;
  const counting: CommitHook = () => {
    built++;
    return null;
  };
  const uow = createUnitOfWork(t.database.db, [hookWriting('work-fails', 'entry', log), counting]);
  await expect(
    uow(
      async (tx) => {
        await tx.execute(sql`insert into uow_probe (run, what) values ('work-fails', 'change')`);
        throw new Error('domain rule');
      },
      () => [],
    ),
  ).rejects.toThrow('domain rule');
  expect(await rows('work-fails')).toEqual([]);
  expect(built).toBe(0);
  expect(log).toEqual([]);
});

test('COMMIT itself fails (a deferred constraint): the hooks are not told they committed, nothing is written', async () => {
  await t.database.db.execute(
    sql`create table if not exists uow_deferred (k int, constraint uow_deferred_k_uq unique (k) deferrable initially deferred)`,
  );
  const log: string[] = [];
  const uow = createUnitOfWork(t.database.db, [hookWriting('commit-fails', 'entry', log)]);
  const err = await uow(
    async (tx) => {
      await tx.execute(sql`insert into uow_probe (run, what) values ('commit-fails', 'change')`);
      // both rows go in; the unique constraint is checked at COMMIT
      await tx.execute(sql`insert into uow_deferred (k) values (1), (1)`);
      return 'done';
    },
    () => [],
  ).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).not.toBeNull();
  expect(await rows('commit-fails')).toEqual([]);
  // an audit hook marks its operation audited only here: a failed COMMIT leaves it to the request's own entry
  expect(log).toEqual([]);
});

test("the hook's prepared statement vanishes mid-transaction (DEALLOCATE): everything rolls back, nothing is written outside it", async () => {
  // PostgreSQL only: postgres-js prepares statements per connection (PGlite has no such cache)
  if (!process.env.TEST_DATABASE_URL) return;
  await onOneConnection(async (db) => {
    const log: string[] = [];
    const uow = createUnitOfWork(db, [hookWriting('dealloc', 'entry', log)]);
    const change = (what: string, drop: boolean) =>
      uow(
        async (tx) => {
          await tx.execute(sql`insert into uow_probe (run, what) values ('dealloc', ${what})`);
          // the hook's statement is gone before the hook runs
          if (drop) await deallocate(tx, sql`statement = 'insert into uow_probe (run, what) values ($1, $2)'`);
          return what;
        },
        () => [],
      );
    await change('change-1', false); // prepares the hook's statement on the one connection
    const err = await change('change-2', true).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).not.toBeNull();
    expect((await rows('dealloc')).map((r) => r.what)).toEqual(['change-1', 'entry']);
    expect(log).toEqual(['entry']);
  });
});

// ---- changes made in one statement (createOneStatementUnit): the hooks' statements are parts of it

/** A change inserting `what` for `run`; `produced` names the row it creates. */
const probeChange = (run: string, what: string): StatementChange<string> => ({
  parts: [sql`c as (insert into uow_probe (run, what) values (${run}, ${what}) returning what)`],
  select: sql`select what from c`,
  produced: sql`(select array[what] from c)`,
  result: (r) => String(r[0]!.what),
});

/** A hook whose part records, for each record the statement produced, `<prefix>:<name>`. */
const hookNaming =
  (run: string, prefix: string, log: string[]): CommitHook =>
  (_affected, produced) => ({
    statement: sql`insert into uow_probe (run, what) select ${run}, ${prefix} || ':' || x from unnest(${produced!}::text[]) as x`,
    committed: () => log.push(prefix),
  });

test('one statement: the hooks join the change as parts of it, read what it produced, and commit with it, no BEGIN/COMMIT', async () => {
  const log: string[] = [];
  const unit = createOneStatementUnit(t.database.db, [hookNaming('one', 'entry', log), () => null, hookWriting('one', 'fixed', log)]);
  const sent: string[] = [];
  const off = t.database.onQuery((q) => sent.push(q));
  const r = await unit(probeChange('one', 'change'));
  off();
  expect(r).toBe('change');
  expect(sent).toHaveLength(1);
  expect(sent[0]).toMatch(/^with c as \(insert into uow_probe/);
  const written = await rows('one');
  expect(written.map((w) => w.what).sort()).toEqual(['change', 'entry:change', 'fixed']);
  expect(new Set(written.map((w) => w.xact)).size).toBe(1);
  expect(log).toEqual(['entry', 'fixed']);
});

test('one statement: a part the database refuses leaves nothing of the change and fails the unit; hooks are not told committed', async () => {
  const log: string[] = [];
  const unit = createOneStatementUnit(t.database.db, [hookNaming('one-refused', 'entry', log), hookWriting('one-refused', 'refused', log)]);
  const err = await unit(probeChange('one-refused', 'change')).then(
    () => null,
    (e: unknown) => e as Error,
  );
  expect(String((err as { cause?: unknown } | null)?.cause ?? err)).toMatch(/uow_probe_what_check|check constraint/);
  expect(await rows('one-refused')).toEqual([]);
  expect(log).toEqual([]);
});

test('one statement: a hook that throws while building its part sends nothing', async () => {
  const sent: string[] = [];
  const unit = createOneStatementUnit(t.database.db, [
    () => {
      throw new Error('cannot build the entry');
    },
  ]);
  const off = t.database.onQuery((q) => sent.push(q));
  const err = await unit(probeChange('one-throws', 'change')).then(
    () => null,
    (e: unknown) => e as Error,
  );
  off();
  expect(err?.message).toBe('cannot build the entry');
  expect(sent).toEqual([]);
  expect(await rows('one-throws')).toEqual([]);
});

test('one statement: its prepared statement vanishes (DEALLOCATE) before it runs again: postgres-js re-sends it whole, written once', async () => {
  // PostgreSQL only: postgres-js prepares statements per connection (PGlite has no such cache)
  if (!process.env.TEST_DATABASE_URL) return;
  await onOneConnection(async (db) => {
    const log: string[] = [];
    const unit = createOneStatementUnit(db, [hookNaming('one-dealloc', 'entry', log)]);
    await unit(probeChange('one-dealloc', 'change-1')); // prepares the statement on the one connection
    await deallocate(db, sql`statement like 'with c as (insert into uow_probe%'`);
    expect(await unit(probeChange('one-dealloc', 'change-2'))).toBe('change-2');
    expect((await rows('one-dealloc')).map((r) => r.what).sort()).toEqual(['change-1', 'change-2', 'entry:change-1', 'entry:change-2']);
    expect(log).toEqual(['entry', 'entry']);
  });
});

// ---- changes with placeholders (src/db/fused-statements.ts: rendered once per shape key)

/** {@link probeChange} with placeholders: `run` and `what` are values of the shape keyed `key`. */
const shapedProbe = (run: string, what: string, key = 'uow-probe'): StatementChange<string> => ({
  parts: [sql`c as (insert into uow_probe (run, what) values (${sql.placeholder('run')}, ${sql.placeholder('what')}) returning what)`],
  select: sql`select what from c`,
  produced: sql`(select array[what] from c)`,
  result: (r) => String(r[0]!.what),
  shape: { key, values: { run, what } },
});

test('placeholders: each run of a shaped change and its shaped parts writes its own values; a part with bound values is never frozen into the kept text', async () => {
  const log: string[] = [];
  const shapedHook: CommitHook = (_affected, produced) => ({
    statement: sql`insert into uow_probe (run, what) select ${sql.placeholder('hook_run')}, ${sql.placeholder('hook_prefix')} || ':' || x from unnest(${produced!}::text[]) as x`,
    shape: { key: 'uow-probe-hook', values: { hook_run: 'shaped', hook_prefix: `entry-${log.length}` } },
    committed: () => log.push('shaped'),
  });
  for (const what of ['first', 'second']) await createOneStatementUnit(t.database.db, [shapedHook])(shapedProbe('shaped', what));
  expect((await rows('shaped')).map((w) => w.what).sort()).toEqual(['entry-0:first', 'entry-1:second', 'first', 'second']);
  // a hook whose values are bound (no shape): the whole statement is rendered for each run, so each run's value is sent
  for (const what of ['third', 'fourth'])
    await createOneStatementUnit(t.database.db, [hookNaming('bound', `bound-${what}`, log)])(shapedProbe('bound', what));
  expect((await rows('bound')).map((w) => w.what).sort()).toEqual(['bound-fourth:fourth', 'bound-third:third', 'fourth', 'third']);
  // and the unit of work of several statements runs a shaped hook's statement with its values
  const txHook: CommitHook = (affected) => ({
    statement: sql`insert into uow_probe (run, what) values (${sql.placeholder('tx_run')}, ${sql.placeholder('tx_what')})`,
    shape: { key: 'uow-probe-tx-hook', values: { tx_run: 'shaped-tx', tx_what: `entry:${affected.join(',')}` } },
    committed: () => log.push('tx'),
  });
  for (const what of ['a', 'b']) {
    await createUnitOfWork(t.database.db, [txHook])(
      async (tx) => {
        await tx.execute(sql`insert into uow_probe (run, what) values ('shaped-tx', ${what})`);
        return what;
      },
      (w) => [w],
    );
  }
  expect((await rows('shaped-tx')).map((w) => w.what)).toEqual(['a', 'entry:a', 'b', 'entry:b']);
  expect(new Set((await rows('shaped-tx')).map((w) => w.xact)).size).toBe(2);
  expect(log).toEqual(['shaped', 'shaped', 'bound-third', 'bound-fourth', 'tx', 'tx']);
});

test('placeholders: two parts naming the same placeholder are refused before anything is sent', async () => {
  const sent: string[] = [];
  const clash: CommitHook = () => ({
    statement: sql`select ${sql.placeholder('run')}`,
    shape: { key: 'uow-clash', values: { run: 'other' } },
  });
  const off = t.database.onQuery((q) => sent.push(q));
  const err = await createOneStatementUnit(t.database.db, [clash])(shapedProbe('clash', 'change')).then(
    () => null,
    (e: unknown) => e as Error,
  );
  off();
  expect(err?.message).toMatch(/placeholder run is used by two of its parts/);
  expect(sent).toEqual([]);
  expect(await rows('clash')).toEqual([]);
});
