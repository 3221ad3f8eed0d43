/**
 * Issue 25's acceptance, end to end: a submission through REAL nginx (the shipped deploy/nginx/permit-gateway.conf,
 * Debian's package, no OpenTelemetry module) is one trace that nginx started. Its `$request_id` is the trace id and
 * the app's server span is the child of the span id nginx put in `traceparent`, both read back from nginx's access
 * log; below it are the token verification, the guards, the SQL statements and the audit append, and the audit group
 * commit links to it. A client's own `traceparent`/`tracestate`/`X-Request-Id` sent through nginx is replaced, never
 * continued. otlp-tracing.test.ts covers the same spans with nginx simulated (the header sent from 127.0.0.1).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { createTestPki, type TestPki } from '../helpers/certs.ts';
import { NGINX_BIN, nginxAvailable, startNginx, type RunningNginx } from '../helpers/nginx.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import {
  AUDIT_APPENDER,
  expectSubmissionTrace,
  groupCommitsLinkedTo,
  SUBMIT_PERMIT,
  submissionInput,
} from '../helpers/traced-submission.ts';

setDefaultTimeout(120_000);

const missing = !nginxAvailable();
if (missing) console.warn(`SKIPPED nginx tracing tests: ${NGINX_BIN} not found (apt-get install -y nginx)`);

/** What a client tries to impose; nginx must replace all of it. */
const CLIENT_TRACE = 'deadbeefdeadbeefdeadbeefdeadbeef';
const CLIENT_TRACEPARENT = `00-${CLIENT_TRACE}-1111111111111111-01`;

interface AccessLine {
  traceId: string;
  spanId: string;
  clientTraceparent: string;
  status: number;
}

/** The shipped `permit_gateway_trace` access-log lines. */
function accessLines(nginx: RunningNginx): AccessLine[] {
  const out: AccessLine[] = [];
  for (const line of nginx.accessLog().split('\n')) {
    const m = /" (\d{3}) .* trace_id=(\S*) span_id=(\S*) client_traceparent="([^"]*)"$/.exec(line);
    if (m) out.push({ status: Number(m[1]), traceId: m[2]!, spanId: m[3]!, clientTraceparent: m[4]! });
  }
  return out;
}

/**
 * The access-log lines written after the first `before`, once there are `count` of them: nginx writes a line in its
 * log phase, after the response went out, so the client may read the answer before the line exists.
 */
async function newAccessLines(nginx: RunningNginx, before: number, count: number): Promise<AccessLine[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const lines = accessLines(nginx).slice(before);
    if (lines.length >= count || Date.now() > deadline) return lines;
    await Bun.sleep(20);
  }
}

describe.skipIf(missing)("a submission through real nginx: nginx's traceparent continued", () => {
  let receiver: OtlpReceiver;
  let t: TestServer;
  let pki: TestPki;
  let nginx: RunningNginx;

  beforeAll(async () => {
    receiver = startOtlpReceiver();
    pki = createTestPki();
    t = await startTestServer({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'permit-gateway-nginx-test',
      TRUSTED_PROXIES: '127.0.0.1',
    });
    nginx = await startNginx({
      upstreams: [new URL(t.url).host],
      tlsCertPath: pki.server.certPath,
      tlsKeyPath: pki.server.keyPath,
      clientCaPath: pki.cityCa.certPath,
    });
  }, 240_000); // a fresh database on a busy machine

  afterAll(async () => {
    await nginx?.stop();
    await t?.stop();
    receiver?.stop();
    pki?.cleanup();
  });

  /** A GraphQL POST through nginx with client certificate A, carrying the client's own trace headers. */
  async function viaNginx(query: string, variables: Record<string, unknown>, token: string) {
    const response = await fetch(`${nginx.url}/graphql`, {
      method: 'POST',
      keepalive: false,
      tls: { cert: pki.clientA.cert, key: pki.clientA.key, ca: pki.cityCa.cert },
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        traceparent: CLIENT_TRACEPARENT,
        tracestate: 'client=forged',
        'x-request-id': 'client-chosen-request-id',
      },
      body: JSON.stringify({ query, variables }),
    });
    return { response, body: (await response.json()) as any };
  }

  test('trace id = nginx $request_id, parent = nginx span id, through token, guards, SQL and the audit append', async () => {
    const clerk = await t.token('demo-clerk');
    const parcel = (await t.gql(`{ permits(first: 1) { edges { node { parcel { id } } } } }`, {}, clerk)).body.data.permits.edges[0].node
      .parcel.id;
    const before = accessLines(nginx).length;
    const { response, body } = await viaNginx(
      SUBMIT_PERMIT,
      { key: 'nginx-trace-0001', input: submissionInput(parcel, 'Rear addition, traced through nginx') },
      await t.token('demo-contractor-a'),
    );
    expect(body.errors).toBeUndefined();
    expect(body.data.submitPermit.receipt.state).toBe('PERSISTED');

    // nginx's own record of the request: its $request_id and the span id it sent
    const lines = await newAccessLines(nginx, before, 1);
    expect(lines.length).toBe(1);
    const line = lines[0]!;
    expect(line.status).toBe(200);
    expect(line.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(line.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(line.clientTraceparent).toBe(CLIENT_TRACEPARENT); // logged, not continued
    // the app's request id is nginx's too (X-Request-Id replaced), so one id leads from the answer to the trace
    expect(response.headers.get('x-request-id')).toBe(line.traceId);

    await t.running.tracing.flush();
    expect(receiver.spans.some((s) => s.traceId === CLIENT_TRACE)).toBe(false);
    const spans = receiver.spans.filter((s) => s.traceId === line.traceId);
    const root = expectSubmissionTrace(spans, line.spanId, 'permit-gateway-nginx-test');
    expect(root.traceState).toBe(''); // the client's tracestate was cleared by nginx
    expect(root.attributes['permit_gateway.request_id']).toBe(line.traceId);

    // the entry is chained later by a group commit (the audit worker thread's on PostgreSQL): a trace of its own,
    // linked to this request's span
    const linked = () => groupCommitsLinkedTo(receiver.spans, root);
    for (const deadline = Date.now() + 10_000; ; await Bun.sleep(50)) {
      await t.running.audit.flush();
      await t.running.tracing.flush();
      if (linked().length > 0 || Date.now() > deadline) break;
    }
    const commits = linked();
    expect(commits.map((s) => s.attributes['permit_gateway.audit.appender'])).toEqual([AUDIT_APPENDER]);
    expect(commits[0]!.traceId).not.toBe(line.traceId);
  });

  test('every request gets a fresh trace from nginx, whatever the client sends', async () => {
    const token = await t.token('demo-clerk');
    const before = accessLines(nginx).length;
    for (let i = 0; i < 2; i++) {
      const { response } = await viaNginx(`query Mine { permits(first: 1) { edges { node { number } } } }`, {}, token);
      expect(response.status).toBe(200);
    }
    const lines = await newAccessLines(nginx, before, 2);
    expect(lines.length).toBe(2);
    expect(lines[0]!.traceId).not.toBe(lines[1]!.traceId);
    await t.running.tracing.flush();
    for (const line of lines) {
      const root = receiver.spans.find((s) => s.traceId === line.traceId && s.parentSpanId === line.spanId);
      expect(root?.name).toBe('query Mine');
    }
    expect(receiver.spans.some((s) => s.traceId === CLIENT_TRACE)).toBe(false);
  });
});
