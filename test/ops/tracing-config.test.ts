/** Issue 25: tracing is configured by the standard OTEL_* variables only, and is off without an endpoint. */
import { describe, expect, test } from 'bun:test';
import { traceStatement } from '../../src/db/statement-tracer.ts';
import {
  activeTraceId,
  activeTraceparent,
  inSpan,
  samplerFromEnv,
  startTracing,
  traceHeaders,
  tracesEndpoint,
  tracingOn,
} from '../../src/ops/tracing.ts';

describe('OTEL_* configuration', () => {
  test('the traces endpoint: the signal-specific one as is, the generic one with /v1/traces, else off', () => {
    expect(tracesEndpoint({})).toBeUndefined();
    expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toBe('http://collector:4318/v1/traces');
    expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b/t' })).toBe(
      'http://b/t',
    );
    expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
    expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
  });

  test('the sampler follows OTEL_TRACES_SAMPLER and its argument', () => {
    expect(samplerFromEnv({}).toString()).toContain('ParentBased');
    expect(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'always_off' }).toString()).toContain('AlwaysOff');
    expect(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }).toString()).toContain('0.1');
    expect(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }).toString()).toMatch(
      /ParentBased.*0\.25/,
    );
  });

  test('without an endpoint nothing starts', async () => {
    const t = startTracing({ OTEL_SERVICE_NAME: 'x' });
    expect(t.enabled).toBe(false);
    expect(tracingOn()).toBe(false);
    await t.shutdown();
  });

  test('off costs nothing: spans are plain calls, statements run unwrapped, no header or id is made', () => {
    startTracing({ OTEL_SERVICE_NAME: 'x' });
    // even background work (`root`) is a plain synchronous call, given no span and no promise in between
    expect(inSpan('audit.group_commit', {}, (span) => span ?? 'plain', { root: true })).toBe('plain');
    // a statement's query object comes back as is: no wrapper, no hook on its `then`
    const query = Promise.resolve(1);
    expect(traceStatement('select 1', query)).toBe(query);
    expect(traceHeaders()).toEqual({});
    expect(activeTraceId()).toBeUndefined();
    expect(activeTraceparent()).toBeUndefined();
  });
});
