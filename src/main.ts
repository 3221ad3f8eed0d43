/**
 * The server: config → bootstrap → Bun.serve; graceful shutdown on SIGTERM/SIGINT; SIGUSR2 reports memory.
 * `runServer(options)` is also how bench/ starts its baselines (src/app.ts `AppOptions`).
 */
import { demoClientsFile, ensureDemoClients, readSaved, type DemoClient } from './auth/demo-clients.ts';
import type { AppOptions } from './app.ts';
import { auditLogKeyProblems } from './audit/transparency/log-key.ts';
import { bootstrap, type Running } from './bootstrap.ts';
import { isConnectionFailure } from './resilience/breaker.ts';
import { ConfigError, loadConfig } from './config.ts';
import { DirLockedError } from './db/dir-lock.ts';
import { SchemaNotCurrentError } from './db/migrate.ts';
import { serve } from './http/serve.ts';
import { buildSchema, loadTypeDefs } from './graphql/schema.ts';
import { formatProductionProblems, productionProblems } from './ops/production-checks.ts';
import { reportMemoryOnSignal } from './ops/memory-report.ts';

export async function runServer(appOptions: AppOptions = {}) {
  const started = performance.now();
  const config = loadConfig();
  if (config.env === 'production') {
    // before anything is opened or created: a refused start leaves no trace
    const schema = buildSchema(loadTypeDefs(config.schemaDir));
    const problems = [
      ...productionProblems(config, { signingKey: { development: !config.jwt.signingKeyPem }, schema }),
      ...auditLogKeyProblems(config),
    ];
    if (problems.length) {
      console.error(`permit-gateway: ${formatProductionProblems(problems)}`);
      process.exit(1);
    }
  }
  const running = await bootstrap(config, { app: appOptions });
  // before listening: once the server answers, the demo clients file works on the database it runs on
  const demo = config.env === 'development' ? await demoClientsAtStart(running) : null;
  const server = serve(running, { hostname: config.host, port: config.port });
  const url = `http://${config.host}:${server.port}`;
  running.log.info({ url, database: running.database.kind, ms: Math.round(performance.now() - started) }, 'permit gateway listening');
  if (config.env === 'production' && config.nodeEnv !== 'production') {
    running.log.warn(
      'NODE_ENV is not "production": graphql-js runs its development checks on every request (slower); set NODE_ENV=production',
    );
  }
  if (config.env === 'production' && config.allocatorPurgeDelay === undefined) {
    running.log.warn(
      'MIMALLOC_PURGE_DELAY is not set: the allocator hands freed memory back to the system and faults it in again under load (~20 % more CPU per request); set MIMALLOC_PURGE_DELAY=-1 as `bun run start` does',
    );
  }
  reportMemoryOnSignal(running.log);

  if (demo) {
    const { file, clients } = demo;
    const c = clients.find((x) => x.role === 'analyst') ?? clients[0];
    console.log(`\nPermit Gateway on ${url}/graphql (GraphiQL in a browser)\nDemo clients (one per role): ${file}`);
    if (c) {
      console.log(`Get a token:\n  curl -s -u ${c.client_id}:${c.client_secret} -d grant_type=client_credentials ${url}/oauth/token\n`);
    }
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    running.log.info({ signal }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => process.exit(1), 15_000);
    const unfinished = await server.drain(8000);
    if (unfinished) running.log.warn({ unfinished }, 'shutdown: requests still running after 8 s');
    await running.close(); // flushes the audit buffer, a last outbox replay, closes the database
    clearTimeout(force);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  return running;
}

/** The demo clients, checked against the database; while it is unreachable the saved file is used unchecked. */
async function demoClientsAtStart(running: Running): Promise<{ file: string; clients: DemoClient[] }> {
  const file = demoClientsFile(running.config.dataDir);
  const unchecked = (reason: string) => {
    running.log.warn({ file, reason }, 'demo clients not checked against the database: it is unavailable');
    return { file, clients: readSaved(file, running.log) };
  };
  if (running.services.isDown()) return unchecked('database not reached');
  try {
    return { file, clients: await ensureDemoClients(running.database.db, file, running.log) };
  } catch (err) {
    if (!isConnectionFailure(err)) throw err;
    return unchecked((err as Error).message);
  }
}

/** Start-up failures: a clear line for configuration and lock problems, the error otherwise; exit code 1. */
export function exitOnStartFailure(err: unknown): never {
  if (err instanceof ConfigError || err instanceof DirLockedError || err instanceof SchemaNotCurrentError) {
    console.error(`permit-gateway: ${err.message}`);
  } else {
    console.error('permit-gateway: failed to start', err);
  }
  process.exit(1);
}

if (import.meta.main) runServer().catch(exitOnStartFailure);
