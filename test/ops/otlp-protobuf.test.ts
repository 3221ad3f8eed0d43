/**
 * Issue 25: the default OTLP protocol (http/protobuf) against a real receiver, and the standard sampler variables:
 * with `parentbased_traceidratio` at 0 a request without a parent is not recorded, while one whose trusted proxy
 * sampled it is, with the proxy's span as parent.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(120_000);
const TRACE_ID = '11112222333344445555666677778888';
const PROXY_SPAN = '1234567890abcdef';

let receiver: OtlpReceiver;
let t: TestServer;
beforeAll(async () => {
  receiver = startOtlpReceiver();
  t = await startTestServer({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0',
    TRUSTED_PROXIES: '127.0.0.1',
  });
});
afterAll(async () => {
  await t?.stop();
  receiver?.stop();
});

describe('OTLP http/protobuf and the sampler', () => {
  test('a sampled parent from the proxy is continued; an unsampled root is not exported', async () => {
    const tok = await t.token('demo-clerk');
    const traced = await t.gql(`query One { permits(first: 1) { edges { node { number } } } }`, {}, tok, {
      traceparent: `00-${TRACE_ID}-${PROXY_SPAN}-01`,
    });
    expect(traced.status).toBe(200);
    const untraced = await t.gql(`query Two { permits(first: 1) { edges { node { number } } } }`, {}, tok);
    expect(untraced.status).toBe(200);
    await t.running.tracing.flush();

    expect(receiver.contentTypes.length).toBeGreaterThan(0);
    expect(receiver.contentTypes.every((c) => c.startsWith('application/x-protobuf'))).toBe(true);
    const root = receiver.spans.find((s) => s.traceId === TRACE_ID && s.parentSpanId === PROXY_SPAN);
    expect(root?.name).toBe('query One');
    expect(root?.attributes['graphql.operation.name']).toBe('One');
    // the document is recorded only when OTEL_INSTRUMENTATION_GRAPHQL_CAPTURE_DOCUMENT asks for it
    expect(root?.attributes['graphql.document']).toBeUndefined();
    expect(root?.resource['service.name']).toBe('permit-gateway');
    expect(receiver.spans.filter((s) => s.traceId === TRACE_ID && s.name === 'SELECT').length).toBeGreaterThanOrEqual(1);
    expect(receiver.spans.some((s) => s.name === 'query Two')).toBe(false);
  });
});
