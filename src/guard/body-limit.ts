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
 * Also set Bun.serve's own `maxRequestBodySize` (e.g. 2 × maxBytes) as a second net. Steps after this one find the
 * request's facts on its scope, never by the Request object (which this step may replace).
 */

export type FetchHandler<A extends unknown[]> = (request: Request, ...rest: A) => Response | Promise<Response>;

export interface BodyLimitOptions<A extends unknown[] = unknown[]> {
  /** Largest accepted body in bytes (`MAX_BODY_BYTES`). @default 2_097_152 (2 MiB) */
  maxBytes?: number;
  /** Response for a body over the limit. @default a JSON `{ errors: [{ message, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] }` with 413 */
  onTooLarge?: (maxBytes: number) => Response;
  /** Told about each refused body (with the handler's extra arguments, e.g. the request scope), to log it. @default nothing */
  onRefused?: (request: Request, ...rest: A) => void;
}

const defaults: Required<Omit<BodyLimitOptions, 'onRefused'>> = {
  maxBytes: 2_097_152,
  onTooLarge: (maxBytes) =>
    Response.json(
      { errors: [{ message: `Request body larger than ${maxBytes} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] },
      { status: 413, headers: { connection: 'close' } },
    ),
};

export class BodyTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`Request body larger than ${maxBytes} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/** Wrap a Bun.serve `fetch` handler with the body limit (see the file comment). Put it outermost but for headers. */
export function withBodyLimit<A extends unknown[]>(
  handler: FetchHandler<A>,
  options: BodyLimitOptions<A> = {},
): (request: Request, ...rest: A) => Promise<Response> {
  const maxBytes = options.maxBytes ?? defaults.maxBytes;
  const onTooLarge = options.onTooLarge ?? defaults.onTooLarge;
  const o = {
    maxBytes,
    onTooLarge: (request: Request, rest: A) => {
      options.onRefused?.(request, ...rest);
      return onTooLarge(maxBytes);
    },
  };
  return async (request, ...rest) => {
    const declared = request.headers.get('content-length');
    if (declared !== null) {
      const n = Number(declared);
      if (!Number.isFinite(n) || n < 0) return new Response('Bad Content-Length', { status: 400 });
      if (n > o.maxBytes) return o.onTooLarge(request, rest);
      // Bun's HTTP parser frames the body by Content-Length: no more than `n` bytes reach the handler, so a
      // declared length within the limit needs no counting stream (a Request and a stream less per request).
      // With Transfer-Encoding as well, the framing is the chunked one: count.
      if (!request.headers.has('transfer-encoding')) return handler(request, ...rest);
    }
    if (!request.body) return handler(request, ...rest);

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
    let response: Response;
    try {
      response = await handler(limited, ...rest);
    } catch (e) {
      if (exceeded) return o.onTooLarge(request, rest);
      throw e;
    }
    if (exceeded) {
      await response.body?.cancel().catch(() => {});
      return o.onTooLarge(request, rest);
    }
    return response;
  };
}
