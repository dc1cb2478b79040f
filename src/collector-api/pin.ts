/**
 * The collector's TLS anchor and its pin (issue 13). An agent trusts a collector only through
 * the certificate authority (the "anchor") it learned at enrollment; the enrollment token
 * carries the anchor's pin, the SHA-256 of its DER bytes, so even the first contact cannot be
 * answered by an impostor.
 *
 * Part of the contract between agent, collector and CLI (DESIGN section 2): no I/O.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { AscendError } from '../errors.js';

/** base64url of SHA-256: 43 characters. */
const PIN_RE = /^[A-Za-z0-9_-]{43}$/;

/** The pin of one certificate (PEM text or DER bytes): base64url(SHA-256(DER)). */
export function pinOfCertificate(cert: string | Buffer): string {
  let der: Buffer;
  try {
    der = new X509Certificate(cert).raw;
  } catch {
    throw new AscendError('ASC_COLLECTOR_UNTRUSTED', 'the certificate authority is not a readable X.509 certificate');
  }
  return createHash('sha256').update(der).digest('base64url');
}

/**
 * One certificate as PEM, canonical: refused when the text holds more or less than one. An anchor
 * learned from the network must be exactly the certificate its pin names: a bundle would pass the
 * pin on its first certificate and have TLS trust all the others too.
 */
export function singleCertificate(pem: string): string {
  const count = (pem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;
  if (count !== 1) throw new AscendError('ASC_COLLECTOR_UNTRUSTED', `the certificate authority offered holds ${count} certificates; exactly one is pinned`);
  try {
    return new X509Certificate(pem).toString();
  } catch {
    throw new AscendError('ASC_COLLECTOR_UNTRUSTED', 'the certificate authority is not a readable X.509 certificate');
  }
}

/** What people compare by eye: "SHA256:" and the base64url pin. */
export function showPin(pin: string): string {
  return `SHA256:${pin}`;
}

/** Reads a pin as shown ("SHA256:..."), or bare. */
export function parsePin(text: string): string {
  const bare = text.trim().replace(/^sha256:/i, '');
  if (!PIN_RE.test(bare)) throw new AscendError('ASC_USAGE', 'a collector pin is "SHA256:" and 43 base64url characters');
  return bare;
}

/**
 * An enrollment token as given to an agent: the secret the collector checks, a dot, and the
 * pin of the collector's anchor. A token without the pin is the secret alone.
 */
export function joinEnrollmentToken(secret: string, pin: string): string {
  return `${secret}.${pin}`;
}

export function splitEnrollmentToken(token: string): { secret: string; pin: string | null } {
  const t = token.trim();
  const dot = t.lastIndexOf('.');
  if (dot < 0) return { secret: t, pin: null };
  const pin = t.slice(dot + 1);
  if (!PIN_RE.test(pin)) throw new AscendError('ASC_USAGE', 'the enrollment token is malformed (the part after the dot is not a collector pin)');
  return { secret: t.slice(0, dot), pin };
}
