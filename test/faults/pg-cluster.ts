/**
 * A throwaway PostgreSQL 15 cluster for fault tests: its own data directory (owned by `postgres`), its own
 * free port and its own socket directory, so stopping it never touches the shared cluster on 5432.
 *
 * `destroy()` stops it (immediate mode) and removes the directory. A process `exit` hook does the same
 * synchronously, so a failed or interrupted test does not leave a postmaster behind.
 */
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PgCluster {
  readonly dir: string;
  readonly port: number;
  /** postgres:// url of database `name` (default `postgres`) in this cluster. */
  url(name?: string): string;
  /** Starts the server and waits until it accepts connections. */
  start(): Promise<void>;
  /** Stops the server (`pg_ctl stop -m fast`: disconnects clients, clean shutdown) and waits for it. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  readonly running: boolean;
  /** Stops (immediate) and removes the data directory. Safe to call twice. */
  destroy(): Promise<void>;
}

/** A TCP port nobody listens on right now. */
export function freePort(): number {
  const s = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

function asPostgres(args: string[]): string[] {
  return ['runuser', '-u', 'postgres', '--', ...args];
}

async function run(args: string[], what: string): Promise<string> {
  const p = Bun.spawn(asPostgres(args), { stdout: 'pipe', stderr: 'pipe' });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${what} failed (exit ${code}):\n${out}\n${err}`);
  return out;
}

/** Clusters not yet destroyed: { temp dir, data dir }. */
const live = new Map<string, string>();
let hooked = false;
function hookExit() {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const [dir, data] of live) {
      Bun.spawnSync(asPostgres([`${BIN}/pg_ctl`, '-D', data, '-m', 'immediate', '-w', 'stop']), { stdout: 'ignore', stderr: 'ignore' });
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort at exit
      }
    }
  });
}

/** initdb into a fresh temp directory; the cluster is created stopped. */
export async function createPgCluster(): Promise<PgCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'pg-fault-'));
  chownSync(dir, uidOf('postgres'), gidOf('postgres'));
  const data = join(dir, 'data');
  const port = freePort();
  let running = false;
  let destroyed = false;
  live.set(dir, data);
  hookExit();

  await run([`${BIN}/initdb`, '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'], 'initdb');

  const ctl = (action: string[], what: string) => run([`${BIN}/pg_ctl`, '-D', data, ...action], what);

  const cluster: PgCluster = {
    dir,
    port,
    url: (name = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${name}`,
    async start() {
      await ctl(
        ['-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, '-l', join(dir, 'log'), '-w', '-t', '30', 'start'],
        'pg_ctl start',
      );
      running = true;
    },
    async stop(mode = 'fast') {
      await ctl(['-m', mode, '-w', '-t', '30', 'stop'], 'pg_ctl stop');
      running = false;
    },
    get running() {
      return running;
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      live.delete(dir);
      if (running) await cluster.stop('immediate').catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}

function idOf(flag: '-u' | '-g', user: string): number {
  const r = Bun.spawnSync(['id', flag, user]);
  const n = Number(r.stdout.toString().trim());
  if (r.exitCode !== 0 || !Number.isInteger(n)) throw new Error(`id ${flag} ${user} failed: is there a ${user} user?`);
  return n;
}
const uidOf = (u: string) => idOf('-u', u);
const gidOf = (u: string) => idOf('-g', u);
