/**
 * The passcode token: a compact JWS (RFC 7515) - BASE64URL(header) "." BASE64URL(payload)
 * "." BASE64URL(signature) - read strictly, since what is accepted is part of the security:
 *
 * - exactly three parts, each canonical unpadded base64url (only A-Z a-z 0-9 - _; the
 *   unused low bits of the last character zero, so no two texts decode to the same bytes);
 * - the header, as UTF-8, exactly `{"alg":"EdDSA","kid":"asc-<16 hex>","typ":"ascend-tse+jws"}`
 *   byte for byte: no other algorithm (no "none"), no crit, jku, x5u or any other field,
 *   no duplicate names, no spaces;
 * - the payload, as UTF-8 (a BOM or an invalid sequence is refused), JSON that
 *   termsProblem accepts and whose canonical form (serializeTerms) is the same bytes
 *   (read by canonical.ts in one pass; termsTextProblem is the reference it is tested
 *   against and the source of the messages);
 * - a signature of exactly 64 bytes (86 characters).
 *
 * Parsing never throws on any input; signing goes through jose.
 */
import { AscendError } from '../errors.js';
import { readCanonicalTerms } from './canonical.js';
import { KEY_ID_PATTERN, type PasscodeSigningKey } from './keys.js';
import { serializeTerms, termsProblem, type PasscodeTerms } from './terms.js';

export const PASSCODE_TYP = 'ascend-tse+jws';
export const PASSCODE_ALG = 'EdDSA';
/** Longer texts are refused before any work (a real passcode is well under 4 KiB). */
export const MAX_TOKEN_LENGTH = 16_384;
const SIGNATURE_CHARS = 86; // 64 bytes

export interface PasscodeHeader {
  alg: string;
  kid: string;
  typ: string;
}

/** The one header a passcode signed with key `kid` has, as JSON text. */
export function headerJson(kid: string): string {
  return JSON.stringify({ alg: PASSCODE_ALG, kid, typ: PASSCODE_TYP });
}

/** The first part of every passcode signed with key `kid`. */
export function headerSegment(kid: string): string {
  return Buffer.from(headerJson(kid), 'utf8').toString('base64url');
}

const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
// A fixed expression (nothing from the input goes into it); faster than a loop in V8.
const BASE64URL_TEXT = /^[A-Za-z0-9_-]+$/;

/** The bytes of a canonical unpadded base64url text, or undefined. */
export function decodeBase64urlStrict(s: string): Buffer | undefined {
  const n = s.length;
  if (n === 0 || n % 4 === 1 || !BASE64URL_TEXT.test(s)) return undefined;
  // 2 trailing characters carry 12 bits for 8 (4 spare), 3 carry 18 for 16 (2 spare): the spare
  // bits must be zero, or two texts would decode to the same bytes.
  const bits = BASE64URL_ALPHABET.indexOf(s.charAt(n - 1));
  if ((n % 4 === 2 && (bits & 0x0f) !== 0) || (n % 4 === 3 && (bits & 0x03) !== 0)) return undefined;
  return Buffer.from(s, 'base64url');
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

function json(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

export interface ParsedPasscode {
  header: PasscodeHeader;
  terms: PasscodeTerms;
  /** The first part as it appeared. */
  headerSegment: string;
  /** Where the second dot is: the signing input is the text before it. */
  signingInputLength: number;
  signature: Buffer;
}

export type ParseResult = { ok: true; value: ParsedPasscode } | { ok: false; message: string };

const fail = (message: string): ParseResult => ({ ok: false, message });

/** The key id of a header part when it is the canonical header, else a reason it is not. */
function readHeader(segment: string): { kid: string } | { message: string } {
  const bytes = decodeBase64urlStrict(segment);
  if (!bytes) return { message: 'the header part is not canonical base64url' };
  const text = utf8(bytes);
  const parsed = text === undefined ? undefined : json(text);
  if (!parsed || typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) return { message: 'the header is not a JSON object' };
  const h = parsed.value as Record<string, unknown>;
  const extra = Object.keys(h).filter((k) => k !== 'alg' && k !== 'kid' && k !== 'typ');
  if (extra.length > 0) return { message: `the header has a field other than alg, kid and typ ("${extra[0]?.slice(0, 20)}")` };
  if (h.alg !== PASSCODE_ALG) return { message: `the header's alg is ${JSON.stringify(h.alg)?.slice(0, 20)}, only "EdDSA" is accepted` };
  if (h.typ !== PASSCODE_TYP) return { message: `the header's typ is ${JSON.stringify(h.typ)?.slice(0, 40)}, not "${PASSCODE_TYP}"` };
  if (typeof h.kid !== 'string' || !KEY_ID_PATTERN.test(h.kid)) return { message: "the header's kid is not a key id (asc- and 16 hex digits)" };
  if (text !== headerJson(h.kid)) return { message: 'the header is not in canonical form' };
  return { kid: h.kid };
}

/**
 * Splits and checks a token; never throws. `knownHeaders` maps header parts already
 * known to be canonical to their key id (the verifier's fast path).
 */
export function parsePasscode(token: unknown, knownHeaders?: ReadonlyMap<string, string>): ParseResult {
  if (typeof token !== 'string') return fail('a passcode must be text');
  if (token.length > MAX_TOKEN_LENGTH) return fail(`the text is longer than ${MAX_TOKEN_LENGTH} characters`);
  const d1 = token.indexOf('.');
  const d2 = d1 < 0 ? -1 : token.indexOf('.', d1 + 1);
  if (d2 < 0) return fail('a passcode has three parts separated by dots');
  if (token.indexOf('.', d2 + 1) >= 0) return fail('a passcode has exactly three parts, this has more');
  const sigSeg = token.slice(d2 + 1);
  if (sigSeg.length !== SIGNATURE_CHARS) return fail(`the signature part has ${sigSeg.length} characters, not ${SIGNATURE_CHARS}`);
  const signature = decodeBase64urlStrict(sigSeg);
  if (!signature || signature.length !== 64) return fail('the signature part is not canonical base64url');
  const headerSeg = token.slice(0, d1);
  let kid = knownHeaders?.get(headerSeg);
  if (kid === undefined) {
    const header = readHeader(headerSeg);
    if ('message' in header) return fail(header.message);
    kid = header.kid;
  }
  const payloadBytes = decodeBase64urlStrict(token.slice(d1 + 1, d2));
  if (!payloadBytes) return fail('the terms part is not canonical base64url');
  const text = utf8(payloadBytes);
  if (text === undefined) return fail('the terms are not UTF-8');
  // The fast reader accepts exactly the canonical text; when it refuses, the slow path says why.
  const terms = readCanonicalTerms(text);
  if (terms === undefined) return fail(termsTextProblem(text) ?? 'the terms are not in canonical form');
  const problem = termsProblem(terms);
  if (problem !== undefined) return fail(`the terms are invalid: ${problem}`);
  return { ok: true, value: { header: { alg: PASSCODE_ALG, kid, typ: PASSCODE_TYP }, terms, headerSegment: headerSeg, signingInputLength: d2, signature } };
}

/**
 * Why a terms text is not acceptable, by the reference definition: it must be JSON whose
 * value termsProblem accepts and whose canonical form (serializeTerms) is the same text.
 * readCanonicalTerms is the fast equivalent (a test holds the two to agree).
 */
export function termsTextProblem(text: string): string | undefined {
  const parsed = json(text);
  if (!parsed) return 'the terms are not JSON';
  const problem = termsProblem(parsed.value);
  if (problem !== undefined) return `the terms are invalid: ${problem}`;
  if (serializeTerms(parsed.value as PasscodeTerms) !== text) return 'the terms are not in canonical form';
  return undefined;
}

/**
 * A passcode's header and terms WITHOUT checking its signature (for `passcode inspect`);
 * ASC_PASSCODE_MALFORMED when it does not parse strictly.
 */
export function decodePasscode(token: string): { header: PasscodeHeader; terms: PasscodeTerms } {
  const r = parsePasscode(token);
  if (!r.ok) throw new AscendError('ASC_PASSCODE_MALFORMED', `not a valid passcode: ${r.message}`);
  return { header: r.value.header, terms: r.value.terms };
}

/**
 * Signs terms into a passcode: compact JWS, alg EdDSA, the key's kid, typ PASSCODE_TYP,
 * over the UTF-8 bytes of serializeTerms(terms). ASC_PASSCODE_BAD_TERMS for invalid terms,
 * ASC_KEY_INVALID for a key jose will not sign with.
 */
export async function signPasscode(terms: PasscodeTerms, key: PasscodeSigningKey): Promise<string> {
  const problem = termsProblem(terms);
  if (problem !== undefined) throw new AscendError('ASC_PASSCODE_BAD_TERMS', problem);
  if (typeof key.kid !== 'string' || !KEY_ID_PATTERN.test(key.kid)) throw new AscendError('ASC_KEY_INVALID', `"${String(key.kid)}" is not a key id (asc- and 16 hex digits)`);
  const payload = new TextEncoder().encode(serializeTerms(terms));
  // Loaded when a passcode is signed: the agent, which only verifies (node:crypto), never loads jose.
  const { CompactSign } = await import('jose');
  let token: string;
  try {
    token = await new CompactSign(payload).setProtectedHeader({ alg: PASSCODE_ALG, kid: key.kid, typ: PASSCODE_TYP }).sign(key.privateKey);
  } catch (e) {
    throw new AscendError('ASC_KEY_INVALID', `the signing key cannot sign an EdDSA passcode: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (!token.startsWith(`${headerSegment(key.kid)}.`)) throw new AscendError('ASC_INTERNAL', 'jose wrote a passcode header other than the canonical one');
  return token;
}
