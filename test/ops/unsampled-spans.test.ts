/**
 * Issue 25's overhead target: at 10 % sampling nine requests in ten are not recorded, so nothing below their request
 * span may cost a span (children, the validation span, one per SQL statement), and the request step does not even
 * enter a trace context for them (Bun carries an AsyncLocalStorage context through every await). Code that does run
 * in an unsampled context still passes the trace id on with sampled flag 0. A sampled request keeps its whole tree.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { SpanKind, trace } from '@opentelemetry/api';
import { PLANNED_PER_CALL } from '../../src/db/prepared-statements.ts';
import { traceStatement } from '../../src/db/statement-tracer.ts';
import { withRequestSpan } from '../../src/ops/request-span.ts';
import type { RequestScope } from '../../src/request-scope.ts';
import { inSpan, startServerSpan, startSpan, startTracing, traceHeaders, withContext, type Tracing } from '../../src/ops/tracing.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.ts';

const UNSAMPLED = 'aaaa0000aaaa0000aaaa0000aaaa0000';
const SAMPLED = 'bbbb0000bbbb0000bbbb0000bbbb0000';
const PROXY_SPAN = '0123456789abcdef';

let receiver: OtlpReceiver;
let tracing: Tracing;
beforeAll(() => {
  receiver = startOtlpReceiver();
  tracing = startTracing({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0',
  });
});
afterAll(async () => {
  await tracing?.shutdown();
  receiver?.stop();
});

/** A lazy thenable like a postgres-js query (its `then` on the prototype): it runs on its first `then`. */
class FakeQuery implements PromiseLike<unknown> {
  // biome-ignore lint/suspicious/noThenProperty: a stand-in for the driver's lazy query
  then<A = unknown, B = never>(ok?: ((v: unknown) => A | PromiseLike<A>) | null, fail?: ((e: unknown) => B | PromiseLike<B>) | null) {
    return Promise.resolve<unknown>([{ one: 1 }]).then(ok, fail);
  }
}

/** What a request under the proxy's `traceparent` (flag `01` or `00`) does below its server span. */
async function request(traceId: string, flags: '00' | '01') {
  const started = startServerSpan('POST /graphql', {}, { traceparent: `00-${traceId}-${PROXY_SPAN}-${flags}` }, SpanKind.SERVER)!;
  const seen = await withContext(started.context, async () => {
    const validate = startSpan('graphql.validate');
    validate?.end();
    const query = new FakeQuery();
    const traced = traceStatement('select 1', query);
    const wrapped = Object.hasOwn(traced, 'then');
    await traced;
    const child = await inSpan('auth.verify_token', {}, async (span) => ({
      span,
      recording: span?.isRecording(),
      headers: traceHeaders(),
    }));
    return { validate, wrapped, ...child };
  });
  started.span.end();
  return seen;
}

describe('below an unsampled request span nothing is started', () => {
  test('no child span, no validation span, statements unwrapped; the traceparent still carries flag 0', async () => {
    const seen = await request(UNSAMPLED, '00');
    expect(seen.span).toBeUndefined();
    expect(seen.validate).toBeUndefined();
    expect(seen.wrapped).toBe(false);
    expect(seen.headers.traceparent).toMatch(new RegExp(`^00-${UNSAMPLED}-[0-9a-f]{16}-00$`));
  });

  test('a sampled request keeps its children, its validation span and a span per statement', async () => {
    const seen = await request(SAMPLED, '01');
    expect(seen.recording).toBe(true);
    expect(seen.validate).toBeDefined();
    expect(seen.wrapped).toBe(true);
    expect(seen.headers.traceparent).toMatch(new RegExp(`^00-${SAMPLED}-[0-9a-f]{16}-01$`));

    await tracing.flush();
    const names = receiver.spans.filter((s) => s.traceId === SAMPLED).map((s) => s.name);
    expect(names.sort()).toEqual(['POST /graphql', 'SELECT', 'auth.verify_token', 'graphql.validate']);
    expect(receiver.spans.some((s) => s.traceId === UNSAMPLED)).toBe(false);
  });

  test('a statement planned per call is still named by its operation, not by its leading comment', async () => {
    const traceId = 'cccc0000cccc0000cccc0000cccc0000';
    const started = startServerSpan('POST /graphql', {}, { traceparent: `00-${traceId}-${PROXY_SPAN}-01` }, SpanKind.SERVER)!;
    await withContext(started.context, () => traceStatement(`${PLANNED_PER_CALL}\n  select 1`, new FakeQuery()));
    started.span.end();
    await tracing.flush();
    const names = receiver.spans.filter((s) => s.traceId === traceId).map((s) => s.name);
    expect(names.sort()).toEqual(['POST /graphql', 'SELECT']);
  });

  test('the request step runs an unsampled request outside any trace context and a sampled one inside its span', async () => {
    const seen: { active?: string; recording?: boolean; scopeTraceId?: string }[] = [];
    const step = withRequestSpan(async (_request, scope) => {
      const active = trace.getActiveSpan();
      seen.push({ active: active?.spanContext().traceId, recording: active?.isRecording(), scopeTraceId: scope.traceId });
      return new Response('ok');
    });
    const scopeFor = (traceparent: string) =>
      ({
        requestId: 'r',
        ip: '127.0.0.1',
        peer: '127.0.0.1',
        startedAt: 0,
        principal: null,
        log: { names: [], types: [] },
        cost: {},
        traceparent,
      }) as unknown as RequestScope;
    const traceId = 'dddd0000dddd0000dddd0000dddd0000';
    await step(new Request('http://gateway.test/graphql?x=1'), scopeFor(`00-${UNSAMPLED}-${PROXY_SPAN}-00`));
    await step(new Request('http://gateway.test/graphql?x=1'), scopeFor(`00-${traceId}-${PROXY_SPAN}-01`));
    expect(seen[0]).toEqual({ active: undefined, recording: undefined, scopeTraceId: UNSAMPLED });
    expect(seen[1]).toEqual({ active: traceId, recording: true, scopeTraceId: traceId });

    await tracing.flush();
    const server = receiver.spans.find((s) => s.traceId === traceId);
    expect(server?.name).toBe('GET /graphql');
    expect(server?.parentSpanId).toBe(PROXY_SPAN);
    expect(server?.attributes['url.path']).toBe('/graphql');
    expect(server?.attributes['http.route']).toBe('/graphql');
    expect(server?.attributes['http.response.status_code']).toBe(200);
  });
});
