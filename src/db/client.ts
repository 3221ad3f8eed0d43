/**
 * Database factory: embedded PGlite (no DATABASE_URL) or a postgres-js pool. Both give the same drizzle API.
 * PGlite is one in-process connection and does not lock its directory, so we take a lock file in DATA_DIR.
 */
import { PGlite } from '@electric-sql/pglite';
import type { Logger } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { createChangeFeed } from './change-feed.ts';
import { acquireDirLock } from './dir-lock.ts';
import { withPreparedStatements } from './prepared-statements.ts';
import { tracedPglite } from './statement-tracer.ts';
import * as schema from './schema/index.ts';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** Anything that can run a query: the database or an open transaction. */
export type Executor = Db | Tx;

export type QueryListener = (sql: string) => void;

export interface Database {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** PostgreSQL: the connection url (the audit worker opens a pool of its own with it). */
  url?: string;
  /** Called for every SQL statement drizzle sends (tests count statements with it). */
  onQuery(listener: QueryListener): () => void;
  /** PGlite only: a dump of the data directory (tests clone databases from it). */
  dump?: () => Promise<Blob>;
  /**
   * Hears `channel` of the change feed (src/db/change-feed.ts: `permit_events`, `jurisdiction_changes`), what
   * committed from now on, whoever wrote it: `onMessage` gets each payload; `onReconnect` runs after the feed could
   * not read for a while (caches start over). Resolves to an unsubscribe.
   */
  listen(channel: string, onMessage: (payload: string) => void, onReconnect?: () => void): Promise<() => Promise<void>>;
  /** Resolves once every change committed before the call reached the listeners (src/db/change-feed.ts `catchUp`). */
  catchUp(): Promise<void>;
  /** Connection pool figures for metrics (PGlite: one connection). */
  poolStats(): { max: number };
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** `postgres://…`; unset selects embedded PGlite. */
  url?: string;
  /** PGlite data directory; `memory://` for an in-memory database (tests). */
  pgliteDir?: string;
  /** Pool size for PostgreSQL. @default 10 */
  poolMax?: number;
  /** PGlite only: start from this data directory dump instead of running initdb (tests' template databases). */
  pgliteTemplate?: Blob;
}

function makeLogger(listeners: Set<QueryListener>): Logger {
  return {
    logQuery(query) {
      for (const l of listeners) l(query);
    },
  };
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  const listeners = new Set<QueryListener>();
  const logger = makeLogger(listeners);
  const onQuery = (l: QueryListener) => {
    listeners.add(l);
    return () => listeners.delete(l);
  };

  if (opts.url) {
    const max = opts.poolMax ?? 10;
    const client = postgres(opts.url, {
      max,
      onnotice: () => {},
      connect_timeout: 2, // within the breaker's 2 s call timeout: an outage fails fast
      // reconnect at once (the driver's default back-off grows to 20 s, and queries wait through it): an outage
      // then surfaces as refused connections within milliseconds, opening the breaker, and recovery is quick
      backoff: () => 0.1,
      idle_timeout: 30,
      prepare: true,
      // prepared statements keep one generic plan: PostgreSQL otherwise re-plans every execution of the coalesced
      // `key = any($1)` lookups (their custom plan always looks cheaper than the generic one, so it never switches),
      // and their plans do not depend on the keys (test/db/prepared-statements.test.ts). Sent as a startup
      // parameter (PgBouncer: see README)
      connection: { plan_cache_mode: 'force_generic_plan' },
    });
    // drizzle's queries prepared once per connection: one round trip each, no re-planning (prepared-statements.ts)
    const prepared = withPreparedStatements(client).sql;
    const db = drizzlePostgres(prepared, { schema, logger }) as unknown as Db;
    // the feed's polls are not the application's statements: not reported to onQuery listeners
    const feed = createChangeFeed(drizzlePostgres(prepared, { schema }) as unknown as Db);
    return {
      db,
      kind: 'postgres',
      url: opts.url,
      onQuery,
      listen: feed.listen,
      catchUp: feed.catchUp,
      poolStats: () => ({ max }),
      close: async () => {
        await feed.close();
        await client.end({ timeout: 5 });
      },
    };
  }

  const dir = opts.pgliteDir ?? './.data/pglite';
  let release = () => {};
  if (!dir.startsWith('memory://')) {
    mkdirSync(dir, { recursive: true });
    release = acquireDirLock(join(dir, '..', 'pglite.lock'));
  }
  try {
    const client = await PGlite.create(dir, opts.pgliteTemplate ? { loadDataDir: opts.pgliteTemplate } : {});
    // statements traced through the hook ops/tracing.ts sets (statement-tracer.ts); untouched while it is unset
    const db = drizzlePglite(tracedPglite(client), { schema, logger }) as unknown as Db;
    const feed = createChangeFeed(drizzlePglite(client, { schema }) as unknown as Db);
    return {
      db,
      kind: 'pglite',
      dump: () => client.dumpDataDir('none'),
      onQuery,
      listen: feed.listen,
      catchUp: feed.catchUp,
      poolStats: () => ({ max: 1 }),
      close: async () => {
        await feed.close();
        await client.close();
        release();
      },
    };
  } catch (err) {
    release();
    throw err;
  }
}
