/** Runs the real server (`src/main.ts`) as a child process on a free port and waits until it answers. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DemoClient } from '../../src/auth/demo-clients.ts';

export interface AppProcess {
  url: string;
  dataDir: string;
  proc: ReturnType<typeof Bun.spawn>;
  clients(): DemoClient[];
  token(clientId: string): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

export async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, fetch: () => new Response() });
  const p = s.port!;
  s.stop(true);
  return p;
}

export async function startAppProcess(
  env: Record<string, string>,
  opts: { dataDir?: string; readyPath?: string; timeoutMs?: number } = {},
): Promise<AppProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'pg-app-'));
  const port = await freePort();
  const proc = Bun.spawn(['bun', 'run', 'src/main.ts'], {
    env: { ...process.env, APP_ENV: 'development', LOG_LEVEL: 'warn', SEED: 'small', DATA_DIR: dataDir, PORT: String(port), ...env },
    stdout: 'ignore',
    stderr: 'inherit',
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}`);
    try {
      const r = await fetch(`${url}${opts.readyPath ?? '/readyz'}`);
      if (r.status === 200) break;
    } catch {}
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error('server did not become ready');
    }
    await Bun.sleep(200);
  }
  const clientsFile = join(dataDir, 'demo-clients.json');
  const clients = () => JSON.parse(readFileSync(clientsFile, 'utf8')) as DemoClient[];
  // development servers write their demo clients right after they start listening
  // (argon2 hashing of nine demo secrets takes seconds on a busy machine)
  for (let i = 0; env.APP_ENV !== 'test' && i < 900; i++) {
    try {
      clients();
      break;
    } catch {
      await Bun.sleep(100);
    }
  }
  return {
    url,
    dataDir,
    proc,
    clients,
    async token(clientId) {
      const c = clients().find((x) => x.client_id === clientId)!;
      const r = await fetch(`${url}/oauth/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret }),
      });
      return ((await r.json()) as { access_token: string }).access_token;
    },
    async stop(signal = 'SIGTERM') {
      proc.kill(signal);
      return proc.exited;
    },
  };
}
