/**
 * Header edits on a response without rebuilding it: our own responses (Yoga's, `Response.json`) have mutable
 * headers, and a new Headers + Response per wrapper per request is measurable under load. A response whose
 * headers are immutable (e.g. one obtained from `fetch`) is copied instead.
 */
export function editHeaders(response: Response, edit: (headers: Headers) => void): Response {
  try {
    edit(response.headers);
    return response;
  } catch {
    const headers = new Headers(response.headers);
    edit(headers);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
}
