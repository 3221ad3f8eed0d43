/**
 * Where a webhook's receiver reads what changed: the permit's item in OGC API – Features under PUBLIC_URL (the
 * contract's webhook `Link`s). Standard Webhooks leaves the payload's shape to us and suggests sending the URL of the
 * resource to query; it signs only the body, so the link travels in the body (`links`, signed) and, for receivers
 * that read headers, as an RFC 8288 `Link` header with the same target. `rel="about"` (RFC 6903): the resource the
 * event is about. A rejected receipt has no permit and no link.
 */

/** An event body as the triggers write it: `{type, timestamp, data}`. */
export interface EventBody {
  type: string;
  timestamp: string;
  data: { permitNumber?: string | null } & Record<string, unknown>;
  [key: string]: unknown;
}

export interface ResourceLink {
  href: string;
  rel: 'about';
  type: 'application/geo+json';
}

/** The OGC item of the permit `body` is about, under `baseUrl` (PUBLIC_URL), or null when it names no permit. */
export function resourceLinkOf(body: EventBody, baseUrl: string): ResourceLink | null {
  const number = body.data?.permitNumber;
  if (typeof number !== 'string' || !number) return null;
  return { href: `${baseUrl}/ogc/collections/permits/items/${encodeURIComponent(number)}`, rel: 'about', type: 'application/geo+json' };
}

/** The body as delivered: with `links` when it is about a permit. */
export function withResourceLink(body: EventBody, baseUrl: string): EventBody {
  const link = resourceLinkOf(body, baseUrl);
  return link ? { ...body, links: [link] } : body;
}

/** The RFC 8288 header value for a body's link, or null. */
export function linkHeaderOf(body: EventBody): string | null {
  const link = (body.links as ResourceLink[] | undefined)?.[0];
  return link ? `<${link.href}>; rel="${link.rel}"; type="${link.type}"` : null;
}
