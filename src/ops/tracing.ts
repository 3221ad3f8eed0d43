/**
 * OpenTelemetry tracing, configured only by the standard `OTEL_*` variables and off, at no cost, when no OTLP
 * endpoint is set: `inSpan` then calls its function directly and nothing else of the SDK runs.
 *
 * - `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is) or `OTEL_EXPORTER_OTLP_ENDPOINT` (+ `/v1/traces`): where spans go;
 * - `OTEL_EXPORTER_OTLP_PROTOCOL` / `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`: `http/protobuf` (default) or `http/json`;
 * - `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`: `parentbased_always_on` (default), `traceidratio`, …;
 * - `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`: the resource; `OTEL_EXPORTER_OTLP_HEADERS`: read by the exporter;
 * - `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`: off, whatever the endpoint.
 * Context follows async calls through AsyncLocalStorage; W3C `traceparent`/`tracestate` are the propagation format.
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  SpanKind,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as OTLPJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { envDetector, resourceFromAttributes, detectResources } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { setStatementTracer } from '../db/statement-tracer.ts';

/** The `OTEL_*` variables, as given to the process. */
export type OtelEnv = Record<string, string | undefined>;

export interface Tracing {
  enabled: boolean;
  /** Sends the spans ended so far (tests, shutdown). */
  flush(): Promise<void>;
  /** Flushes and unregisters the provider: later spans are no-ops again. */
  shutdown(): Promise<void>;
}

let tracer: ReturnType<typeof trace.getTracer> | null = null;

/** Whether spans are being recorded by this process. */
export const tracingOn = () => tracer !== null;

export function samplerFromEnv(env: OtelEnv): Sampler {
  const ratio = Number(env.OTEL_TRACES_SAMPLER_ARG ?? '1');
  const r = Number.isFinite(ratio) && ratio >= 0 && ratio <= 1 ? ratio : 1;
  switch ((env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on').trim().toLowerCase()) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(r);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(r) });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/** The traces URL the standard variables name, or undefined (tracing off). */
export function tracesEndpoint(env: OtelEnv): string | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true' || env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return undefined;
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined;
}

const off: Tracing = { enabled: false, flush: async () => {}, shutdown: async () => {} };

/** Starts tracing when an OTLP endpoint is configured; one provider per process (a second start is refused). */
export function startTracing(env: OtelEnv, serviceVersion?: string): Tracing {
  const url = tracesEndpoint(env);
  if (!url || tracer) return off;
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf').trim();
  const exporter = protocol === 'http/json' ? new OTLPJsonExporter({ url }) : new OTLPProtoExporter({ url });
  const detected = detectResources({ detectors: [envDetector] });
  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME ?? 'permit-gateway',
    ...(serviceVersion ? { 'service.version': serviceVersion } : {}),
  }).merge(detected);
  const provider = new TracerProvider({
    resource,
    sampler: samplerFromEnv(env),
    spanProcessors: [new BatchSpanProcessor({ exporter })],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  const t = trace.getTracer('permit-gateway');
  tracer = t;
  // one CLIENT span per SQL statement of a recorded request; statements of background work (probe, group commit
  // worker) have no parent and are left out rather than each starting a trace of its own, and those of an unsampled
  // request would only be dropped, so they run unwrapped
  setStatementTracer((text) => {
    if (!recordingSpan()) return undefined;
    // named by the statement's first word, after any leading comment (`PLANNED_PER_CALL` is one)
    const operation = /^\s*(?:\/\*[\s\S]*?\*\/\s*)*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? 'SQL';
    const span = t.startSpan(operation, {
      kind: SpanKind.CLIENT,
      attributes: { 'db.system.name': 'postgresql', 'db.operation.name': operation, 'db.query.text': text.slice(0, 4096) },
    });
    return (err) => {
      if (err) span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
      span.end();
    };
  });
  return {
    enabled: true,
    flush: () => provider.forceFlush(),
    async shutdown() {
      tracer = null;
      setStatementTracer(null);
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

export interface SpanOptions {
  /**
   * Background work (group commit, outbox replay, webhook delivery): a trace of its own, started even when no span is
   * active and never a child of one that is (a timer set during a request carries that request's context, whose span
   * has long ended). What it was done for is named by `links`. @default false
   */
  root?: boolean;
  kind?: SpanKind;
  /** The spans this work was done for (W3C `traceparent` values, see {@link activeTraceparent}). @default none */
  links?: ReadonlyArray<string | undefined>;
}

/** OpenTelemetry caps a span's links at 128 by default: more are not sent, so none are built. */
const MAX_LINKS = 128;

/** Span links from W3C `traceparent` values (sampled ones only: an unsampled span was never exported). */
function linksFrom(traceparents: ReadonlyArray<string | undefined> | undefined): Link[] {
  const links: Link[] = [];
  for (const traceparent of traceparents ?? []) {
    if (!traceparent || links.length >= MAX_LINKS) continue;
    const sc = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, { traceparent }));
    if (sc && sc.traceFlags & 1) links.push({ context: sc });
  }
  return links;
}

/**
 * The active span if it is being recorded: only then can a child be. Most requests are not sampled (10 % is typical);
 * their children would be non-recording spans that are dropped unseen, yet cost ids, a context and closures each,
 * so nothing below an unsampled span is started (its trace id and sampled flag stay in the context for
 * propagation).
 */
function recordingSpan(): Span | undefined {
  const span = trace.getActiveSpan();
  return span?.isRecording() ? span : undefined;
}

/**
 * Runs `fn` in a child span of the active one (a plain call when tracing is off, when the active span is not
 * recorded, or when nothing is active and `root` is not set: a background probe should not start a trace every few
 * seconds). Errors mark the span and propagate unchanged.
 */
export function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span?: Span) => Promise<T> | T,
  options: SpanOptions = {},
): Promise<T> | T {
  if (!tracer || (!options.root && !recordingSpan())) return fn();
  const spanOptions = {
    attributes,
    ...(options.kind !== undefined ? { kind: options.kind } : {}),
    ...(options.root ? { root: true, links: linksFrom(options.links) } : {}),
  };
  return tracer.startActiveSpan(name, spanOptions, (span) => {
    const fail = (err: unknown) => {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
      span.end();
      throw err;
    };
    try {
      const out = fn(span);
      if (out instanceof Promise) {
        return out.then((v) => {
          span.end();
          return v;
        }, fail);
      }
      span.end();
      return out;
    } catch (err) {
      return fail(err);
    }
  });
}

/**
 * Starts a child of the active span that is not made active (for phases measured by two hooks, e.g. validation);
 * undefined unless the active span is recorded.
 */
export function startSpan(name: string, attributes: Attributes = {}): Span | undefined {
  return tracer && recordingSpan() ? tracer.startSpan(name, { attributes }) : undefined;
}

/** Starts a request's server span under the context a trusted proxy forwarded (or a new trace). */
export function startServerSpan(
  name: string,
  attributes: Attributes,
  carrier: { traceparent?: string; tracestate?: string },
  kind: SpanKind,
) {
  if (!tracer) return undefined;
  const parent: Context = carrier.traceparent ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
  const span = tracer.startSpan(name, { attributes, kind }, parent);
  return { span, context: trace.setSpan(parent, span) };
}

/** Runs `fn` with `ctx` active (spans started inside are its children). */
export const withContext = <T>(ctx: Context, fn: () => T): T => context.with(ctx, fn);

/** The active trace id, for log lines and error extensions; undefined when tracing is off or nothing is sampled. */
export function activeTraceId(): string | undefined {
  if (!tracer) return undefined;
  const sc = trace.getActiveSpan()?.spanContext();
  return sc && sc.traceFlags & 1 ? sc.traceId : undefined;
}

/**
 * The active span as a W3C `traceparent`, for work done later on its behalf (an audit entry's group commit, a queued
 * submission's replay) to link to; undefined when tracing is off or nothing sampled is active.
 */
export function activeTraceparent(): string | undefined {
  if (!tracer) return undefined;
  const sc = trace.getActiveSpan()?.spanContext();
  if (!sc || !(sc.traceFlags & 1)) return undefined;
  const carrier: { traceparent?: string } = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/** W3C headers for an outgoing request (webhook deliveries, witnesses), continuing the active trace. */
export function traceHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  if (tracer) propagation.inject(context.active(), headers);
  return headers;
}
