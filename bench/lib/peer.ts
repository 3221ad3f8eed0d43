/**
 * The peer (issue 26): the stack a city team would build instead of this one (Apollo Server 4 on Node,
 * jsonwebtoken, graphql-armor, pg, DataLoader, a chained audit insert). It is kept outside this repository and is
 * never changed or committed here: the benchmark copies it to a temporary directory, installs it (`npm ci`,
 * `npm run keys`), seeds a throwaway database of its own next to the benchmark's (`node seed.mjs`), starts it as
 * deployed (`NODE_ENV=production node server.mjs`) and mints its tokens (`node mint.mjs`).
 *
 * What it is sent is the app's own request, built by the same code (scenarios.ts) and driven by the same wrk
 * script: the same query texts, variables, headers and checks, with the peer's permit numbers and parcels. Its
 * schema names an inspection's time `scheduledAt` where the app has `windowStart`, `windowEnd` and `recordedAt`,
 * so the peer's `permit` query asks for that field under those three aliases: both answers have the same shape.
 */
import { chmodSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBenchDatabase, openReader, type BenchDatabase } from './database.ts';
import { baseEnv, freePort, spawnServer, type ChildServer } from './processes.ts';
import { PERMIT_STATUS_QUERY, requestSpec, type ScenarioName } from './scenarios.ts';
import type { RequestSpec } from './wrk.ts';

/** The scenarios the peer serves. */
export const PEER_SCENARIOS: readonly ScenarioName[] = ['permit', 'permitStatus', 'submitPermit'];

/** Its seeded contractor the submissions are bound to (the app's submissions come from a contractor client too). */
const PEER_CONTRACTOR = 'CCB-200013';

export interface PeerInstall {
  /** the temporary copy, with node_modules and keys */
  dir: string;
  db: BenchDatabase;
  /** permit numbers and parcels of the peer's seed, picked at random as the app's are */
  permitNumbers: string[];
  parcels: string[];
}

export interface Peer extends PeerInstall {
  server: ChildServer;
  /** A 15-minute token for `scopes` (`permits:submit` tokens are bound to the peer's contractor). */
  mint(scopes: string): string;
}

type Log = (msg: string) => void;

/** Is the peer installable here (its folder, node and npm)? The reason if not. */
export function peerUnavailable(source: string): string | null {
  if (!existsSync(join(source, 'server.mjs'))) return `no peer at ${source} (--peer DIR)`;
  for (const tool of ['node', 'npm']) if (Bun.spawnSync(['which', tool]).exitCode !== 0) return `${tool} not found`;
  return null;
}

/** Copies, installs and seeds the peer (about 20-70 s, most of it `npm ci`); run it while the app seeds. */
export async function installPeer(o: { source: string; baseUrl: string; logDir: string; log: Log }): Promise<PeerInstall> {
  const dir = mkdtempSync(join(tmpdir(), 'pg-bench-peer-'));
  let db: BenchDatabase | null = null;
  try {
    cpSync(o.source, dir, { recursive: true });
    chmodSync(dir, 0o755); // the shared copy is read-only; node_modules and keys/ go here
    const logFile = join(o.logDir, 'peer-install.log');
    const env = baseEnv();
    o.log(`peer: npm ci in ${dir}`);
    await run(['npm', 'ci', '--no-audit', '--no-fund', '--prefer-offline'], dir, env, logFile);
    await run(['npm', 'run', 'keys'], dir, env, logFile);
    db = await createBenchDatabase(o.baseUrl, 'peer');
    await run(['node', 'seed.mjs'], dir, { ...env, PEER_DATABASE_URL: db.url }, logFile);
    const sql = openReader(db.url);
    try {
      const permitNumbers = (await sql`select number from permits order by random() limit 1000`).map((r) => r.number as string);
      const parcels = (await sql`select id::text as id from parcels order by random() limit 200`).map((r) => r.id as string);
      o.log(`peer: installed and seeded ${db.name}`);
      return { dir, db, permitNumbers, parcels };
    } finally {
      await sql.end();
    }
  } catch (err) {
    await db?.drop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Runs one setup step in `cwd` (asynchronously: the app seeds meanwhile), its output appended to `logFile`. */
async function run(argv: string[], cwd: string, env: Record<string, string>, logFile: string) {
  const fd = openSync(logFile, 'a');
  const p = Bun.spawn(argv, { cwd, env, stdout: fd, stderr: fd });
  if ((await p.exited) !== 0) {
    const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
    throw new Error(`peer: \`${argv.join(' ')}\` exited with ${p.exitCode}; log: ${logFile}\n${tail}`);
  }
}

/** Starts the installed peer on a free port; resolves once it answers a `permitStatus`. */
export async function startPeer(install: PeerInstall, logDir: string): Promise<Peer> {
  const port = freePort();
  const probe = JSON.stringify({ query: PERMIT_STATUS_QUERY, variables: { n: install.permitNumbers[0] } });
  const server = await spawnServer({
    name: 'peer',
    what: 'peer',
    port,
    logDir,
    command: 'node',
    argv: ['server.mjs'],
    cwd: install.dir,
    env: { ...baseEnv(), NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', PEER_DATABASE_URL: install.db.url },
    ready: async (url) => (await fetch(`${url}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: probe })).ok,
    timeoutMs: 60_000,
  });
  const mint = (scopes: string) => {
    const extra = scopes.includes('permits:submit') ? ['--contractor', PEER_CONTRACTOR] : [];
    const r = Bun.spawnSync(['node', 'mint.mjs', scopes, ...extra], { cwd: install.dir, env: baseEnv() });
    const token = r.stdout.toString().trim();
    if (r.exitCode !== 0 || !token) throw new Error(`peer: node mint.mjs failed: ${r.stderr.toString()}`);
    return token;
  };
  return { ...install, server, mint };
}

/** Stops the peer (if started), drops its database and removes its copy. */
export async function removePeer(peer: PeerInstall & { server?: ChildServer }) {
  await peer.server?.stop();
  await peer.db.drop().catch(() => {});
  rmSync(peer.dir, { recursive: true, force: true });
}

const APP_INSPECTION_FIELDS = 'windowStart windowEnd result recordedAt';
const PEER_INSPECTION_FIELDS = 'windowStart: scheduledAt windowEnd: scheduledAt result recordedAt: scheduledAt';

/** The scopes a token for `name` needs on the peer (null: anonymous, as the app's `permitStatus`). */
const PEER_SCOPES: Partial<Record<ScenarioName, string>> = { permit: 'permits:read', submitPermit: 'permits:submit' };

/** The app's request for `name` (scenarios.ts), sent to the peer: its path, token, numbers and parcels. */
export function peerRequestSpec(name: ScenarioName, peer: Peer): RequestSpec {
  const scopes = PEER_SCOPES[name];
  const identity: Record<string, string> = scopes ? { authorization: `Bearer ${peer.mint(scopes)}` } : {};
  const box = { minLon: 0, minLat: 0, maxLon: 0, maxLat: 0 };
  const spec = requestSpec(name, { permitNumbers: peer.permitNumbers, submitParcels: peer.parcels, bbox: box, bboxFeatures: 0 }, identity);
  if (spec.kind !== 'dynamic' || !PEER_SCENARIOS.includes(name)) throw new Error(`the peer does not serve ${name}`);
  let bodyLua = spec.bodyLua;
  if (name === 'permit') {
    if (!bodyLua.includes(APP_INSPECTION_FIELDS))
      throw new Error('peer: the permit query no longer asks for the inspection fields it aliases');
    bodyLua = bodyLua.replace(APP_INSPECTION_FIELDS, PEER_INSPECTION_FIELDS);
  }
  return { ...spec, bodyLua, path: '/' };
}
