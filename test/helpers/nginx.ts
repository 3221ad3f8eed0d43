/**
 * Starts a real nginx (the Debian package) in front of a test upstream, using deploy/nginx/permit-gateway.conf
 * rendered with test paths: everything (config, pid, logs, temp dirs) lives in a temp prefix, no root needed.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NGINX_BIN = '/usr/sbin/nginx';
export const nginxAvailable = () => existsSync(NGINX_BIN);

export const SITE_TEMPLATE = join(import.meta.dir, '../../deploy/nginx/permit-gateway.conf');

export interface NginxOptions {
  /** host:port of each app instance behind nginx. */
  upstreams: string[];
  tlsCertPath: string;
  tlsKeyPath: string;
  clientCaPath: string;
  serverName?: string;
}

export interface RunningNginx {
  port: number;
  url: string;
  prefix: string;
  /** The error log so far (nginx writes client-certificate failures there at `info`). */
  errorLog(): string;
  /** The site's access log so far (the shipped `permit_gateway_trace` format: trace_id=, span_id=, …). */
  accessLog(): string;
  stop(): Promise<void>;
}

/** Replaces `${PERMIT_GATEWAY_*}` placeholders like envsubst; a placeholder without a value is an error. */
export function renderSiteTemplate(template: string, values: Record<string, string>): string {
  const rendered = template.replace(/\$\{(PERMIT_GATEWAY_[A-Z0-9_]+)\}/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`nginx template: no value for ${whole}`);
    return value;
  });
  return rendered;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function canConnect(port: number): Promise<boolean> {
  try {
    const socket = await Bun.connect({ hostname: '127.0.0.1', port, socket: { data() {} } });
    socket.end();
    return true;
  } catch {
    return false;
  }
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startOnce(options: NginxOptions): Promise<RunningNginx> {
  const prefix = mkdtempSync(join(tmpdir(), 'permit-gateway-nginx-'));
  const port = await freePort();
  for (const dir of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(prefix, dir));

  const site = renderSiteTemplate(readFileSync(SITE_TEMPLATE, 'utf8'), {
    PERMIT_GATEWAY_LISTEN: `127.0.0.1:${port}`,
    PERMIT_GATEWAY_SERVER_NAME: options.serverName ?? 'localhost',
    PERMIT_GATEWAY_UPSTREAMS: options.upstreams.map((u) => `server ${u};`).join(' '),
    PERMIT_GATEWAY_TLS_CERT: options.tlsCertPath,
    PERMIT_GATEWAY_TLS_KEY: options.tlsKeyPath,
    PERMIT_GATEWAY_CLIENT_CA: options.clientCaPath,
    PERMIT_GATEWAY_ACCESS_LOG: join(prefix, 'permit-gateway.access.log'),
  });
  writeFileSync(join(prefix, 'permit-gateway.conf'), site);

  // Only a root master switches workers to another user; as root keep them root so they can use the temp prefix.
  const isRoot = process.getuid?.() === 0;
  const mainConf = [
    isRoot ? 'user root;' : '',
    'worker_processes 1;',
    `error_log ${join(prefix, 'error.log')} info;`,
    'events { worker_connections 128; }',
    'http {',
    `  access_log ${join(prefix, 'access.log')};`,
    `  client_body_temp_path ${join(prefix, 'client_body')};`,
    `  proxy_temp_path ${join(prefix, 'proxy')};`,
    `  fastcgi_temp_path ${join(prefix, 'fastcgi')};`,
    `  uwsgi_temp_path ${join(prefix, 'uwsgi')};`,
    `  scgi_temp_path ${join(prefix, 'scgi')};`,
    `  include ${join(prefix, 'permit-gateway.conf')};`,
    '}',
    '',
  ].join('\n');
  writeFileSync(join(prefix, 'nginx.conf'), mainConf);

  const proc = Bun.spawn(
    [NGINX_BIN, '-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', `daemon off; pid ${join(prefix, 'nginx.pid')};`],
    { stdout: 'pipe', stderr: 'pipe' },
  );
  const readLog = (name: string) => {
    try {
      return readFileSync(join(prefix, name), 'utf8');
    } catch {
      return '';
    }
  };
  const errorLog = () => readLog('error.log');
  const accessLog = () => readLog('permit-gateway.access.log');

  let exited = false;
  void proc.exited.then(() => (exited = true));
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (exited || Date.now() > deadline) {
      if (!exited) proc.kill('SIGKILL');
      await proc.exited;
      const stderr = await new Response(proc.stderr).text();
      rmSync(prefix, { recursive: true, force: true });
      throw new Error(`nginx did not start on port ${port}: ${stderr}\n${errorLog()}`);
    }
    await wait(25);
  }

  return {
    port,
    url: `https://127.0.0.1:${port}`,
    prefix,
    errorLog,
    accessLog,
    async stop() {
      if (!exited) {
        proc.kill('SIGQUIT'); // graceful: finish in-flight requests
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
        await proc.exited;
        clearTimeout(timer);
      }
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}

/** Starts nginx on a free port; retries if another process grabbed the port between probing and binding. */
export async function startNginx(options: NginxOptions): Promise<RunningNginx> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      lastError = error;
      if (!String(error).includes('Address already in use')) throw error;
    }
  }
  throw lastError;
}
