/**
 * Where a webhook may point (SSRF). Checked when it is registered (BAD_USER_INPUT) and again before every delivery,
 * after DNS resolution, so a name that later resolves to an internal address (DNS rebinding) is refused then.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { isForbiddenAddress } from './forbidden-addresses.ts';

export interface TargetPolicy {
  /** Production: https only. */
  production: boolean;
  /** Development and tests only (WEBHOOK_ALLOW_PRIVATE): loopback and private targets are allowed. */
  allowPrivate: boolean;
}

/** Names that mean "this machine" or an internal network whatever DNS says. */
const INTERNAL_NAME = /(^|\.)(localhost|local|internal|intranet|lan|home\.arpa|localdomain)$/i;

/** Why `raw` may not be a webhook URL, or null when it may (before DNS). */
export function urlProblem(raw: string, policy: TargetPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not an absolute URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an https URL';
  if (policy.production && url.protocol !== 'https:') return 'must be an https URL';
  if (url.username || url.password) return 'must not carry credentials';
  if (url.hash) return 'must not have a fragment';
  if (policy.allowPrivate) return null;
  // the URL parser has already turned every IPv4 spelling (hex, octal, one number, short forms) into dotted decimal
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return isForbiddenAddress(host) ? 'points to a loopback, private or link-local address' : null;
  if (!host.includes('.') || INTERNAL_NAME.test(host.replace(/\.$/, ''))) return 'points to an internal host name';
  return null;
}

/** The addresses a host name resolves to (an IP literal: itself). */
async function addressesOf(host: string): Promise<string[]> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare)) return [bare];
  return (await lookup(bare, { all: true, verbatim: true })).map((a) => a.address);
}

/** Where a delivery connects: the checked address itself, so a second DNS answer cannot redirect it (rebinding). */
export interface PinnedTarget {
  /** The URL with its host replaced by the checked IP address. */
  url: string;
  /** The `Host` header: the registered host (and port). */
  host: string;
  /** https: the name the certificate must carry (SNI and verification), not the IP connected to. */
  serverName?: string;
}

export type Resolve = (host: string) => Promise<string[]>;

/**
 * Checks a delivery to `raw` now: the URL rules again, then every address its host resolves to; the delivery then
 * connects to the first of those addresses (the one checked), with the registered name as Host and TLS server name.
 */
export async function deliveryTarget(
  raw: string,
  policy: TargetPolicy,
  resolve: Resolve = addressesOf,
): Promise<{ problem: string } | PinnedTarget> {
  const problem = urlProblem(raw, policy);
  if (problem) return { problem };
  const url = new URL(raw);
  let addresses: string[];
  try {
    addresses = await resolve(url.hostname);
  } catch (err) {
    return { problem: `does not resolve (${(err as Error).message})` };
  }
  const bad = policy.allowPrivate ? undefined : addresses.find(isForbiddenAddress);
  if (bad) return { problem: `resolves to a forbidden address (${bad})` };
  if (!addresses.length) return { problem: 'does not resolve' };
  const name = url.hostname.replace(/^\[|\]$/g, '');
  const host = url.host;
  const ip = addresses[0]!;
  url.hostname = isIP(ip) === 6 ? `[${ip}]` : ip;
  return { url: url.toString(), host, ...(url.protocol === 'https:' && !isIP(name) ? { serverName: name } : {}) };
}

/** At registration: the URL rules, and the name's current addresses when it resolves (a failed lookup is not final). */
export async function registrationProblem(raw: string, policy: TargetPolicy): Promise<string | null> {
  const problem = urlProblem(raw, policy);
  if (problem || policy.allowPrivate) return problem;
  try {
    const bad = (await addressesOf(new URL(raw).hostname)).find(isForbiddenAddress);
    return bad ? `resolves to a forbidden address (${bad})` : null;
  } catch {
    return null;
  }
}
