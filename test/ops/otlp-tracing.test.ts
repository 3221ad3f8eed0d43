/**
 * Issue 25, traces against a real OTLP/HTTP receiver (http/json): a submission sent through a trusted proxy with
 * nginx's `traceparent` is continued by the request span (`mutation SubmitPermit`, GraphQL semantic conventions),
 * whose children are the token verification, the guards, the breaker, the audit append and each SQL statement; the
 * trace id is in the log lines, in error results' `extensions` and in the audit entry.
 *
 * Background work has traces of its own, linked to the requests it was done for: the audit group commit (in the audit
 * worker thread on PostgreSQL, on the serving thread on PGlite), the outbox replay of a submission queued during an
 * outage, and each webhook delivery (whose request carries its `traceparent`).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import pino from 'pino';
import { createTrustedProxyMatcher } from '../../src/auth/trusted-proxy.ts';
import { openRequestScope } from '../../src/http/open-request-scope.ts';
import { rowsOf } from '../../src/db/rows.ts';
import { sql } from 'drizzle-orm';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.ts';
import { whileInsertsFail } from '../helpers/failing-inserts.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import {
  AUDIT_APPENDER,
  expectSubmissionTrace,
  groupCommitsLinkedTo,
  SPAN_KIND,
  SUBMIT_PERMIT,
  submissionInput,
} from '../helpers/traced-submission.ts';

setDefaultTimeout(120_000);
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const NGINX_SPAN = '00f067aa0ba902b7';
const traceparent = (traceId = TRACE_ID, parent = NGINX_SPAN) => `00-${traceId}-${parent}-01`;

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
      WEBHOOK_ALLOW_PRIVATE: 'true',
    },
    { logLines },
  );
}, 240_000); // a fresh database on a busy machine
afterAll(async () => {
  await t?.stop();
  receiver?.stop();
});

async function spansOf(traceId: string): Promise<ReceivedSpan[]> {
  await t.running.tracing.flush();
  return receiver.spans.filter((s) => s.traceId === traceId);
}

/** Chains what was recorded, then sends every thread's finished spans (the audit worker's too). */
async function flushAll(): Promise<void> {
  await t.running.audit.flush();
  await t.running.tracing.flush();
}

async function someParcel(): Promise<string> {
  const clerk = await t.token('demo-clerk');
  return (await t.gql(`{ permits(first: 1) { edges { node { parcel { id } } } } }`, {}, clerk)).body.data.permits.edges[0].node.parcel.id;
}

async function submitTraced(traceId: string, key: string, parcel?: string) {
  const contractor = await t.token('demo-contractor-a');
  return t.gql(SUBMIT_PERMIT, { input: submissionInput(parcel ?? (await someParcel())), key }, contractor, {
    traceparent: traceparent(traceId),
  });
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

describe('a submission behind nginx, traced', () => {
  test("nginx's traceparent is continued through token, guards, SQL and the audit append", async () => {
    const contractor = await t.token('demo-contractor-a');
    const clerk = await t.token('demo-clerk');
    const parcel = (await t.gql(`{ permits(first: 1) { edges { node { parcel { id } } } } }`, {}, clerk)).body.data.permits.edges[0].node
      .parcel.id;
    const r = await t.gql(SUBMIT_PERMIT, { input: submissionInput(parcel), key: 'otel-0001' }, contractor, {
      traceparent: traceparent(),
      tracestate: 'nginx=1',
    });
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.submitPermit.receipt.state).toBe('PERSISTED');

    const root = expectSubmissionTrace(await spansOf(TRACE_ID), NGINX_SPAN, 'permit-gateway-test');
    expect(root.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/graphql' });
    // the document's shape only: no literal the client typed
    expect(String(root.attributes['graphql.document'])).toContain('submitPermit(input: $input, idempotencyKey: $key)');
    // the staged entry is chained by a group commit (the audit worker thread's on PostgreSQL) linked to this request
    await flushAll();
    expect(groupCommitsLinkedTo(receiver.spans, root).map((s) => s.attributes['permit_gateway.audit.appender'])).toEqual([AUDIT_APPENDER]);
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

  test('a request the proxy did not sample keeps its trace id in the log line, the error and the audit entry', async () => {
    const id = '5555666677778888999900001111aaaa';
    const r = await t.gql(`query Unsampled { permits(first: 1) { edges { node { nope } } } }`, {}, await t.token('demo-clerk'), {
      traceparent: `00-${id}-${NGINX_SPAN}-00`,
    });
    expect(r.body.errors?.length).toBeGreaterThan(0);
    expect((r.body as { extensions?: { traceId?: string } }).extensions?.traceId).toBe(id);
    const lines = logLines.map((l) => JSON.parse(l)).filter((l) => l.traceId === id);
    expect(lines.map((l) => l.msg)).toContain('graphql request');
    await t.running.audit.flush();
    const rows = rowsOf<{ entry: unknown }>(
      await t.tdb.database.db.execute(sql`select entry from audit_entries where entry->>'traceId' = ${id}`),
    );
    expect(rows.length).toBe(1);
    // the proxy's decision holds: nothing of it is recorded
    expect(await spansOf(id)).toEqual([]);
  });

  test("an internal error's log line names the request and its trace id, sampled or not", async () => {
    await whileInsertsFail(t.tdb.database.db, 'audit_pending', 'injected failure', async () => {
      for (const [id, flags] of [
        ['7777888899990000aaaabbbbccccdddd', '00'],
        ['7777888899990000aaaabbbbcccceeee', '01'],
      ] as const) {
        const contractor = await t.token('demo-contractor-a');
        const r = await t.gql(SUBMIT_PERMIT, { input: submissionInput(await someParcel()), key: `otel-fail-${flags}` }, contractor, {
          traceparent: `00-${id}-${NGINX_SPAN}-${flags}`,
        });
        expect(r.body.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
        const requestId = r.headers.get('x-request-id');
        const line = logLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'internal error' && l.traceId === id);
        expect(line?.requestId).toBe(requestId);
        // what failed is in the log, not in the answer
        expect(JSON.stringify(line)).toContain('injected failure');
        expect(JSON.stringify(r.body)).not.toContain('injected failure');
      }
    });
  });

  test("an unsampled token request's log line names its trace id", async () => {
    const id = '6666777788889999aaaabbbbccccdddd';
    const res = await fetch(`${t.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', traceparent: `00-${id}-${NGINX_SPAN}-00` },
      body: 'grant_type=client_credentials&client_id=demo-clerk&client_secret=not-the-secret',
    });
    expect(res.status).toBe(401);
    await res.arrayBuffer();
    const lines = logLines.map((l) => JSON.parse(l)).filter((l) => l.traceId === id);
    expect(lines.map((l) => l.msg)).toContain('token refused');
  });

  test('without a traceparent a request starts a trace of its own', async () => {
    const r = await t.gql(`{ permitStatus(number: "X") { status } }`);
    expect(r.status).toBe(200);
    await t.running.tracing.flush();
    const own = receiver.spans.find((s) => s.name === 'query' && s.parentSpanId === '');
    expect(own).toBeDefined();
  });
});

describe('graphql.document: sanitised, and only when asked', () => {
  test('every literal the client typed is replaced; the shape stays', async () => {
    const id = 'dddddddddddddddddddddddddddd0001';
    const r = await t.gql(`query Lit { permitStatus(number: "BP-SECRET-4711") { status } }`, {}, undefined, {
      traceparent: traceparent(id),
    });
    expect(r.status).toBe(200);
    const root = (await spansOf(id)).find((s) => s.parentSpanId === NGINX_SPAN)!;
    expect(root.name).toBe('query Lit');
    const document = String(root.attributes['graphql.document']);
    expect(document).toContain('permitStatus(number: "")');
    expect(document).not.toContain('SECRET');
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

describe('background work: traces of their own, linked to the requests they serve', () => {
  test(`the audit group commit (${AUDIT_APPENDER}) chaining a submission's entry links to its request span`, async () => {
    const id = 'c0ffee00c0ffee00c0ffee00c0ffee01';
    const r = await submitTraced(id, 'otel-gc-0001');
    expect(r.body.data.submitPermit.receipt.state).toBe('PERSISTED');
    await flushAll();
    const root = receiver.spans.find((s) => s.traceId === id && s.parentSpanId === NGINX_SPAN)!;
    expect(root.name).toBe('mutation SubmitPermit');
    // the entry was staged in the request (audit.append, a child of the request span) and chained later
    expect(receiver.spans.some((s) => s.traceId === id && s.name === 'audit.append')).toBe(true);
    const [commit] = groupCommitsLinkedTo(receiver.spans, root);
    expect(commit).toBeDefined();
    // a trace of its own: one commit chains many requests' entries, none of them its parent
    expect(commit!.traceId).not.toBe(id);
    expect(commit!.parentSpanId).toBe('');
    expect(commit!.attributes['permit_gateway.audit.appender']).toBe(AUDIT_APPENDER);
    expect(commit!.resource['service.name']).toBe('permit-gateway-test');
    // its statements are its children (in the worker thread on PostgreSQL)
    const statements = receiver.spans.filter((s) => s.parentSpanId === commit!.spanId && s.attributes['db.system.name'] === 'postgresql');
    expect(statements.length).toBeGreaterThanOrEqual(1);
  });

  test("a read's entry, group-committed, links to the read's request span", async () => {
    const id = 'c0ffee00c0ffee00c0ffee00c0ffee02';
    const r = await t.gql(`query Linked { permits(first: 1) { edges { node { number } } } }`, {}, await t.token('demo-clerk'), {
      traceparent: traceparent(id),
    });
    expect(r.status).toBe(200);
    await flushAll();
    const root = receiver.spans.find((s) => s.traceId === id && s.parentSpanId === NGINX_SPAN)!;
    expect(root.name).toBe('query Linked');
    const commits = groupCommitsLinkedTo(receiver.spans, root);
    expect(commits.length).toBe(1);
    expect(commits[0]!.attributes['permit_gateway.audit.appender']).toBe(AUDIT_APPENDER);
  });

  test('the replay of a submission queued during an outage links to the request that queued it', async () => {
    const { breaker, outbox } = t.running.services;
    const parcel = await someParcel();
    await t.token('demo-contractor-a');
    // five connection failures open the breaker; the probe closes it again (the database is up) and the replay runs
    const refused = () => Promise.reject(Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' }));
    for (let i = 0; i < 5; i++) await breaker.execute(refused).catch(() => {});
    expect(breaker.isOpen()).toBe(true);
    const id = 'c0ffee00c0ffee00c0ffee00c0ffee03';
    const r = await submitTraced(id, 'otel-replay-0001', parcel);
    expect(r.body.errors).toBeUndefined();
    const receipt = r.body.data.submitPermit.receipt;
    expect(receipt.state).toBe('QUEUED');
    await until('the replay', () => outbox.get(receipt.id)?.state === 'PERSISTED');
    await flushAll();

    const root = receiver.spans.find((s) => s.traceId === id && s.parentSpanId === NGINX_SPAN)!;
    expect(root.name).toBe('mutation SubmitPermit');
    const replay = receiver.spans.find((s) => s.name === 'outbox.replay' && s.attributes['permit_gateway.outbox.item'] === receipt.id)!;
    expect(replay).toBeDefined();
    expect(replay.traceId).not.toBe(id);
    expect(replay.parentSpanId).toBe('');
    expect(replay.links).toContainEqual({ traceId: id, spanId: root.spanId });
    expect(replay.attributes['permit_gateway.outbox.state']).toBe('PERSISTED');
    // the replay's statements (the permit and its staged audit entry) are its children
    const below = receiver.spans.filter((s) => s.traceId === replay.traceId && s.attributes['db.system.name'] === 'postgresql');
    expect(below.some((s) => String(s.attributes['db.query.text']).includes('audit_pending'))).toBe(true);
    // and the group commit that chains the replay's entry links to the replay
    expect(groupCommitsLinkedTo(receiver.spans, replay).length).toBeGreaterThanOrEqual(1);
  });

  test('a webhook delivery is a CLIENT span whose traceparent the receiver gets', async () => {
    const got: { traceparent: string | null; webhookId: string | null }[] = [];
    const hook = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      async fetch(req) {
        await req.text();
        got.push({ traceparent: req.headers.get('traceparent'), webhookId: req.headers.get('webhook-id') });
        return new Response(null, { status: 204 });
      },
    });
    try {
      const REGISTER = `mutation($in: RegisterWebhookInput!) { registerWebhook(input: $in) { webhook { id } } }`;
      const reg = await t.gql(
        REGISTER,
        { in: { url: `http://127.0.0.1:${hook.port}/hook`, events: ['PERMIT_SUBMITTED'] } },
        await t.token('demo-contractor-a'),
      );
      expect(reg.body.errors).toBeUndefined();
      const webhookId = reg.body.data.registerWebhook.webhook.id;
      const r = await submitTraced('c0ffee00c0ffee00c0ffee00c0ffee04', 'otel-hook-0001');
      expect(r.body.data.submitPermit.receipt.state).toBe('PERSISTED');
      await until('the delivery', () => got.length >= 1);
      await Bun.sleep(200); // the outcome is recorded after the receiver answered
      await flushAll();

      const [delivery] = got;
      const [, traceId, spanId] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(delivery!.traceparent ?? '') ?? [];
      expect(traceId).toBeDefined();
      const span = receiver.spans.find((s) => s.spanId === spanId)!;
      expect(span).toBeDefined();
      expect(span.name).toBe('webhook.delivery');
      expect(span.traceId).toBe(traceId!);
      expect(span.parentSpanId).toBe('');
      expect(span.kind).toBe(SPAN_KIND.client);
      expect(span.attributes).toMatchObject({
        'permit_gateway.webhook.id': webhookId,
        'permit_gateway.webhook.message_id': delivery!.webhookId!,
        'permit_gateway.webhook.outcome': 'delivered',
        'http.response.status_code': 204,
      });
      // recording the outcome is its child
      expect(
        receiver.spans.some((s) => s.parentSpanId === span.spanId && String(s.attributes['db.query.text']).includes('webhook_deliveries')),
      ).toBe(true);
    } finally {
      hook.stop(true);
    }
  });
});
