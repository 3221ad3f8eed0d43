/**
 * Wires config → database → keys → services → app. Used by main.ts (the server) and by the tests, so the
 * tests run exactly what production runs.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createApp, type App, type AppOptions } from './app.ts';
import { createLoginThrottle } from './auth/login-throttle.ts';
import { createRevocations } from './auth/revocations.ts';
import { allSigningKeys, loadSigningKey, publishedKeys, publishSigningKey, type SigningKey } from './auth/signing-keys.ts';
import { createTokenVerifier } from './auth/verify-access-token.ts';
import type { AppConfig } from './config.ts';
import { openDatabase, type Database } from './db/client.ts';
import { ensureSchemaCurrent } from './db/migrate.ts';
import { isEmpty, seedDemoData } from './db/seed.ts';
import { createLogger, type Logger } from './logger.ts';
import { prettyLogDestination, usePrettyLogs } from './ops/pretty-log.ts';
import { startTracing, type Tracing } from './ops/tracing.ts';
import { createDbBreaker } from './resilience/breaker.ts';
import { openOutbox, type OutboxItem } from './resilience/outbox.ts';
import { createStatusCache } from './resilience/status-cache.ts';
import { redisClientName } from './ops/redis-client-name.ts';
import { createServices, type AppServices } from './services.ts';
import { DbTimeoutError, isConnectionFailure } from './resilience/breaker.ts';
import { startDbProbe } from './resilience/db-probe.ts';
import { createReplayer } from './resilience/replayer.ts';
import { createBatchReplayHandler, createReplayHandler, type ReplayCommitHook } from './resilience/replay-handler.ts';
import { createGroupCommit } from './audit/group-commit.ts';
import { createAuditRecorder, createThreadedAuditRecorder, type AuditRecorder } from './audit/recorder.ts';
import { logKeysFromConfig } from './audit/transparency/log-key.ts';
import { createTransparencyLog, type TransparencyLog } from './audit/transparency/transparency-log.ts';
import { exportPKCS8 } from 'jose';
import { createSecurityAlerts } from './audit/security-alerts.ts';
import { warmStatusCache } from './resilience/warm-status-cache.ts';
import { createEventServices } from './events/event-services.ts';
import type { JWK } from 'jose';
import { createPublicAddress, type PublicAddress } from './http/public-address.ts';

export interface Running {
  app: App;
  /** OpenTelemetry tracing (off unless an OTLP endpoint is configured by the standard OTEL_* variables). */
  tracing: Tracing;
  config: AppConfig;
  /** PUBLIC_URL and the tokens' exact `iss` as they are once the server listens (config holds them before). */
  address: PublicAddress;
  database: Database;
  services: AppServices;
  audit: AuditRecorder;
  signingKey: SigningKey;
  transparency: TransparencyLog;
  log: Logger;
  close(): Promise<void>;
}

export interface BootstrapOptions {
  /** Use this database instead of opening one from config (tests). */
  database?: Database;
  log?: Logger;
  /** Redis key prefix of the shared status cache (tests isolate themselves with it). */
  cachePrefix?: string;
  /** How the app's pipeline is built (bench/ baselines). @default production's */
  app?: AppOptions;
}

export async function bootstrap(config: AppConfig, opts: BootstrapOptions = {}): Promise<Running> {
  const pretty = usePrettyLogs(config.logFormat, config.env, Boolean(process.stdout.isTTY));
  const log =
    opts.log ?? createLogger(config.logLevel, pretty ? prettyLogDestination(process.stdout, Boolean(process.stdout.isTTY)) : undefined);
  const serviceVersion = process.env.npm_package_version;
  const tracing = startTracing(config.otel, serviceVersion);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const database =
    opts.database ?? (await openDatabase(config.databaseUrl ? { url: config.databaseUrl } : { pgliteDir: join(config.dataDir, 'pglite') }));
  try {
    const signingKey = await loadSigningKey({ dataDir: config.dataDir, pem: config.jwt.signingKeyPem });
    const transparency = createTransparencyLog({
      db: database.db,
      keys: logKeysFromConfig(config),
      origin: config.auditLog.origin,
      checkpointKeys: async () => ({ keys: await allSigningKeys(database.db) }),
      witnesses: config.auditLog.witnesses,
      onWitnessError: (w, message) => log.warn({ witness: w.url, err: message }, 'audit witness did not cosign'),
    });
    // witnesses cosign each new checkpoint soon after it is taken, whether or not anyone reads it meanwhile
    const collectCosignatures = () =>
      void transparency.collectCosignatures().catch((err) => log.warn({ err: (err as Error).message }, 'cosignatures not collected'));
    const cosignTimer = config.auditLog.witnesses.length ? setInterval(collectCosignatures, 60_000) : null;
    cosignTimer?.unref();
    const revocations = createRevocations(database.db);
    // Probes back off 1 s → 2 s (not the 30 s default): /readyz must turn 200 within 10 s of the database
    // coming back (issue 6), and one `select 1` every 2 s per instance costs nothing. Only that probe
    // (db-probe.ts) may close the breaker: a request as the trial call is slow while we are busy queueing.
    const breaker = createDbBreaker({
      halfOpenMaxMs: 2_000,
      exclusiveProbe: true,
      // refused or lost connections open the breaker; a call that is merely slow (a busy server, a replay waiting
      // for the audit lock) is answered as unavailable but does not count as an outage
      isFailure: (err) => isConnectionFailure(err) && !(err instanceof DbTimeoutError),
    });
    const statusCache = createStatusCache({
      ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
      prefix: opts.cachePrefix ?? config.redisKeyPrefix,
      redisConnectionName: redisClientName('status-cache'),
    });
    const outbox = openOutbox({ dir: config.dataDir });

    // the audit recorders chain nothing before the schema is known to be current (a fresh database has no tables yet)
    let schemaReady = () => {};
    const schemaChecked = new Promise<void>((resolve) => (schemaReady = resolve));

    /** Everything that needs the database at start; retried in the background while PostgreSQL is down. */
    let connected = false;
    const connect = async () => {
      // migrates when this role may (development, PGlite, the owner); a least-privilege role only checks
      if (!opts.database) await ensureSchemaCurrent(database, config.databaseUrl);
      schemaReady();
      if (config.env !== 'production' && config.seed !== 'none' && (await isEmpty(database.db))) {
        // the full data set takes many seconds on a first start: say what is happening instead of staying silent
        log.info({ size: config.seed }, 'empty development database: seeding demo data (SEED=none skips it)');
        const t = performance.now();
        const r = await seedDemoData(database.db, config.seed);
        log.info({ permits: r.permits, ms: Math.round(performance.now() - t) }, 'seeded demo data');
      }
      await publishSigningKey(database.db, signingKey);
      await revocations.refresh();
      connected = true;
      void warmStatusCache(database, statusCache).catch((err) => log.warn({ err: (err as Error).message }, 'status cache warm-up failed'));
    };
    let retry: ReturnType<typeof setTimeout> | null = null;
    const connectLoop = async (): Promise<void> => {
      try {
        await connect();
        log.info({ database: database.kind }, 'database connected');
        replayer.wake();
        // LISTEN for committed events and send due webhook deliveries, from now on
        await events.start();
      } catch (err) {
        if (!isConnectionFailure(err) || database.kind !== 'postgres') throw err;
        log.warn({ err: (err as Error).message }, 'database unavailable at start: serving status cache and outbox, retrying');
        retry = setTimeout(() => void connectLoop().catch((e) => log.error({ err: e }, 'database start-up failed')), 2000);
      }
    };

    // public keys: from the database (all instances' keys), the last known set while it is unreachable
    let knownKeys: JWK[] = [signingKey.publicJwk];
    const keys = async () => {
      try {
        knownKeys = await publishedKeys(database.db);
        if (!knownKeys.some((k) => k.kid === signingKey.kid)) knownKeys = [signingKey.publicJwk, ...knownKeys];
      } catch (err) {
        if (!isConnectionFailure(err)) throw err;
      }
      return knownKeys;
    };

    const events = createEventServices({ config, database, log, isRevoked: revocations.isRevoked });
    const services: AppServices = {
      events,
      ...createServices({ config, database, log, breaker, statusCache, outbox, revocations, isConnected: () => connected }),
      statusCache,
      revocations,
      breaker,
      outbox,
    };
    const alerts = createSecurityAlerts(log);
    const auditOptions = {
      db: database.db,
      log,
      ...(config.auditSink ? { sink: config.auditSink } : {}),
      signer: { key: signingKey.privateKey, kid: signingKey.kid },
      publicKeys: async () => ({ keys: await allSigningKeys(database.db) }),
      spoolFile: join(config.dataDir, 'audit-spool.jsonl'),
      startAfter: schemaChecked,
    };
    // on PostgreSQL the group commit runs in a worker thread with a pool of its own; PGlite is one in-process
    // connection, so there it runs on this thread
    const audit: AuditRecorder =
      database.kind === 'postgres' && database.url && config.auditAppender === 'worker'
        ? createThreadedAuditRecorder({
            databaseUrl: database.url,
            log,
            alerts,
            // the worker traces its group commits as this thread traces requests (same variables, same resource)
            ...(tracing.enabled ? { otel: { env: config.otel, serviceVersion } } : {}),
            signer: { pem: await exportPKCS8(signingKey.privateKey), kid: signingKey.kid },
            ...(config.auditSink ? { sink: config.auditSink } : {}),
            spoolFile: auditOptions.spoolFile,
            startAfter: schemaChecked,
            fallback: () => createGroupCommit(auditOptions),
          })
        : createAuditRecorder({ ...auditOptions, alerts });
    // queued work: its entry (recorded at request time, redacted) is chained when the work is persisted
    const replayEntry = (item: OutboxItem, affected: string[]) => ({
      ...(item.payload.audit ?? {
        kind: 'graphql',
        clientId: item.payload.principal.clientId,
        operation: { type: 'mutation', name: item.kind },
      }),
      affected,
      queued: true,
      receiptId: item.id,
      outcome: 'ALLOWED',
      replayedAt: new Date().toISOString(),
    });
    const auditReplay: ReplayCommitHook = (tx, item, affected) => audit.appendInTx(tx, replayEntry(item, affected));
    const handle = createReplayHandler(database.db, auditReplay);
    // queued submissions go in batches, one transaction and one write statement each (src/resilience/replay-handler.ts)
    const batch = createBatchReplayHandler(database.db, {
      onCommit: auditReplay,
      stageEntry: (item) => audit.stagingFor(replayEntry(item, [])).stagedEntry,
    });
    const replayer = createReplayer({
      outbox,
      handle: (item) => breaker.execute(() => handle(item)),
      handleBatch: (items) => breaker.execute(() => batch.handleBatch(items)),
      batchable: batch.batchable,
      // at most 100 to a transaction, fewer when the database is slow (batchBudgetMs, 400 ms): a batch must commit
      // well within the breaker's 2 s call timeout, or every batch would time out and the drain stall
      transactionSize: 100,
      isAvailable: () => connected && !breaker.isOpen(),
      onSettled: (item, r) => {
        audit.committed(); // the replay's staged entry (if it persisted anything) joins the chain
        log.info({ receipt: item.id, kind: item.kind, state: r.state }, 'outbox item replayed');
        const { principal } = item.payload;
        if (item.kind === 'submitPermit') {
          // the submitter hears of its receipt (webhook, subscription) once the replay settled it
          void events
            .publishReceipt({
              receiptId: item.id,
              state: r.state === 'REJECTED' ? 'REJECTED' : 'PERSISTED',
              permitNumber: r.state === 'REJECTED' ? null : (r.resultId ?? null),
              ...(r.state === 'REJECTED' ? { reason: r.reason } : {}),
              clientId: principal.clientId,
              jurisdiction: principal.jurisdiction,
              contractor: principal.contractor ?? null,
            })
            .catch((err) => log.warn({ receipt: item.id, err: (err as Error).message }, 'receipt event not published'));
        }
        if (r.state === 'REJECTED') {
          const base = item.payload.audit ?? { kind: 'graphql', clientId: item.payload.principal.clientId };
          audit.record({
            ...base,
            queued: true,
            receiptId: item.id,
            outcome: 'ERROR',
            errorCodes: ['REJECTED_ON_REPLAY'],
            reason: r.reason.slice(0, 500),
          });
        }
      },
      onError: (err, item) => log.warn({ receipt: item?.id, err: (err as Error).message }, 'outbox replay error'),
    });
    breaker.onStateChange((state) => {
      log.warn({ state }, 'database circuit breaker changed state');
      if (state === 'closed') replayer.wake();
    });
    await connectLoop();
    revocations.start();
    replayer.start();
    const stopProbe = startDbProbe(database.db, breaker);
    // PUBLIC_URL and the tokens' issuer; in development derived from HOST/PORT, they follow the port serve() binds
    const address = createPublicAddress(config);
    const verifier = createTokenVerifier({
      issuer: address.issuer,
      audience: config.jwt.audience,
      ...(config.jwt.jwksUrl ? { jwksUrl: config.jwt.jwksUrl } : {}),
      localKeys: keys,
      isRevoked: revocations.isRevoked,
    });
    const app = createApp(
      {
        audit,
        transparency,
        rateLimitPrefix: `${opts.cachePrefix ?? config.redisKeyPrefix}rl:`,
        config,
        address,
        database,
        log,
        services,
        verifier,
        publishedKeys: keys,
        isReady: () => connected,
        tokenEndpoint: {
          key: signingKey,
          issuer: address.issuer,
          audience: config.jwt.audience,
          ttlSeconds: config.jwt.ttlSeconds,
          throttle: createLoginThrottle(),
        },
      },
      opts.app,
    );
    return {
      app,
      tracing,
      config,
      address,
      database,
      services,
      audit,
      signingKey,
      transparency,
      log,
      async close() {
        if (retry) clearTimeout(retry);
        if (cosignTimer) clearInterval(cosignTimer);
        stopProbe();
        revocations.stop();
        await events.stop();
        await replayer.stop();
        // a last bounded flush: whatever the database takes now is not replayed after restart
        if (connected && !breaker.isOpen()) await Promise.race([replayer.drainOnce(), Bun.sleep(3000)]).catch(() => {});
        outbox.close();
        await audit.close();
        await statusCache.close();
        await app.close();
        if (!opts.database) await database.close();
        await tracing.shutdown();
      },
    };
  } catch (err) {
    await tracing.shutdown();
    if (!opts.database) await database.close().catch(() => {});
    throw err;
  }
}
