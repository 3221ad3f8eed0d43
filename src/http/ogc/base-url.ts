/**
 * The external base URL OGC links are built on. PUBLIC_URL (CONTRACT "second round") wins once config carries it;
 * until then the origin the client used, which is right for direct clients and for proxies that keep `Host`.
 */
export function externalBaseUrl(request: Request, configured?: string | null): string {
  if (configured) return configured.replace(/\/+$/, '');
  return new URL(request.url).origin;
}
