/**
 * Conditional requests on features: the ETag is the jurisdiction's change counter plus a hash of what selects
 * the answer (collection, who sees what, the query, the base URL in the links). Weak, because `timeStamp` in the
 * body differs between two otherwise equal answers; If-None-Match uses the weak comparison anyway (RFC 9110 §13.1.2).
 */
export function itemsETag(counter: number, selectors: readonly string[]): string {
  const hash = Bun.hash(selectors.join('\u0001')).toString(36);
  return `W/"${counter.toString(36)}-${hash}"`;
}

/** A 304 when If-None-Match names `etag` (or is `*`), else null. */
export function conditionalAnswer(request: Request, etag: string): Response | null {
  const header = request.headers.get('if-none-match');
  if (!header) return null;
  const opaque = (t: string) => t.trim().replace(/^W\//, '');
  const wanted = opaque(etag);
  const match = header.trim() === '*' || header.split(',').some((t) => opaque(t) === wanted);
  return match
    ? new Response(null, { status: 304, headers: { ETag: etag, 'Cache-Control': 'private, no-cache', Vary: 'Authorization' } })
    : null;
}
