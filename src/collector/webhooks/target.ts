/**
 * Where a webhook may point. Only https, except plain http to a loopback address; no
 * credentials in the URL; and never an address a request from the collector must not reach:
 * link-local (cloud metadata services live at 169.254.169.254 and fd00:ec2::254),
 * unspecified, multicast or broadcast. The address is checked at the moment of each
 * connection (the lookup the request uses), so a name that changes its answer after `add`
 * (DNS rebinding) is caught too.
 */
import { BlockList, isIP } from 'node:net';
import { AscendError } from '../../errors.js';

const refused = new BlockList();
refused.addSubnet('0.0.0.0', 8, 'ipv4'); // "this network", unspecified
refused.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local, metadata services
refused.addSubnet('100.100.100.200', 32, 'ipv4'); // Alibaba metadata
refused.addSubnet('224.0.0.0', 4, 'ipv4'); // multicast
refused.addSubnet('240.0.0.0', 4, 'ipv4'); // reserved, broadcast
refused.addAddress('::', 'ipv6');
refused.addSubnet('fe80::', 10, 'ipv6'); // link-local
refused.addSubnet('ff00::', 8, 'ipv6'); // multicast
refused.addAddress('fd00:ec2::254', 'ipv6'); // AWS metadata over IPv6

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** An IPv4 address written as IPv6 (::ffff:a.b.c.d) is judged as the IPv4 one. */
function plain(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (m) return { address: m[1] as string, family: 'ipv4' };
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

/** The eight 16-bit groups of an IPv6 address (a trailing dotted IPv4 included), or undefined. */
function ipv6Groups(address: string): number[] | undefined {
  if (isIP(address) !== 6) return undefined;
  let text = address.toLowerCase().replace(/%.*$/, '');
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const part = (p: string | undefined) => (p === undefined || p === '' ? [] : p.split(':').map((g) => parseInt(g, 16)));
  const h = part(head);
  const t = part(tail);
  const groups = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

/**
 * NAT64 (RFC 6052, 8215): 64:ff9b::/96 reaches the IPv4 address in its last 32 bits, so it is
 * judged as that address; 64:ff9b:1::/48 (local-use translators, where the IPv4 part may sit
 * elsewhere) is refused whole. Undefined for any other address.
 */
function nat64(address: string): { ipv4: string } | 'local-use' | undefined {
  const g = ipv6Groups(address);
  if (g === undefined || g[0] !== 0x64 || g[1] !== 0xff9b) return undefined;
  if (g[2] === 1) return 'local-use';
  if (g.slice(2, 6).some((x) => x !== 0)) return undefined;
  const [hi, lo] = [g[6] as number, g[7] as number];
  return { ipv4: `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}` };
}

export function isLoopbackAddress(address: string): boolean {
  const a = plain(address);
  return isIP(a.address) !== 0 && loopback.check(a.address, a.family);
}

/** Why the collector must not connect to this address, or null when it may. */
export function refusedAddress(address: string, protocol: 'http:' | 'https:'): string | null {
  const a = plain(address);
  if (isIP(a.address) === 0) return `${address} is not an IP address`;
  if (refused.check(a.address, a.family)) return `${address} is a link-local, metadata, unspecified or multicast address`;
  const nat = nat64(a.address);
  if (nat === 'local-use') return `${address} is in the local-use NAT64 prefix 64:ff9b:1::/48`;
  // Through a NAT64 translator the address is its IPv4 one: refused as that (loopback there is not this machine either).
  if (nat !== undefined && (refused.check(nat.ipv4, 'ipv4') || loopback.check(nat.ipv4, 'ipv4'))) return `${address} is the NAT64 form of ${nat.ipv4}, a loopback, link-local, metadata, unspecified or multicast address`;
  if (protocol === 'http:' && !loopback.check(a.address, a.family)) return `plain http is allowed to loopback only, and ${address} is not loopback`;
  return null;
}

function hostOf(u: URL): string {
  return u.hostname.startsWith('[') && u.hostname.endsWith(']') ? u.hostname.slice(1, -1) : u.hostname;
}

/** A host name that can only mean this machine (resolvers answer loopback for it). */
function isLocalName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost');
}

/**
 * Checks a webhook URL as given to `add` (statically: the addresses are checked again at
 * every connection). Returns the URL normalised.
 */
export function checkWebhookUrl(text: string): URL {
  const bad = (why: string) => new AscendError('ASC_COLLECTOR_BAD_INPUT', `webhook URL ${JSON.stringify(text.slice(0, 200))}: ${why}`);
  if (text.length > 2000) throw bad('is longer than 2000 characters');
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw bad('is not a URL');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw bad('must be https (or http to a loopback address)');
  if (u.username !== '' || u.password !== '') throw bad('must not carry a user name or password');
  if (u.hash !== '') throw bad('must not have a #fragment');
  const host = hostOf(u);
  if (host === '') throw bad('has no host');
  if (isIP(host) !== 0) {
    const why = refusedAddress(host, u.protocol);
    if (why !== null) throw bad(why);
  } else if (u.protocol === 'http:' && !isLocalName(host)) {
    throw bad('plain http is allowed to loopback only: use https');
  }
  return u;
}
