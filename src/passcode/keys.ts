/**
 * Ed25519 passcode signing keys, in memory only (storing them is the key store's job).
 *
 * - Key id ("kid"): "asc-" + the first 16 hex digits (64 bits) of SHA-256 over the raw
 *   32-byte public key. It is derived, never chosen, so a key id names one key: the
 *   verifier ignores a trusted key whose id is not the one its public key gives.
 * - Public key text: standard base64 (with padding) of the SubjectPublicKeyInfo DER,
 *   60 characters starting "MCowBQYDK2VwAyEA" - one line, fits a REG_SZ, self-describing
 *   (the DER names the algorithm), and is what `openssl pkey -pubout -outform DER | base64`
 *   prints. PEM ("-----BEGIN PUBLIC KEY-----") is accepted on input too.
 * - Private key: PKCS#8 PEM.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, type webcrypto } from 'node:crypto';
import { AscendError } from '../errors.js';

/** The key id form: "asc-" and 16 lower-case hex digits. */
export const KEY_ID_PATTERN = /^asc-[0-9a-f]{16}$/;

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE, AlgorithmIdentifier 1.3.101.112, BIT STRING of 32 bytes. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const SPKI_LENGTH = ED25519_SPKI_PREFIX.length + 32;

export interface PasscodeSigningKey {
  kid: string;
  /** An Ed25519 private key: a node:crypto KeyObject (what importSigningKey gives) or a WebCrypto CryptoKey. */
  privateKey: webcrypto.CryptoKey | KeyObject;
}

export interface TrustedKey {
  /** The key id as the TrustedKeys list names it (the registry value name). */
  kid: string;
  /** The public key text (the registry value data): base64 of the SPKI DER. */
  publicKey: string;
}

function invalid(message: string, cause?: unknown): AscendError {
  return new AscendError('ASC_KEY_INVALID', message, cause === undefined ? undefined : { cause });
}

function rawOf(publicKey: KeyObject): Buffer {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  if (der.length !== SPKI_LENGTH || !der.subarray(0, ED25519_SPKI_PREFIX.length).equals(ED25519_SPKI_PREFIX)) throw invalid('the key is not an Ed25519 key');
  return der.subarray(ED25519_SPKI_PREFIX.length);
}

/** The key id of an Ed25519 public key (KeyObject). */
export function keyIdOf(publicKey: KeyObject): string {
  return `asc-${createHash('sha256').update(rawOf(publicKey)).digest('hex').slice(0, 16)}`;
}

/** The one-line public key text: base64 of the SPKI DER. */
export function publicKeyText(publicKey: KeyObject): string {
  rawOf(publicKey);
  return publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
}

/**
 * An Ed25519 public key from its text form (base64 of the SPKI DER, whitespace ignored,
 * or a PEM "PUBLIC KEY" block); ASC_KEY_INVALID otherwise.
 */
export function parsePublicKey(text: string): KeyObject {
  if (typeof text !== 'string') throw invalid('a public key must be text');
  let body = text.trim();
  const pem = /^-----BEGIN PUBLIC KEY-----([\s\S]*)-----END PUBLIC KEY-----$/.exec(body);
  if (pem) body = pem[1] ?? '';
  body = body.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) throw invalid('the public key is not base64 of an SPKI DER');
  const der = Buffer.from(body, 'base64');
  if (der.toString('base64') !== body) throw invalid('the public key is not canonical base64');
  if (der.length !== SPKI_LENGTH || !der.subarray(0, ED25519_SPKI_PREFIX.length).equals(ED25519_SPKI_PREFIX)) {
    throw invalid(`the public key is not an Ed25519 SubjectPublicKeyInfo (${der.length} bytes; expected ${SPKI_LENGTH} starting MCowBQYDK2VwAyEA)`);
  }
  try {
    return createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch (e) {
    throw invalid('the public key does not decode as Ed25519', e);
  }
}

/** A new Ed25519 key pair: its derived key id, the private key as PKCS#8 PEM, the public key text. */
export function generateSigningKeyPair(): { kid: string; privateKeyPkcs8Pem: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    kid: keyIdOf(publicKey),
    privateKeyPkcs8Pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKeyText(publicKey),
  };
}

/** A signing key from PKCS#8 PEM; the key id is recomputed from the key. ASC_KEY_INVALID for anything but an unencrypted Ed25519 private key. */
export function importSigningKey(privateKeyPkcs8Pem: string): PasscodeSigningKey {
  if (typeof privateKeyPkcs8Pem !== 'string' || !privateKeyPkcs8Pem.includes('-----BEGIN PRIVATE KEY-----')) {
    throw invalid('the signing key is not a PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----")');
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: privateKeyPkcs8Pem, format: 'pem' });
  } catch (e) {
    throw invalid('the signing key does not decode as PKCS#8', e);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw invalid(`the signing key is ${privateKey.asymmetricKeyType ?? 'unknown'}, not Ed25519`);
  return { kid: keyIdOf(createPublicKey(privateKey)), privateKey };
}

/** The public key text and key id that go with a signing key (for `keys export-public`). */
export function publicKeyOf(key: PasscodeSigningKey): TrustedKey {
  const pk = key.privateKey;
  if (!('asymmetricKeyType' in pk)) throw invalid('publicKeyOf needs a node:crypto KeyObject');
  const publicKey = createPublicKey(pk);
  return { kid: keyIdOf(publicKey), publicKey: publicKeyText(publicKey) };
}
