import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';

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
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['2001:db8::', 32],
] as const)
  PRIVATE.addSubnet(net, prefix, 'ipv6');

/** The IPv4 address inside an IPv4-mapped, -compatible or NAT64 IPv6 address, if any. */
function embeddedIPv4(ip: string): string | undefined {
  const m = /^(?:::ffff:|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (m) return m[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip);
  if (!hex) return undefined;
  const a = Number.parseInt(hex[1]!, 16);
  const b = Number.parseInt(hex[2]!, 16);
  return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
}

export function isPrivateAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return PRIVATE.check(ip, 'ipv4');
  if (family !== 6) return false;
  const v4 = embeddedIPv4(ip);
  return v4 !== undefined ? PRIVATE.check(v4, 'ipv4') : PRIVATE.check(ip, 'ipv6');
}

/** The operator's exceptions: host names, addresses and CIDR ranges. */
export class AllowList {
  private readonly names = new Set<string>();
  private readonly ranges = new BlockList();

  constructor(entries: readonly string[]) {
    for (const raw of entries) {
      const entry = raw.trim().toLowerCase().replace(/^\[|\]$/g, '');
      const [addr, prefix] = entry.split('/');
      const family = isIP(addr ?? '');
      if (family && prefix !== undefined) this.ranges.addSubnet(addr!, Number(prefix), family === 4 ? 'ipv4' : 'ipv6');
      else if (family) this.ranges.addAddress(addr!, family === 4 ? 'ipv4' : 'ipv6');
      else this.names.add(entry);
    }
  }

  allowsName(host: string): boolean {
    return this.names.has(stripBrackets(host).toLowerCase());
  }

  allowsAddress(ip: string): boolean {
    const family = isIP(ip);
    return family !== 0 && this.ranges.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  }
}

const stripBrackets = (host: string) => host.replace(/^\[|\]$/g, '');

/**
 * Why a URL's host may not be called (a literal private address or localhost, not allowed), or null. Host names are
 * judged again at connect time by guardedLookup.
 */
export function refusedHost(url: URL, allow: AllowList): string | null {
  const host = stripBrackets(url.hostname).toLowerCase();
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
