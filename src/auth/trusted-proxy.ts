/**
 * Which peers may speak for a client: only requests whose TCP peer is a trusted reverse proxy may carry
 * `X-Client-Cert` / `X-Client-Identity` (`TRUSTED_PROXIES`; README "nginx in front (mTLS)"). Everyone else's copies are ignored.
 *
 * Matching is delegated to node:net's BlockList, which also treats IPv4-mapped IPv6 peers
 * (`::ffff:127.0.0.1`, the form a dual-stack listener reports) as the IPv4 address they carry.
 */
import { BlockList, isIP } from 'node:net';

/** Returns true when `address` (the socket peer, IPv4 or IPv6) is one of the trusted proxies. */
export type TrustedProxyMatcher = (address: string | null | undefined) => boolean;

/** Drops an IPv6 zone id (`fe80::1%eth0`) and the brackets of `[::1]`; zones do not change who the peer is. */
function normaliseAddress(raw: string): string {
  let address = raw.trim();
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  const zone = address.indexOf('%');
  if (zone !== -1) address = address.slice(0, zone);
  return address;
}

function ipFamily(address: string): 'ipv4' | 'ipv6' | null {
  const version = isIP(address);
  return version === 4 ? 'ipv4' : version === 6 ? 'ipv6' : null;
}

/**
 * Builds a matcher from `TRUSTED_PROXIES` entries: single addresses (`10.0.0.5`, `::1`) or CIDRs
 * (`10.0.0.0/8`, `fd00::/8`). Blank entries are skipped. An invalid entry throws naming it, so a typo stops
 * start-up instead of silently trusting nobody (or everybody). A `/0` prefix is refused: trusting every
 * address would let any client forge its certificate header.
 * An empty list trusts nobody, which is the secure default.
 */
export function createTrustedProxyMatcher(entries: readonly string[]): TrustedProxyMatcher {
  const list = new BlockList();
  let count = 0;
  for (const rawEntry of entries) {
    const entry = rawEntry.trim();
    if (entry === '') continue;
    const slash = entry.indexOf('/');
    const address = slash === -1 ? entry : entry.slice(0, slash);
    const family = address.includes('%') ? null : ipFamily(address.replace(/^\[(.*)\]$/, '$1'));
    if (!family) throw new Error(`TRUSTED_PROXIES: "${entry}" is not an IPv4/IPv6 address or CIDR`);
    const plain = address.replace(/^\[(.*)\]$/, '$1');
    if (slash === -1) {
      list.addAddress(plain, family);
    } else {
      const prefixText = entry.slice(slash + 1);
      const max = family === 'ipv4' ? 32 : 128;
      if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
        throw new Error(`TRUSTED_PROXIES: "${entry}" has an invalid prefix length (0-${max})`);
      }
      const prefix = Number(prefixText);
      if (prefix === 0) throw new Error(`TRUSTED_PROXIES: "${entry}" would trust every address; list the proxies`);
      list.addSubnet(plain, prefix, family);
    }
    count++;
  }

  if (count === 0) return () => false;
  return (rawAddress) => {
    if (typeof rawAddress !== 'string' || rawAddress === '') return false;
    const address = normaliseAddress(rawAddress);
    const family = ipFamily(address);
    if (!family) return false;
    return list.check(address, family);
  };
}
