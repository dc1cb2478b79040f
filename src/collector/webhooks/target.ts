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

export function isLoopbackAddress(address: string): boolean {
  const a = plain(address);
  return isIP(a.address) !== 0 && loopback.check(a.address, a.family);
}

/** Why the collector must not connect to this address, or null when it may. */
export function refusedAddress(address: string, protocol: 'http:' | 'https:'): string | null {
  const a = plain(address);
  if (isIP(a.address) === 0) return `${address} is not an IP address`;
  if (refused.check(a.address, a.family)) return `${address} is a link-local, metadata, unspecified or multicast address`;
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
