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

/**
 * Why a delivery to `raw` must not be sent now, or null: the URL rules again, then every address its host resolves
 * to. (The fetch that follows resolves again; Bun's DNS cache makes a second, different answer unlikely, and the
 * next attempt checks again.)
 */
export async function deliveryProblem(raw: string, policy: TargetPolicy): Promise<string | null> {
  const problem = urlProblem(raw, policy);
  if (problem || policy.allowPrivate) return problem;
  let addresses: string[];
  try {
    addresses = await addressesOf(new URL(raw).hostname);
  } catch (err) {
    return `does not resolve (${(err as Error).message})`;
  }
  const bad = addresses.find(isForbiddenAddress);
  return bad ? `resolves to a forbidden address (${bad})` : null;
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
