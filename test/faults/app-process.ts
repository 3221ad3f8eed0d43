/**
 * The real server (`bun run src/main.ts`) as a child process, the way an operator runs it. Its stdout and
 * stderr go to `DATA_DIR/app-<n>.log` so a failing fault test can show what the server said.
 *
 * Every child is also killed by a process `exit` hook, so a failed test leaves no server behind.
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Subprocess } from 'bun';
import type { DemoClient } from '../../src/auth/demo-clients.ts';

const ROOT = join(import.meta.dir, '..', '..');

export interface AppProcess {
  readonly url: string;
  readonly pid: number;
  readonly logFile: string;
  /** SIGKILL (`kill -9`) and wait for the exit. */
  kill9(): Promise<void>;
  /** SIGTERM (graceful) and wait for the exit; SIGKILL after `graceMs`. Returns the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  readonly exited: Promise<number>;
  /** The last `lines` lines the server logged. */
  tail(lines?: number): string;
}

export interface AppOptions {
  /** PostgreSQL; without it the server opens embedded PGlite in `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  port: number;
  env?: Record<string, string>;
  /** Extra arguments for `bun` before `run` (e.g. `--preload` while debugging). */
  bunArgs?: string[];
  /** How long to wait for `/healthz`. @default 60000 */
  startTimeoutMs?: number;
}

const children = new Set<Subprocess>();
let hooked = false;
function hookExit() {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of children) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

let started = 0;

export async function startApp(opts: AppOptions): Promise<AppProcess> {
  const logFile = join(opts.dataDir, `app-${++started}.log`);
  const fd = openSync(logFile, 'a');
  const url = `http://127.0.0.1:${opts.port}`;
  const child = Bun.spawn(['bun', 'run', ...(opts.bunArgs ?? []), 'src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      APP_ENV: 'development',
      HOST: '127.0.0.1',
      ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl } : {}),
      DATA_DIR: opts.dataDir,
      PORT: String(opts.port),
      LOG_LEVEL: 'info',
      SEED: 'small',
      RATE_LIMIT_SCALE: '0',
      ...opts.env,
    },
    stdin: 'ignore',
    stdout: fd,
    stderr: fd,
  });
  closeSync(fd);
  children.add(child);
  hookExit();
  const exited = child.exited.finally(() => children.delete(child));

  const tail = (lines = 40) => {
    try {
      return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  let up = false;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    try {
      const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (r.status === 200) {
        up = true;
        break;
      }
    } catch {
      // not listening yet
    }
    await Bun.sleep(100);
  }
  if (!up) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`the server did not come up on ${url}; its log:\n${tail()}`);
  }

  return {
    url,
    pid: child.pid,
    logFile,
    exited,
    tail,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Demo clients the development server wrote on its first start (waits for the file). */
export async function readDemoClients(dataDir: string, timeoutMs = 30_000): Promise<DemoClient[]> {
  const file = join(dataDir, 'demo-clients.json');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const list = JSON.parse(readFileSync(file, 'utf8')) as DemoClient[];
      if (list.length > 0) return list;
    } catch {
      // not written yet (or half written)
    }
    if (Date.now() > deadline) throw new Error(`${file} did not appear`);
    await Bun.sleep(100);
  }
}

/** POST /oauth/token with client_secret_post. */
export async function fetchToken(url: string, client: DemoClient): Promise<string> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret });
  const res = await fetch(`${url}/oauth/token`, { method: 'POST', body, signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new Error(`token for ${client.client_id}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}
