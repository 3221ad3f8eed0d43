/**
 * Issue 25, traces against a real OTLP/HTTP receiver (http/json): a submission sent through a trusted proxy with
 * nginx's `traceparent` is continued by the request span (`mutation SubmitPermit`, GraphQL semantic conventions),
 * whose children are the token verification, the guards, the breaker, the audit append and each SQL statement; the
 * trace id is in the log lines, in error results' `extensions` and in the audit entry.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import pino from 'pino';
import { createTrustedProxyMatcher } from '../../src/auth/trusted-proxy.ts';
import { openRequestScope } from '../../src/http/open-request-scope.ts';
import { rowsOf } from '../../src/db/client.ts';
import { sql } from 'drizzle-orm';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(120_000);
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const NGINX_SPAN = '00f067aa0ba902b7';
const traceparent = (traceId = TRACE_ID, parent = NGINX_SPAN) => `00-${traceId}-${parent}-01`;
const SUBMIT = `mutation SubmitPermit($input: SubmitPermitInput!, $key: String!) {
  submitPermit(input: $input, idempotencyKey: $key) { receipt { id state permitNumber } } }`;

const sampleInput = (parcelId: string) => ({
  parcelId,
  permitType: 'BUILDING',
  workClass: 'ADDITION',
  description: 'Rear addition, traced',
  valuation: 1000,
  applicant: { name: 'Ada Lovelace', email: 'ada@example.org', phone: '+1 555 010 2030' },
});

let receiver: OtlpReceiver;
let t: TestServer;
const logLines: string[] = [];
beforeAll(async () => {
  receiver = startOtlpReceiver();
  t = await startTestServer(
    {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'permit-gateway-test',
      OTEL_INSTRUMENTATION_GRAPHQL_CAPTURE_DOCUMENT: 'true',
      TRUSTED_PROXIES: '127.0.0.1',
    },
    { logLines },
  );
});
afterAll(async () => {
  await t?.stop();
  receiver?.stop();
});

async function spansOf(traceId: string): Promise<ReceivedSpan[]> {
  await t.running.tracing.flush();
  return receiver.spans.filter((s) => s.traceId === traceId);
}

/** Whether `span` descends from `ancestor` through received spans. */
function descendsFrom(span: ReceivedSpan, ancestor: ReceivedSpan, all: ReceivedSpan[]): boolean {
  for (let s: ReceivedSpan | undefined = span; s; s = all.find((p) => p.spanId === s!.parentSpanId)) {
    if (s.parentSpanId === ancestor.spanId) return true;
  }
  return false;
}

describe('a submission behind nginx, traced', () => {
  test("nginx's traceparent is continued through token, guards, SQL and the audit append", async () => {
    const contractor = await t.token('demo-contractor-a');
    const clerk = await t.token('demo-clerk');
    const parcel = (await t.gql(`{ permits(first: 1) { edges { node { parcel { id } } } } }`, {}, clerk)).body.data.permits.edges[0].node
      .parcel.id;
    const r = await t.gql(SUBMIT, { input: sampleInput(parcel), key: 'otel-0001' }, contractor, {
      traceparent: traceparent(),
      tracestate: 'nginx=1',
    });
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.submitPermit.receipt.state).toBe('PERSISTED');

    const spans = await spansOf(TRACE_ID);
    const root = spans.find((s) => s.parentSpanId === NGINX_SPAN)!;
    expect(root).toBeDefined();
    expect(root.name).toBe('mutation SubmitPermit');
    expect(root.kind).toBe(2); // SERVER
    expect(root.attributes).toMatchObject({
      'graphql.operation.type': 'mutation',
      'graphql.operation.name': 'SubmitPermit',
      'http.request.method': 'POST',
      'http.route': '/graphql',
      'http.response.status_code': 200,
    });
    // the document's shape only: no literal the client typed
    expect(String(root.attributes['graphql.document'])).toContain('submitPermit(input: $input, idempotencyKey: $key)');
    expect(root.resource['service.name']).toBe('permit-gateway-test');

    const names = spans.map((s) => s.name);
    for (const name of ['auth.verify_token', 'rate_limit', 'graphql.validate', 'db.breaker', 'audit.append']) expect(names).toContain(name);
    const statements = spans.filter((s) => s.attributes['db.system.name'] === 'postgresql');
    expect(statements.length).toBeGreaterThanOrEqual(1);
    expect(statements.every((s) => s.kind === 3)).toBe(true); // CLIENT
    // the submission's statement runs inside the audit append: the change and its entry together
    const append = spans.find((s) => s.name === 'audit.append')!;
    expect(statements.some((s) => descendsFrom(s, append, spans))).toBe(true);
    for (const s of spans) if (s !== root) expect(descendsFrom(s, root, spans)).toBe(true);
  });

  test('the trace id is in the log lines and in the audit entry', async () => {
    const contractor = await t.token('demo-contractor-a');
    const id = 'aaaabbbbccccddddeeeeffff00001111';
    const r = await t.gql(`query Mine { permits(first: 1) { edges { node { number } } } }`, {}, contractor, {
      traceparent: traceparent(id),
    });
    expect(r.status).toBe(200);
    const lines = logLines.map((l) => JSON.parse(l)).filter((l) => l.traceId === id);
    expect(lines.some((l) => l.msg === 'graphql request')).toBe(true);
    await t.running.audit.flush();
    const rows = rowsOf<{ entry: unknown }>(
      await t.tdb.database.db.execute(sql`select entry from audit_entries where entry->>'traceId' = ${id}`),
    );
    expect(rows.length).toBe(1);
  });

  test('an error result names the trace in its extensions', async () => {
    const id = '0123456789abcdef0123456789abcdef';
    const r = await t.gql(`{ permits(first: 1) { edges { node { nope } } } }`, {}, await t.token('demo-clerk'), {
      traceparent: traceparent(id),
    });
    expect(r.body.errors?.length).toBeGreaterThan(0);
    expect((r.body as { extensions?: { traceId?: string } }).extensions?.traceId).toBe(id);
  });

  test('without a traceparent a request starts a trace of its own', async () => {
    const r = await t.gql(`{ permitStatus(number: "X") { status } }`);
    expect(r.status).toBe(200);
    await t.running.tracing.flush();
    const own = receiver.spans.find((s) => s.name === 'query' && s.parentSpanId === '');
    expect(own).toBeDefined();
  });
});

describe('traceparent is believed from trusted proxies only', () => {
  test("a client's own traceparent does not reach the scope", () => {
    const request = new Request('http://gw.test/graphql', { headers: { traceparent: traceparent(), tracestate: 'x=1' } });
    const trusted = createTrustedProxyMatcher(['127.0.0.1']);
    const log = pino({ level: 'silent' });
    expect(openRequestScope(request, '203.0.113.9', trusted, log).traceparent).toBeUndefined();
    expect(openRequestScope(request, '127.0.0.1', trusted, log)).toMatchObject({ traceparent: traceparent(), tracestate: 'x=1' });
  });
});
