/**
 * A real OTLP/HTTP trace receiver for tests: Bun.serve on a free port, `POST /v1/traces`, decoding what the
 * OpenTelemetry SDK sends as `http/json` (JSON) or `http/protobuf` (a small reader of the protobuf wire format, for
 * the fields a test checks: ids, names, kind, string/int/bool attributes, links, the resource's attributes).
 */

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  /** The W3C `tracestate` the span carries ('' when none). */
  traceState: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean>;
  /** The spans this one links to (batched or deferred work: the requests it was done for). */
  links: { traceId: string; spanId: string }[];
  resource: Record<string, string | number | boolean>;
}

export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  /** Content types of the requests received. */
  contentTypes: string[];
  stop(): void;
}

type Value = string | number | boolean;

function jsonValue(v: Record<string, unknown> | undefined): Value {
  if (!v) return '';
  if ('stringValue' in v) return String(v.stringValue);
  if ('intValue' in v) return Number(v.intValue);
  if ('boolValue' in v) return Boolean(v.boolValue);
  if ('doubleValue' in v) return Number(v.doubleValue);
  return JSON.stringify(v);
}

const jsonAttrs = (list: { key: string; value?: Record<string, unknown> }[] | undefined) =>
  Object.fromEntries((list ?? []).map((a) => [a.key, jsonValue(a.value)]));

function fromJson(body: any): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const resource = jsonAttrs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          traceState: s.traceState ?? '',
          name: s.name,
          kind: s.kind,
          attributes: jsonAttrs(s.attributes),
          links: ((s.links ?? []) as { traceId: string; spanId: string }[]).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
          resource,
        });
      }
    }
  }
  return out;
}

/** Fields of one protobuf message: number → values (bytes for length-delimited, bigint for varints). */
function fields(buf: Uint8Array): Map<number, (Uint8Array | bigint)[]> {
  const out = new Map<number, (Uint8Array | bigint)[]>();
  let i = 0;
  const varint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const [no, wire] = [key >>> 3, key & 7];
    let value: Uint8Array | bigint;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const len = Number(varint());
      value = buf.subarray(i, i + len);
      i += len;
    } else if (wire === 1) {
      value = buf.subarray(i, i + 8);
      i += 8;
    } else if (wire === 5) {
      value = buf.subarray(i, i + 4);
      i += 4;
    } else throw new Error(`unsupported wire type ${wire}`);
    out.set(no, [...(out.get(no) ?? []), value]);
  }
  return out;
}

const bytes = (f: Map<number, (Uint8Array | bigint)[]>, n: number) => (f.get(n)?.[0] as Uint8Array | undefined) ?? new Uint8Array();
const text = (f: Map<number, (Uint8Array | bigint)[]>, n: number) => new TextDecoder().decode(bytes(f, n));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function protoAttrs(list: (Uint8Array | bigint)[] | undefined): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const kv of list ?? []) {
    const f = fields(kv as Uint8Array);
    const any = fields(bytes(f, 2));
    // AnyValue: 1 string, 2 bool, 3 int
    out[text(f, 1)] = any.has(1) ? text(any, 1) : any.has(2) ? any.get(2)![0] === 1n : any.has(3) ? Number(any.get(3)![0]) : '';
  }
  return out;
}

function fromProtobuf(body: Uint8Array): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of fields(body).get(1) ?? []) {
    const r = fields(rs as Uint8Array);
    const resource = protoAttrs(fields(bytes(r, 1)).get(1));
    for (const ss of r.get(2) ?? []) {
      for (const sp of fields(ss as Uint8Array).get(2) ?? []) {
        const s = fields(sp as Uint8Array);
        out.push({
          traceId: hex(bytes(s, 1)),
          spanId: hex(bytes(s, 2)),
          parentSpanId: hex(bytes(s, 4)),
          traceState: text(s, 3),
          name: text(s, 5),
          kind: Number(s.get(6)?.[0] ?? 0n),
          attributes: protoAttrs(s.get(9)),
          // Span.links (13): Link { trace_id 1, span_id 2 }
          links: (s.get(13) ?? []).map((l) => {
            const link = fields(l as Uint8Array);
            return { traceId: hex(bytes(link, 1)), spanId: hex(bytes(link, 2)) };
          }),
          resource,
        });
      }
    }
  }
  return out;
}

export function startOtlpReceiver(): OtlpReceiver {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      if (request.method !== 'POST' || url.pathname !== '/v1/traces') return new Response('not found', { status: 404 });
      const type = request.headers.get('content-type') ?? '';
      contentTypes.push(type);
      const body = new Uint8Array(await request.arrayBuffer());
      spans.push(...(type.includes('json') ? fromJson(JSON.parse(new TextDecoder().decode(body))) : fromProtobuf(body)));
      return type.includes('json')
        ? Response.json({})
        : new Response(new Uint8Array(), { headers: { 'content-type': 'application/x-protobuf' } });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, spans, contentTypes, stop: () => void server.stop(true) };
}
