/**
 * Request body limit for Bun.serve, ahead of any parsing (a body over `MAX_BODY_BYTES` → 413).
 *
 * - `Content-Length` over the limit: 413 at once, the body is never read.
 * - `Content-Length` within the limit (and no `Transfer-Encoding`): the HTTP parser delivers at most that many bytes.
 * - Otherwise (chunked): the body is replaced by a stream that counts
 *   bytes as the handler reads them and errors past the limit; whatever the handler then answers is replaced by
 *   413, and the original body stream is cancelled, so memory stays bounded by `maxBytes` whatever the attack size.
 *   The 413 carries `Connection: close` so the client stops sending.
 *
 * Also set Bun.serve's own `maxRequestBodySize` (e.g. 2 × maxBytes) as a second net.
 */

/** Minimal shape of Bun's `Server` this wrapper needs; `requestIP` is forwarded for the original request. */
export interface BodyLimitServer {
  requestIP(request: Request): { address: string; family: string; port: number } | null;
}

export type FetchHandler<S> = (request: Request, server: S) => Response | Promise<Response>;

export interface BodyLimitOptions {
  /** Largest accepted body in bytes (`MAX_BODY_BYTES`). @default 2_097_152 (2 MiB) */
  maxBytes?: number;
  /** Response for a body over the limit. @default a JSON `{ errors: [{ message, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] }` with 413 */
  onTooLarge?: (maxBytes: number) => Response;
}

const defaults: Required<BodyLimitOptions> = {
  maxBytes: 2_097_152,
  onTooLarge: (maxBytes) =>
    Response.json(
      { errors: [{ message: `Request body larger than ${maxBytes} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] },
      { status: 413, headers: { connection: 'close' } },
    ),
};

const originals = new WeakMap<Request, Request>();

/** The request Bun.serve handed in, for a request this wrapper replaced (e.g. for `server.requestIP`). */
export function originalRequestOf(request: Request): Request {
  return originals.get(request) ?? request;
}

export class BodyTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`Request body larger than ${maxBytes} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/** Wrap a Bun.serve `fetch` handler with the body limit (see the file comment). Put it outermost but for headers. */
export function withBodyLimit<S extends BodyLimitServer>(
  handler: FetchHandler<S>,
  options: BodyLimitOptions = {},
): FetchHandler<S> {
  const o: Required<BodyLimitOptions> = {
    maxBytes: options.maxBytes ?? defaults.maxBytes,
    onTooLarge: options.onTooLarge ?? defaults.onTooLarge,
  };
  return async (request, server) => {
    const declared = request.headers.get('content-length');
    if (declared !== null) {
      const n = Number(declared);
      if (!Number.isFinite(n) || n < 0) return new Response('Bad Content-Length', { status: 400 });
      if (n > o.maxBytes) return o.onTooLarge(o.maxBytes);
      // Bun's HTTP parser frames the body by Content-Length: no more than `n` bytes reach the handler, so a
      // declared length within the limit needs no counting stream (a Request and a stream less per request).
      // With Transfer-Encoding as well, the framing is the chunked one: count.
      if (!request.headers.has('transfer-encoding')) return handler(request, server);
    }
    if (!request.body) return handler(request, server);

    let exceeded = false;
    const reader = request.body.getReader();
    let total = 0;
    const counted = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        total += value.byteLength;
        if (total > o.maxBytes) {
          exceeded = true;
          reader.cancel().catch(() => {});
          return controller.error(new BodyTooLargeError(o.maxBytes));
        }
        controller.enqueue(value);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    });
    const limited = new Request(request.url, {
      method: request.method,
      headers: request.headers,
      body: counted,
      signal: request.signal,
      // @ts-expect-error `duplex` is required by the fetch spec for stream bodies, not yet in the DOM typings
      duplex: 'half',
    });
    originals.set(limited, request);
    const proxied = new Proxy(server, {
      get(target, prop, receiver) {
        if (prop === 'requestIP') return (r: Request) => target.requestIP(originalRequestOf(r));
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    let response: Response;
    try {
      response = await handler(limited, proxied);
    } catch (e) {
      if (exceeded) return o.onTooLarge(o.maxBytes);
      throw e;
    }
    if (exceeded) {
      await response.body?.cancel().catch(() => {});
      return o.onTooLarge(o.maxBytes);
    }
    return response;
  };
}
