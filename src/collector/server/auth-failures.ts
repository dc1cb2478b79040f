/**
 * Failed authentication per client address (issue 13): each made-up bearer value costs the
 * collector a hash and a SELECT, so after `max` failures from one address in a window the
 * address is answered 429 before its credential is looked up. Only failures count: a fleet
 * of agents behind one NAT address authenticates as often as it likes, and a success does
 * not forgive the failures (else a guesser behind the same address would be reset by its
 * neighbours). An IPv6 client is counted per /64, the block one subscriber usually holds.
 * Memory is bounded: past `maxKeys` addresses the oldest one not blocked (else the oldest) is forgotten.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** The unit one client is counted in: an IPv4 address, or the /64 of an IPv6 address. */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return ip;
  const zoneless = ip.split('%')[0] ?? ip;
  const [head = '', tail] = zoneless.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (::1.2.3.4) counts as two groups; the /64 never reaches it.
  const width = (groups: string[]) => groups.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - width(left) - width(right))).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => (Number.parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}

export class FailureCounter {
  private readonly failures = new Map<string, number[]>();
  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly maxKeys = 10_000,
  ) {}

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((t) => t > now - this.windowMs);
  }

  /** Milliseconds until the key is heard again; 0 = now. */
  blockedFor(key: string, now = Date.now()): number {
    if (this.max <= 0) return 0;
    const recent = this.recent(key, now);
    if (recent.length < this.max) return 0;
    return (recent[recent.length - this.max] ?? now) + this.windowMs - now;
  }

  /** Counts one failure (keeping at most `max` per key: more would only lengthen nothing). */
  fail(key: string, now = Date.now()): void {
    if (this.max <= 0) return;
    const recent = this.recent(key, now);
    recent.push(now);
    if (recent.length > this.max) recent.splice(0, recent.length - this.max);
    this.failures.delete(key);
    this.failures.set(key, recent);
    if (this.failures.size > this.maxKeys) {
      // Forget the oldest address that is not blocked; when the first thousand all are, the
      // oldest one anyway: memory stays bounded whatever number of addresses guess.
      let victim: string | undefined;
      let looked = 0;
      for (const k of this.failures.keys()) {
        if (k === key) continue;
        victim ??= k;
        if (++looked > 1000) break;
        if (this.blockedFor(k, now) === 0) {
          victim = k;
          break;
        }
      }
      if (victim !== undefined) this.failures.delete(victim);
    }
  }
}
