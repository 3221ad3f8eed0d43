/**
 * Real nginx (Debian package) in front of a tiny upstream, with deploy/nginx/permit-gateway.conf rendered for
 * test paths: proves the shipped config verifies client certificates against the city CA and forwards exactly
 * the presented certificate, and that the app side believes the header only from a trusted proxy.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Server } from 'bun';
import { readForwardedClientCert } from '../../src/auth/client-cert.ts';
import { createTrustedProxyMatcher, type TrustedProxyMatcher } from '../../src/auth/trusted-proxy.ts';
import { createTestPki, opensslThumbprint, type CertFiles, type TestPki } from '../helpers/certs.ts';
import { NGINX_BIN, nginxAvailable, startNginx, type RunningNginx } from '../helpers/nginx.ts';

const missing = !nginxAvailable();
if (missing) {
  console.warn(`SKIPPED nginx mTLS tests: ${NGINX_BIN} not found (apt-get install -y nginx)`);
}

interface Seen {
  cert: ReturnType<typeof readForwardedClientCert>;
  peer: string | null;
  identityHeader: string | null;
  forwardedFor: string | null;
  bodyBytes: number;
}

/** Requests that reached an upstream at all (nginx must stop certificate failures before the app). */
let upstreamHits = 0;

/** An upstream that answers with what readForwardedClientCert sees for the request, using `matcher`. */
function startEchoUpstream(matcher: TrustedProxyMatcher): Server<undefined> {
  return Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request, server) {
      upstreamHits++;
      const peer = server.requestIP(request)?.address ?? null;
      const body = await request.arrayBuffer();
      const seen: Seen = {
        cert: readForwardedClientCert(request, peer, matcher),
        peer,
        identityHeader: request.headers.get('x-client-identity'),
        forwardedFor: request.headers.get('x-forwarded-for'),
        bodyBytes: body.byteLength,
      };
      return Response.json(seen);
    },
  });
}

describe.skipIf(missing)('nginx mTLS proxy (deploy/nginx/permit-gateway.conf)', () => {
  let pki: TestPki;
  let upstream: Server<undefined>;
  let nginx: RunningNginx;

  beforeAll(async () => {
    pki = createTestPki();
    upstream = startEchoUpstream(createTrustedProxyMatcher(['127.0.0.1']));
    nginx = await startNginx({
      upstreams: [`127.0.0.1:${upstream.port}`],
      tlsCertPath: pki.server.certPath,
      tlsKeyPath: pki.server.keyPath,
      clientCaPath: pki.cityCa.certPath,
    });
  });

  afterAll(async () => {
    await nginx?.stop();
    await upstream?.stop(true);
    pki?.cleanup();
  });

  /** A fresh TLS connection per request, so one test's client certificate cannot leak into another's. */
  function viaNginx(client: CertFiles | null, init: RequestInit = {}): Promise<Response> {
    return fetch(`${nginx.url}/graphql`, {
      ...init,
      keepalive: false,
      tls: client ? { cert: client.cert, key: client.key, ca: pki.cityCa.cert } : { ca: pki.cityCa.cert },
    });
  }

  test('client certificate A → the upstream sees exactly A’s x5t#S256 thumbprint', async () => {
    const response = await viaNginx(pki.clientA);
    expect(response.status).toBe(200);
    const seen = (await response.json()) as Seen;
    expect(seen.cert).toEqual({ thumbprint: opensslThumbprint(pki.clientA.certPath) });
    expect(seen.peer).toBe('127.0.0.1');
    expect(seen.forwardedFor).toBe('127.0.0.1');
  });

  test('client certificate B → B’s thumbprint (different from A’s)', async () => {
    const seen = (await (await viaNginx(pki.clientB)).json()) as Seen;
    expect(seen.cert).toEqual({ thumbprint: opensslThumbprint(pki.clientB.certPath) });
    expect(seen.cert).not.toEqual({ thumbprint: opensslThumbprint(pki.clientA.certPath) });
  });

  test('no client certificate → rejected by nginx, never reaches the app', async () => {
    const before = upstreamHits;
    const response = await viaNginx(null);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('No required SSL certificate was sent');
    expect(upstreamHits).toBe(before);
  });

  test('certificate from another CA → rejected by nginx', async () => {
    const before = upstreamHits;
    const response = await viaNginx(pki.foreignClient);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('The SSL certificate error');
    expect(upstreamHits).toBe(before);
    expect(nginx.errorLog()).toContain('client SSL certificate verify error');
  });

  test('forged X-Client-Cert (B) while presenting A → the upstream sees A: nginx overwrites the header', async () => {
    const response = await viaNginx(pki.clientA, {
      headers: {
        'X-Client-Cert': encodeURIComponent(pki.clientB.cert),
        'X-Client-Identity': 'admin',
        'X-Forwarded-For': '10.9.9.9',
      },
    });
    const seen = (await response.json()) as Seen;
    expect(seen.cert).toEqual({ thumbprint: opensslThumbprint(pki.clientA.certPath) });
    expect(seen.identityHeader).toBeNull();
    expect(seen.forwardedFor).toBe('127.0.0.1');
  });

  test('request bodies pass through; over 2 MiB gets 413 at nginx', async () => {
    const small = await viaNginx(pki.clientA, { method: 'POST', body: 'x'.repeat(1024) });
    expect(((await small.json()) as Seen).bodyBytes).toBe(1024);
    const before = upstreamHits;
    const big = await viaNginx(pki.clientA, { method: 'POST', body: new Uint8Array(2 * 1024 * 1024 + 1) });
    expect(big.status).toBe(413);
    expect(upstreamHits).toBe(before);
  });
});

describe('X-Client-Cert sent directly to the app', () => {
  let pki: TestPki;
  let upstream: Server<undefined>;

  beforeAll(() => {
    pki = createTestPki();
    // Only 10.0.0.0/8 is trusted; this test connects from 127.0.0.1, i.e. not via a trusted proxy.
    upstream = startEchoUpstream(createTrustedProxyMatcher(['10.0.0.0/8']));
  });

  afterAll(async () => {
    await upstream?.stop(true);
    pki?.cleanup();
  });

  test('from an address not in TRUSTED_PROXIES → ignored', async () => {
    const response = await fetch(`http://127.0.0.1:${upstream.port}/graphql`, {
      headers: { 'X-Client-Cert': encodeURIComponent(pki.clientA.cert) },
    });
    const seen = (await response.json()) as Seen;
    expect(seen.peer).toBe('127.0.0.1');
    expect(seen.cert).toEqual({ ignored: true, reason: 'untrusted_peer' });
  });
});
