/**
 * The 429 a plain HTTP route answers when the caller's rate-limit bucket is empty: the RATE_LIMITED code of the
 * contract and Retry-After, the same for every route the router charges (src/http/route-table.ts, `bucket`).
 */
export function rateLimitedResponse(retryAfterSeconds: number): Response {
  return Response.json(
    { error: 'rate_limited', code: 'RATE_LIMITED', message: `rate limit exceeded; retry after ${retryAfterSeconds} s` },
    { status: 429, headers: { 'Retry-After': String(retryAfterSeconds) } },
  );
}
