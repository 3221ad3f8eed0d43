/**
 * Wires config → database → keys → services → app. Used by main.ts (the server) and by the tests, so the
 * tests run exactly what production runs.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createApp, type App } from './app.ts';
import { createLoginThrottle } from './auth/login-throttle.ts';
import { createRevocations } from './auth/revocations.ts';
import { loadSigningKey, publishedKeys, publishSigningKey, type SigningKey } from './auth/signing-keys.ts';
import { createTokenVerifier } from './auth/verify-access-token.ts';
import type { AppConfig } from './config.ts';
import { openDatabase, type Database } from './db/client.ts';
import { migrateDatabase } from './db/migrate.ts';
import { isEmpty, seedDemoData } from './db/seed.ts';
import { createLogger, type Logger } from './logger.ts';
import { createDbBreaker } from './resilience/breaker.ts';
import { openOutbox } from './resilience/outbox.ts';
import { createStatusCache } from './resilience/status-cache.ts';
import { createServices, type AppServices } from './services.ts';

export interface Running {
  app: App;
  config: AppConfig;
  database: Database;
  services: AppServices;
  signingKey: SigningKey;
  log: Logger;
  close(): Promise<void>;
}

export interface BootstrapOptions {
  /** Use this database instead of opening one from config (tests). */
  database?: Database;
  log?: Logger;
  /** Redis key prefix of the shared status cache (tests isolate themselves with it). */
  cachePrefix?: string;
}

export async function bootstrap(config: AppConfig, opts: BootstrapOptions = {}): Promise<Running> {
  const log = opts.log ?? createLogger(config.logLevel);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const database =
    opts.database ??
    (await openDatabase(config.databaseUrl ? { url: config.databaseUrl } : { pgliteDir: join(config.dataDir, 'pglite') }));
  try {
    if (!opts.database) await migrateDatabase(database, config.databaseUrl);
    if (config.env !== 'production' && config.seed !== 'none' && (await isEmpty(database.db))) {
      const t = performance.now();
      const r = await seedDemoData(database.db, config.seed);
      log.info({ permits: r.permits, ms: Math.round(performance.now() - t) }, 'seeded demo data');
    }
    const signingKey = await loadSigningKey({ dataDir: config.dataDir, pem: config.jwt.signingKeyPem });
    await publishSigningKey(database.db, signingKey);

    const revocations = createRevocations(database.db);
    await revocations.refresh();
    revocations.start();
    const breaker = createDbBreaker({});
    const statusCache = createStatusCache({
      ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
      ...(opts.cachePrefix ? { prefix: opts.cachePrefix } : {}),
    });
    const outbox = openOutbox({ dir: config.dataDir });
    const services: AppServices = {
      ...createServices({ config, database, log, breaker, statusCache, outbox, revocations }),
      statusCache,
      revocations,
      breaker,
      outbox,
    };
    const verifier = createTokenVerifier({
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
      ...(config.jwt.jwksUrl ? { jwksUrl: config.jwt.jwksUrl } : {}),
      localKeys: () => publishedKeys(database.db),
      isRevoked: revocations.isRevoked,
    });
    const app = createApp({
      ...(opts.cachePrefix ? { rateLimitPrefix: `${opts.cachePrefix}rl:` } : {}),
      config,
      database,
      log,
      services,
      verifier,
      publishedKeys: () => publishedKeys(database.db),
      tokenEndpoint: {
        key: signingKey,
        issuer: config.jwt.issuer,
        audience: config.jwt.audience,
        ttlSeconds: config.jwt.ttlSeconds,
        throttle: createLoginThrottle(),
      },
    });
    return {
      app,
      config,
      database,
      services,
      signingKey,
      log,
      async close() {
        revocations.stop();
        outbox.close();
        await statusCache.close();
        if (!opts.database) await database.close();
      },
    };
  } catch (err) {
    if (!opts.database) await database.close().catch(() => {});
    throw err;
  }
}
