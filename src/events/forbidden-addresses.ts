/**
 * Addresses a webhook may never reach (SSRF): loopback, private, link-local (cloud metadata), shared, reserved,
 * multicast, every IPv6 address outside global unicast, and IPv6 forms that embed one of those (IPv4-mapped, NAT64,
 * 6to4). Works on the canonical text a WHATWG URL or a DNS lookup gives, so `0x7f000001`, `2130706433`, `127.1` and
 * `[::ffff:127.0.0.1]` all arrive here already as 127.0.0.1 or ::ffff:7f00:1.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** [network, prefix length] of IPv4 ranges that are not the public Internet (RFC 6890 and friends). */
const V4_BLOCKED: ReadonlyArray<[string, number]> = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT; also Alibaba's metadata 100.100.100.200
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local: 169.254.169.254 is the metadata service of most clouds
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];

const v4ToInt = (ip: string) => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);

function v4Blocked(ip: string): boolean {
  const n = v4ToInt(ip);
  return V4_BLOCKED.some(([net, bits]) => {
    const size = 2 ** (32 - bits);
    return Math.floor(n / size) === Math.floor(v4ToInt(net) / size);
  });
}

/** The eight 16-bit groups of an IPv6 address (with `::` expanded and a trailing dotted IPv4 converted). */
function v6Groups(ip: string): number[] {
  let text = ip.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const n = v4ToInt(dotted[1]!);
    text = `${text.slice(0, -dotted[1]!.length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => Number.parseInt(g, 16));
}

const embeddedV4 = (g: number[], from: number) => `${g[from]! >> 8}.${g[from]! & 255}.${g[from + 1]! >> 8}.${g[from + 1]! & 255}`;

/**
 * Only global unicast (2000::/3) is the public IPv6 Internet; everything else (unspecified, loopback, the reserved
 * ::/8 with its IPv4-compatible and IPv4-translated forms, unique local, link-local, multicast, SRv6, local-use
 * NAT64 64:ff9b:1::/48) is refused whatever it embeds, except the two forms that stand for an IPv4 address the host
 * or the network reaches, which are judged by that address.
 */
function v6Blocked(ip: string): boolean {
  const g = v6Groups(ip);
  if (g.length !== 8 || g.some((x) => Number.isNaN(x))) return true;
  const zeroTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroTo(5) && g[5] === 0xffff) return v4Blocked(embeddedV4(g, 6)); // ::ffff:a.b.c.d, IPv4-mapped
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return v4Blocked(embeddedV4(g, 6)); // NAT64
  const first = g[0]!;
  if ((first & 0xe000) !== 0x2000) return true; // outside 2000::/3 (fd00:ec2::254, AWS metadata, among them)
  if (first === 0x2001 && g[1]! < 0x200) return true; // 2001::/23 IETF special purpose: Teredo, benchmarking, ORCHID
  if (first === 0x2001 && g[1] === 0x0db8) return true; // documentation
  if (first === 0x3fff && g[1]! < 0x1000) return true; // 3fff::/20, documentation (RFC 9637)
  if (first === 0x2002) return v4Blocked(embeddedV4(g, 1)); // 6to4
  return false;
}

/** True for an IP address a webhook must not reach; also for text that is not an IP address at all. */
export function isForbiddenAddress(ip: string): boolean {
  const bare = ip.replace(/^\[|\]$/g, '');
  if (isIPv4(bare)) return v4Blocked(bare);
  if (isIPv6(bare)) return v6Blocked(bare);
  return true;
}
