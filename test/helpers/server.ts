/**
 * A real server for a test file: fresh database (PGlite in memory, or a new PostgreSQL database when
 * TEST_DATABASE_URL is set), small deterministic demo data, demo clients, Bun.serve on a free port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDemoClients, type DemoClient } from '../../src/auth/demo-clients.ts';
import { bootstrap, type Running } from '../../src/bootstrap.ts';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/client.ts';
import { serve } from '../../src/http/serve.ts';
import { traceMixin } from '../../src/logger.ts';
import pino from 'pino';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { cleanUpRedisKeys, testRedisPrefix } from './redis.ts';

export interface TestServer {
  url: string;
  running: Running;
  tdb: TestDatabase;
  clients: DemoClient[];
  dataDir: string;
  /** Prefix of every Redis key this server writes (status cache, rate-limit buckets); stop() deletes them. */
  redisPrefix: string;
  /** Fetches a token for a demo client (by id) through POST /oauth/token. */
  token(clientId: string, scope?: string): Promise<string>;
  /** POST /graphql; returns status, parsed body and headers. */
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string, headers?: Record<string, string>): Promise<GqlResult<T>>;
  stop(): Promise<void>;
}

export interface GqlResult<T> {
  status: number;
  body: { data?: T | null; errors?: { message: string; path?: string[]; extensions?: Record<string, any> }[] };
  headers: Headers;
}

export interface TestServerOptions {
  /** Receives the server's JSON log lines (the log level is then `info`). */
  logLines?: string[];
}

/** A test instance's configuration: quiet, unseeded, rate limits scaled out of the way, `env` last. */
function testConfig(dataDir: string, env: Record<string, string>) {
  return loadConfig({
    APP_ENV: 'test',
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SEED: 'none',
    // rate limits have their own tests; elsewhere a test's bursts must not be throttled
    RATE_LIMIT_SCALE: '100',
    ...(process.env.TEST_REDIS_URL ? { REDIS_URL: process.env.TEST_REDIS_URL } : {}),
    ...env,
  });
}

export async function startTestServer(env: Record<string, string> = {}, opts: TestServerOptions = {}): Promise<TestServer> {
  const tdb = await createTestDatabase({ seed: 'small' });
  const dataDir = mkdtempSync(join(tmpdir(), 'pg-test-'));
  const config = testConfig(dataDir, env);
  const log = opts.logLines
    ? pino({ level: 'info', mixin: traceMixin }, { write: (line: string) => void opts.logLines!.push(line) })
    : undefined;
  // status cache and rate-limit buckets under a prefix of this server's own, deleted by stop()
  const redisPrefix = testRedisPrefix('server');
  const running = await bootstrap(config, { database: tdb.database, cachePrefix: redisPrefix, ...(log ? { log } : {}) });
  const server = serve(running, { hostname: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${server.port}`;
  const clients = await ensureDemoClients(tdb.database.db, null);
  const tokens = new Map<string, string>();

  async function token(clientId: string, scope?: string) {
    const key = `${clientId} ${scope ?? ''}`;
    const cached = tokens.get(key);
    if (cached) return cached;
    const c = clients.find((x) => x.client_id === clientId);
    if (!c) throw new Error(`no demo client ${clientId}`);
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret });
    if (scope) body.set('scope', scope);
    const res = await fetch(`${url}/oauth/token`, { method: 'POST', body });
    if (res.status !== 200) throw new Error(`token for ${clientId}: ${res.status} ${await res.text()}`);
    const t = ((await res.json()) as { access_token: string }).access_token;
    tokens.set(key, t);
    return t;
  }

  async function gql(query: string, variables?: Record<string, unknown>, tok?: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(tok ? { authorization: `Bearer ${tok}` } : {}), ...headers },
      body: JSON.stringify({ query, variables }),
    });
    const text = await res.text();
    let body: GqlResult<unknown>['body'];
    try {
      body = JSON.parse(text);
    } catch {
      body = { errors: [{ message: `non-JSON response: ${text.slice(0, 200)}` }] };
    }
    return { status: res.status, body, headers: res.headers } as GqlResult<any>;
  }

  return {
    url,
    running,
    tdb,
    clients,
    dataDir,
    redisPrefix,
    token,
    gql,
    async stop() {
      await server.stop(true);
      await running.close();
      await tdb.drop();
      rmSync(dataDir, { recursive: true, force: true });
      if (config.redisUrl) await cleanUpRedisKeys(redisPrefix);
    },
  };
}

/** Another instance on a server's database: its own data directory (signing key, outbox) and port. */
export interface SiblingServer {
  url: string;
  running: Running;
  stop(): Promise<void>;
}

/**
 * Starts another instance on `of`'s database, as a second process of one deployment would run: its own data
 * directory (so its own signing key, published to the shared database), Bun.serve on a free port. On PostgreSQL it
 * opens connections of its own; PGlite is one process's database, so the instance shares `of`'s handle. Instances
 * share tokens only when they share an issuer (`JWT_ISSUER` or `PUBLIC_URL` in `env`): without, each one's issuer is
 * the URL it bound.
 */
export async function startSiblingServer(of: TestServer, env: Record<string, string> = {}): Promise<SiblingServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pg-test-sibling-'));
  const own = of.tdb.url ? await openDatabase({ url: of.tdb.url }) : null;
  const config = testConfig(dataDir, env);
  const redisPrefix = testRedisPrefix('sibling');
  const running = await bootstrap(config, { database: own ?? of.tdb.database, cachePrefix: redisPrefix });
  const server = serve(running, { hostname: '127.0.0.1', port: 0 });
  return {
    url: `http://127.0.0.1:${server.port}`,
    running,
    async stop() {
      await server.stop(true);
      await running.close();
      await own?.close();
      rmSync(dataDir, { recursive: true, force: true });
      if (config.redisUrl) await cleanUpRedisKeys(redisPrefix);
    },
  };
}

/** Counts rows of a table (tests check that refused inputs wrote nothing). */
export async function countRows(t: TestServer, table: string): Promise<number> {
  const { sql } = await import('drizzle-orm');
  const { rowsOf } = await import('../../src/db/rows.ts');
  const r = rowsOf<{ n: number }>(await t.tdb.database.db.execute(sql.raw(`select count(*)::int as n from ${table}`)));
  return Number(r[0]!.n);
}
