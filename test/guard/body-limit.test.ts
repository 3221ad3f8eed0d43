import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { withBodyLimit } from '../../src/guard/body-limit.ts';
import { startYoga } from './helpers.ts';
import { setDefaultTimeout } from 'bun:test';

// starts databases and servers: Bun's 5 s default is too short on a busy machine
setDefaultTimeout(120_000);

const MAX = 2 * 1024 * 1024;

describe('in process', () => {
  const app = startYoga([], {}, (h) => withBodyLimit(h, { maxBytes: MAX }));
  afterAll(() => app.stop());

  test('3 MiB JSON with Content-Length → 413', async () => {
    const body = JSON.stringify({ query: '{ hello }', variables: { pad: 'x'.repeat(3 * 1024 * 1024) } });
    const res = await fetch(app.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(413);
    expect(app.calls.count).toBe(0);
  });

  test('a replaced (chunked) request still reaches the next step with the client IP of its scope', async () => {
    const limited = withBodyLimit(
      async (req: Request, ip: string | undefined) => {
        const text = await req.text();
        return new Response(`${ip} ${text.length}`);
      },
      { maxBytes: MAX },
    );
    const srv = Bun.serve({ port: 0, fetch: (req, server) => limited(req, server.requestIP(req)?.address) });
    try {
      const { status, body } = await rawChunkedPost(srv.port!, 0, 'abc');
      expect(status).toBe(200);
      expect(body).toMatch(/127\.0\.0\.1 3/);
    } finally {
      srv.stop(true);
    }
  });

  /** A Bun.serve behind the body limit answering `len=<bytes read>`, and the lengths its handler saw. */
  function lengthEcho() {
    const seen: number[] = [];
    const srv = Bun.serve({
      port: 0,
      fetch: withBodyLimit(
        async (req) => {
          const text = await req.text();
          seen.push(text.length);
          return new Response(`len=${text.length}`);
        },
        { maxBytes: MAX },
      ),
    });
    return { port: srv.port!, seen, stop: () => srv.stop(true) };
  }

  test('a body within its Content-Length is not wrapped, and bytes beyond the declared length never reach the handler', async () => {
    const srv = lengthEcho();
    try {
      // declares 5 bytes, then sends 3 MiB more: the rest is not this request's body
      const reply = await rawExchange(srv.port, [
        'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello',
        Buffer.alloc(3 * 1024 * 1024, 'x'),
      ]);
      expect(reply).toMatch(/^HTTP\/1\.1 200/);
      expect(reply).toContain('len=5');
      expect(srv.seen.every((n) => n <= 5)).toBe(true);
      expect(srv.seen).toContain(5);
    } finally {
      srv.stop();
    }
  });

  test('Content-Length together with Transfer-Encoding: a 3 MiB chunked body is not accepted', async () => {
    const srv = lengthEcho();
    try {
      const big = Buffer.alloc(3 * 1024 * 1024, 'x');
      const reply = await rawExchange(srv.port, [
        'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n',
        Buffer.concat([Buffer.from(`${big.length.toString(16)}\r\n`), big, Buffer.from('\r\n0\r\n\r\n')]),
      ]);
      expect(reply).not.toMatch(/^HTTP\/1\.1 200/);
      expect(srv.seen.every((n) => n <= MAX)).toBe(true);
    } finally {
      srv.stop();
    }
  });

  test('a small request passes', async () => {
    const res = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ hello }' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { hello: 'hi' } });
  });

  test('chunked 3 MiB (no Content-Length) → 413', async () => {
    const { status } = await rawChunkedPost(app.server.port!, 3 * 1024 * 1024);
    expect(status).toBe(413);
  });

  test('chunked body under the limit passes', async () => {
    const { status, body } = await rawChunkedPost(app.server.port!, 0, JSON.stringify({ query: '{ hello }' }));
    expect(status).toBe(200);
    expect(body).toContain('"hello":"hi"');
  });
});

/** Writes `parts` over raw TCP and returns what the server answered within a short while (or until it closed). */
function rawExchange(port: number, parts: (string | Buffer)[]) {
  return new Promise<string>((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let response = '';
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      sock.destroy();
      resolve(response);
    };
    sock.on('data', (d) => {
      response += d.toString('latin1');
      setTimeout(done, 300);
    });
    sock.on('error', done);
    sock.on('close', done);
    sock.on('connect', () => {
      for (const p of parts) sock.write(p);
    });
    setTimeout(done, 10_000);
  });
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

/**
 * POST with `Transfer-Encoding: chunked` over raw TCP (no Content-Length), streaming `padBytes` of JSON string
 * padding in 64 KiB chunks until done or until the server answers / closes. Returns the status line's code.
 */
function rawChunkedPost(port: number, padBytes: number, whole?: string, keepSending = false) {
  return new Promise<{ status: number; sent: number; body: string }>((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let response = '';
    let sent = 0;
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      sock.destroy();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
      resolve({ status, sent, body: response.split('\r\n\r\n').slice(1).join('\r\n\r\n') });
    };
    sock.on('data', (d) => {
      response += d.toString('latin1');
      if (keepSending) return; // an attacker ignores the answer and goes on until the socket is closed
      if (/\r\n\r\n/.test(response) && (padBytes > 0 || whole !== undefined)) setTimeout(done, 100);
    });
    sock.on('error', () => done());
    sock.on('close', () => done());
    sock.on('connect', async () => {
      const chunk = (s: string | Buffer) => {
        const b = typeof s === 'string' ? Buffer.from(s) : s;
        return Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')]);
      };
      sock.write('POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
      if (whole !== undefined) {
        sock.write(chunk(whole));
        sock.write('0\r\n\r\n');
        return;
      }
      sock.write(chunk('{"query":"{ hello }","variables":{"pad":"'));
      const piece = chunk(Buffer.alloc(64 * 1024, 'x'));
      while (sent < padBytes && !finished) {
        const ok = sock.write(piece);
        sent += 64 * 1024;
        if (!ok) {
          await new Promise<void>((r) => {
            const t = setTimeout(r, 2000); // a server that stopped reading: give up waiting
            sock.once('drain', () => (clearTimeout(t), r()));
          });
        }
      }
      if (keepSending) return setTimeout(done, 500);
      if (!finished) {
        sock.write(chunk('"}}'));
        sock.write('0\r\n\r\n');
      }
    });
    setTimeout(() => (finished ? undefined : response ? done() : reject(new Error('timeout'))), 30_000);
  });
}

describe('50 MiB chunked body against a separate server process', () => {
  let proc: ReturnType<typeof Bun.spawn>;
  let port = 0;
  beforeAll(async () => {
    proc = Bun.spawn(['bun', `${import.meta.dir}/fixtures/body-limit-server.ts`], {
      stdout: 'pipe',
      stderr: 'inherit',
      env: { ...process.env, MAX_BYTES: String(MAX) },
    });
    const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    port = JSON.parse(text.split('\n')[0]!).port;
  });
  afterAll(() => {
    proc.kill();
  });

  test('→ 413 / connection cut, RSS grows < 20 MiB', async () => {
    // warm up: one ordinary request so the baseline includes Yoga's first-request allocations
    await rawChunkedPost(port, 0, JSON.stringify({ query: '{ hello }' }));
    await rawChunkedPost(port, 3 * 1024 * 1024);
    Bun.gc(true);
    const before = rssKiB(proc.pid);
    const { status, sent } = await rawChunkedPost(port, 50 * 1024 * 1024, undefined, true);
    await Bun.sleep(200);
    const after = rssKiB(proc.pid);
    console.log(`body-limit: sent ${(sent / 1048576).toFixed(1)} MiB, RSS ${before} → ${after} KiB`);
    // The server answers 413 and closes; a client that keeps writing may get the reset before it reads the 413
    // (the kernel drops unread data on RST). Either way the upload is cut long before 50 MiB.
    expect(status === 413 || (status === 0 && sent < 20 * 1024 * 1024)).toBe(true);
    expect(sent).toBeLessThan(20 * 1024 * 1024);
    expect(after - before).toBeLessThan(20 * 1024);
  }, 60_000);
});
