import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraphQLError } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { createLogger } from '../../src/logger.ts';
import { classifyAuthFailure, createMetrics, routeLabel, withHttpMetrics } from '../../src/ops/metrics.ts';
import { type MetricsEndpointOptions, metricsResponse as metricsResponseFor } from '../../src/ops/metrics-endpoint.ts';
import { testScope } from '../helpers/scope.ts';
import { useMetrics } from '../../src/ops/use-metrics.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { setDefaultTimeout } from 'bun:test';

// starts databases and servers: Bun's 5 s default is too short on a busy machine
setDefaultTimeout(120_000);

const SERIES = [
  'http_request_duration_seconds',
  'graphql_operation_duration_seconds',
  'graphql_errors_total',
  'auth_failures_total',
  'rate_limit_hits_total',
  'db_breaker_state',
  'outbox_depth',
  'audit_chain_length',
  'db_pool_connections',
  'process_cpu_seconds_total',
];

/** The value of one sample line (`name{labels} value`) in Prometheus text, or undefined. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(labels ? `${name}{${labels}` : `${name} `) || (!labels && l.startsWith(`${name}{`)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const _silent = createLogger('silent');
const clientIps = new WeakMap<Request, string>();
const peer = (ip: string, init: RequestInit = {}) => {
  const r = new Request('http://gw.test/metrics', init);
  clientIps.set(r, testScope(r, ip).ip);
  return r;
};
/** The endpoint as the app calls it: with the client address of the request's scope. */
const metricsResponse = (r: Request, o: Omit<MetricsEndpointOptions, 'clientIp'>) =>
  metricsResponseFor(r, { ...o, clientIp: clientIps.get(r)! });

describe('metrics (in-process)', () => {
  let breaker: 'closed' | 'open' | 'half-open' = 'closed';
  let chain: () => Promise<number> = async () => 42;
  const metrics = createMetrics({
    breakerState: () => breaker,
    outboxDepth: () => 3,
    auditChainLength: () => chain(),
    pool: () => ({ max: 10 }),
    maxOperationNames: 2,
    callbackTimeoutMs: 50,
  });
  const yoga = createYoga({
    schema: createSchema({
      typeDefs: 'type Query { hello: String boom: String limited: String }',
      resolvers: {
        Query: {
          hello: () => 'hi',
          boom: () => {
            throw new GraphQLError('conflict', { extensions: { code: 'CONFLICT' } });
          },
          limited: () => {
            throw new GraphQLError('slow down', { extensions: { code: 'RATE_LIMITED' } });
          },
        },
      },
    }),
    logging: false,
    plugins: [useMetrics({ metrics })],
  });
  const run = (query: string, operationName?: string) => {
    const request = new Request('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, operationName }),
    });
    return yoga.fetch(request, { scope: testScope(request, '127.0.0.1', { principal: { role: 'analyst' } as never }) });
  };
  const verify = async (token: string) => {
    if (token === 'admin') return { scopes: new Set(['metrics:read']) };
    if (token === 'analyst') return { scopes: new Set(['analytics:read']) };
    throw new Error('signature verification failed');
  };
  const scrape = async () => (await metricsResponse(peer('127.0.0.1'), { metrics, verify })).text();

  test('operation durations are labelled by name, unnamed ones as anonymous, names beyond the cap as other', async () => {
    await run('query A { hello }');
    await run('query B { hello }');
    await run('query C { hello }');
    await run('{ hello }');
    const text = await scrape();
    expect(sample(text, 'graphql_operation_duration_seconds_count', 'operation="A"')).toBe(1);
    expect(sample(text, 'graphql_operation_duration_seconds_count', 'operation="B"')).toBe(1);
    expect(text).not.toContain('operation="C"');
    expect(sample(text, 'graphql_operation_duration_seconds_count', 'operation="other"')).toBe(1);
    expect(sample(text, 'graphql_operation_duration_seconds_count', 'operation="anonymous"')).toBe(1);
  });

  test('errors are counted by code; RATE_LIMITED also counts a rate-limit hit for the role', async () => {
    await run('query A { boom }');
    await run('query A { limited }');
    await run('query A { nope }');
    const text = await scrape();
    expect(sample(text, 'graphql_errors_total', 'code="CONFLICT"')).toBe(1);
    expect(sample(text, 'graphql_errors_total', 'code="RATE_LIMITED"')).toBe(1);
    expect(sample(text, 'graphql_errors_total', 'code="GRAPHQL_VALIDATION_FAILED"')).toBe(1);
    expect(sample(text, 'rate_limit_hits_total', 'role="analyst"')).toBe(1);
  });

  test('gauges read their sources at scrape time: breaker 0/1/2, outbox, audit chain, pool', async () => {
    const text = await scrape();
    expect(sample(text, 'db_breaker_state')).toBe(0);
    expect(sample(text, 'outbox_depth')).toBe(3);
    expect(sample(text, 'audit_chain_length')).toBe(42);
    expect(sample(text, 'db_pool_connections', 'state="max"')).toBe(10);
    breaker = 'half-open';
    expect(sample(await scrape(), 'db_breaker_state')).toBe(1);
    breaker = 'open';
    expect(sample(await scrape(), 'db_breaker_state')).toBe(2);
  });

  test('a failing or hanging audit chain callback keeps the last known value and does not hold the scrape', async () => {
    chain = () => new Promise(() => {});
    const t = performance.now();
    expect(sample(await scrape(), 'audit_chain_length')).toBe(42);
    expect(performance.now() - t).toBeLessThan(1000);
    chain = async () => {
      throw new Error('database down');
    };
    expect(sample(await scrape(), 'audit_chain_length')).toBe(42);
  });

  test('default process metrics are exported', async () => {
    expect(await scrape()).toContain('process_cpu_seconds_total');
  });

  test('/metrics: loopback without a token is allowed, another address is 401', async () => {
    expect((await metricsResponse(peer('127.0.0.1'), { metrics, verify })).status).toBe(200);
    expect((await metricsResponse(peer('::ffff:127.0.0.1'), { metrics, verify })).status).toBe(200);
    const far = await metricsResponse(peer('203.0.113.9'), { metrics, verify });
    expect(far.status).toBe(401);
    expect(far.headers.get('www-authenticate')).toContain('metrics:read');
    expect((await metricsResponse(peer('10.1.2.3'), { metrics, verify, allow: ['10.0.0.0/8'] })).status).toBe(200);
  });

  test('/metrics: a metrics:read token is allowed from anywhere; a token without the scope is 403; a bad token 401', async () => {
    const auth = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });
    const ok = await metricsResponse(peer('203.0.113.9', auth('admin')), { metrics, verify });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toContain('text/plain');
    const failures: string[] = [];
    const onAuthFailure = (r: string) => failures.push(r);
    expect((await metricsResponse(peer('127.0.0.1', auth('analyst')), { metrics, verify, onAuthFailure })).status).toBe(403);
    const bad = await metricsResponse(peer('127.0.0.1', auth('forged')), { metrics, verify, onAuthFailure });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toStartWith('Bearer error="invalid_token"');
    expect((await metricsResponse(peer('127.0.0.1', { headers: { authorization: 'Basic abc' } }), { metrics, verify })).status).toBe(401);
    expect(failures).toEqual(['insufficient_scope', 'signature verification failed']);
  });

  test('auth failures are counted by a bounded reason class', async () => {
    metrics.recordAuthFailure('"exp" claim timestamp check failed');
    metrics.recordAuthFailure('something nobody expected: <script>');
    const text = await scrape();
    expect(sample(text, 'auth_failures_total', 'reason="expired"')).toBe(1);
    expect(sample(text, 'auth_failures_total', 'reason="other"')).toBe(1);
    expect(text).not.toContain('<script>');
  });

  test('verifier reasons map to classes', () => {
    expect(classifyAuthFailure('signature verification failed')).toBe('bad_signature');
    expect(classifyAuthFailure('unexpected "iss" claim value')).toBe('issuer_audience');
    expect(classifyAuthFailure('unexpected "aud" claim value')).toBe('issuer_audience');
    expect(classifyAuthFailure('"alg" (Algorithm) Header Parameter value not allowed')).toBe('algorithm');
    expect(classifyAuthFailure('lifetime 3600 s exceeds 900 s')).toBe('lifetime');
    expect(classifyAuthFailure('client revoked')).toBe('revoked');
    expect(classifyAuthFailure('certificate-bound token presented without its certificate')).toBe('certificate_binding');
    expect(classifyAuthFailure('Invalid Compact JWS')).toBe('malformed');
    expect(classifyAuthFailure('"nbf" claim timestamp check failed')).toBe('not_yet_valid');
  });

  test('HTTP durations are labelled by a fixed route set (permit numbers never become labels)', async () => {
    const h = withHttpMetrics((r: Request) => new Response(null, { status: new URL(r.url).pathname === '/healthz' ? 200 : 404 }), metrics);
    await h(new Request('http://gw.test/status/BP-2026-000123'));
    await h(new Request('http://gw.test/healthz'));
    await h(new Request('http://gw.test/wp-admin/x.php', { method: 'PROPFIND' }));
    const text = await scrape();
    expect(text).toContain('http_request_duration_seconds_count{route="/status/:number",method="GET",status="404"} 1');
    expect(text).toContain('http_request_duration_seconds_count{route="/healthz",method="GET",status="200"} 1');
    expect(text).toContain('http_request_duration_seconds_count{route="other",method="other",status="404"} 1');
    expect(text).not.toContain('BP-2026');
    expect(routeLabel('/graphiql-assets/graphiql.css')).toBe('/graphiql-assets/*');
  });
});

// End to end: needs the wiring in app.ts (issue 8 note); until then these tests are todo.
const WIRING_FILES = ['app.ts', 'bootstrap.ts', 'main.ts', 'http/serve.ts'].map((f) => join(import.meta.dir, '../../src', f));
const wiredTo = (module: string) => WIRING_FILES.some((f) => readFileSync(f, 'utf8').includes(module));
const wired = wiredTo('ops/metrics-endpoint');
const e2e = wired ? test : test.todo;
describe('metrics over HTTP', () => {
  let t: TestServer;
  beforeAll(async () => {
    if (wired) t = await startTestServer();
  }, 180_000);
  afterAll(async () => {
    await t?.stop();
  });

  e2e(
    'after some traffic /metrics exposes every listed series',
    async () => {
      const analyst = await t.token('demo-analyst');
      expect((await t.gql('query Stats { permitStats(groupBy: STATUS) { key count } }', undefined, analyst)).status).toBe(200);
      expect((await t.gql('query Audit { auditLog(first: 1) { edges { cursor } } }', undefined, analyst)).status).toBe(403);
      expect((await t.gql('query Me { permits(first: 1) { edges { cursor } } }')).status).toBe(401);
      expect((await t.gql('{ me { clientId } }', undefined, 'not.a.token')).status).toBe(401);
      const admin = await t.token('demo-admin');
      const res = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${admin}` } });
      expect(res.status).toBe(200);
      const text = await res.text();
      for (const s of SERIES) expect(text).toContain(`# TYPE ${s} `);
      expect(sample(text, 'graphql_operation_duration_seconds_count', 'operation="Stats"')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'graphql_errors_total', 'code="FORBIDDEN"')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'auth_failures_total', 'reason="insufficient_scope"')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'auth_failures_total', 'reason="missing_token"')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'auth_failures_total', 'reason="malformed"')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'db_breaker_state')).toBe(0);
      expect(sample(text, 'audit_chain_length')).toBeGreaterThanOrEqual(0);
      expect(text).toContain('http_request_duration_seconds_count{route="/graphql",method="POST",status="200"}');
    },
    120_000,
  );

  e2e(
    '/metrics refuses a token without metrics:read (403) and accepts loopback without a token',
    async () => {
      const analyst = await t.token('demo-analyst');
      expect((await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${analyst}` } })).status).toBe(403);
      expect((await fetch(`${t.url}/metrics`)).status).toBe(200);
    },
    60_000,
  );
});
