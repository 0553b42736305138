import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { domainToASCII } from 'node:url';

/**
 * Where the gateway may send a request a sender asked for (a callback; a media URL to fetch): not to this machine,
 * its private networks or link-local addresses (the cloud metadata service at 169.254.169.254), unless the operator
 * lists the host in `callbacks.allowHosts`. Literal addresses are refused when the URL is given; names are checked
 * again on every connection, against the addresses DNS answers then (a name may be rebound to a private address).
 */

const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  PRIVATE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 96], // unspecified, loopback, and the deprecated IPv4-compatible ::a.b.c.d (never a public service)
  ['64:ff9b:1::', 48], // local-use NAT64 (RFC 8215): translates into this network
  ['100::', 64], // discard-only
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10], // deprecated site-local
  ['ff00::', 8],
  ['2001:db8::', 32],
] as const)
  PRIVATE.addSubnet(net, prefix, 'ipv6');

/** The eight 16-bit groups of a valid IPv6 address in any spelling (compressed or not, any case, dotted tail). */
function ipv6Groups(ip: string): number[] {
  let text = ip.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string | undefined) => (part ? part.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const front = parse(head);
  const back = parse(tail);
  return [...front, ...Array(8 - front.length - back.length).fill(0), ...back];
}

const v4Of = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
const zero = (groups: number[]) => groups.every((g) => g === 0);

/**
 * The IPv4 address an IPv6 address stands for, if any: IPv4-mapped (::ffff:a.b.c.d, which the kernel connects over
 * IPv4), IPv4-translated (::ffff:0:a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::).
 */
function embeddedIPv4(ip: string): string | undefined {
  const g = ipv6Groups(ip);
  if (zero(g.slice(0, 5)) && g[5] === 0xffff) return v4Of(g[6]!, g[7]!);
  if (zero(g.slice(0, 4)) && g[4] === 0xffff && g[5] === 0) return v4Of(g[6]!, g[7]!);
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(g.slice(2, 6))) return v4Of(g[6]!, g[7]!);
  if (g[0] === 0x2002) return v4Of(g[1]!, g[2]!);
  return undefined;
}

/**
 * Whether a literal address is loopback, private, link-local, or otherwise not a public destination, in any of its
 * spellings (IPv4 inside IPv6 included). Not an address at all: false.
 */
export function isPrivateAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return PRIVATE.check(ip, 'ipv4');
  if (family !== 6) return false;
  const bare = ip.replace(/%.*$/, ''); // without a zone (fe80::1%eth0)
  const v4 = embeddedIPv4(bare);
  return v4 !== undefined ? PRIVATE.check(v4, 'ipv4') : PRIVATE.check(bare, 'ipv6');
}

/** A host as compared everywhere: lower case, without IPv6 brackets or the trailing dot of a fully qualified name. */
export const normalizeHost = (host: string) =>
  host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/** The operator's exceptions: host names, addresses and CIDR ranges. */
type AllowEntry = { name: string } | { address: string; family: 'ipv4' | 'ipv6'; prefix?: number };

/** One allowHosts entry read, or why it is not one (for the configuration's validation). */
export function parseAllowEntry(raw: string): AllowEntry | { problem: string } {
  const [addr = '', prefix, ...rest] = raw.trim().toLowerCase().split('/');
  const host = normalizeHost(addr);
  const family = isIP(host);
  const name = family ? '' : domainToASCII(host); // as URL.hostname has it: punycode for international names
  const bits = family === 4 ? 32 : 128;
  if (family && prefix !== undefined && rest.length === 0 && /^\d{1,3}$/.test(prefix) && Number(prefix) <= bits)
    return { address: host, family: family === 4 ? 'ipv4' : 'ipv6', prefix: Number(prefix) };
  if (family && prefix === undefined) return { address: host, family: family === 4 ? 'ipv4' : 'ipv6' };
  if (!family && prefix === undefined && HOST_NAME.test(name)) return { name };
  return { problem: `"${raw}" is neither a host name, an IP address nor a CIDR range (such as 10.0.0.0/8)` };
}

export class AllowList {
  private readonly names = new Set<string>();
  private readonly ranges = new BlockList();

  /** Entries are validated with the configuration (parseAllowEntry); one that is not an entry is ignored here. */
  constructor(entries: readonly string[]) {
    for (const raw of entries) {
      const e = parseAllowEntry(raw);
      if ('name' in e) this.names.add(e.name);
      else if ('address' in e) {
        if (e.prefix !== undefined) this.ranges.addSubnet(e.address, e.prefix, e.family);
        else this.ranges.addAddress(e.address, e.family);
      }
    }
  }

  private static readonly cache = new WeakMap<readonly string[], AllowList>();
  /** One AllowList per configured list (it is read on every accept). */
  static of(entries: readonly string[]): AllowList {
    const cached = AllowList.cache.get(entries);
    if (cached) return cached;
    const list = new AllowList(entries);
    AllowList.cache.set(entries, list);
    return list;
  }

  allowsName(host: string): boolean {
    return this.names.has(normalizeHost(host));
  }

  allowsAddress(ip: string): boolean {
    const host = normalizeHost(ip);
    const family = isIP(host);
    return family !== 0 && this.ranges.check(host, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/**
 * Why a URL's host may not be called (a literal private address or localhost, not allowed), or null. Host names are
 * judged again at connect time by guardedLookup.
 */
export function refusedHost(url: URL, allow: AllowList): string | null {
  const host = normalizeHost(url.hostname);
  if (allow.allowsName(host) || allow.allowsAddress(host)) return null;
  if (host === 'localhost' || host.endsWith('.localhost')) return `${host} is this machine; list it in callbacks.allowHosts to allow it`;
  if (isIP(host) && isPrivateAddress(host)) return `${host} is a loopback, private or link-local address; list it in callbacks.allowHosts to allow it`;
  return null;
}

export class PrivateAddressError extends Error {
  override name = 'PrivateAddressError';
  readonly code = 'EPRIVATEADDRESS';
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A dns.lookup for net.connect that refuses private answers for names not on the allow list (DNS rebinding). */
export function guardedLookup(allow: AllowList) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const list = addresses as LookupAddress[];
      if (!allow.allowsName(hostname)) {
        const bad = list.find((a) => isPrivateAddress(a.address) && !allow.allowsAddress(a.address));
        if (bad) return callback(new PrivateAddressError(`${hostname} resolves to ${bad.address}, a loopback, private or link-local address`), '');
      }
      if (options.all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
      callback(null, first.address, first.family);
    });
  };
}
