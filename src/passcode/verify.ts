/**
 * Offline passcode validation: the agent's (and `ascend passcode check`'s) verdict on a
 * token, from the policy Group Policy delivered and what the machine knows (its name, the
 * user, the time, how often this passcode was used here). Pure and synchronous: no I/O.
 *
 * Signatures are verified with node:crypto.verify (Ed25519, one-shot, synchronous) over
 * the exact signing input, after the strict parse of token.ts. jose's compactVerify goes
 * through WebCrypto, which is asynchronous and measured at about half the bare verify rate
 * (see bench/passcode.bench.ts); jose still signs and the parse is at least as strict.
 */
import { verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { matchesAny } from './pattern.js';
import { keyIdOf, parsePublicKey, type TrustedKey } from './keys.js';
import { headerSegment, parsePasscode } from './token.js';
import { BUILTIN_ADMINISTRATORS_SID, INTEGRITY_LEVELS, isoSeconds, type PasscodeTerms } from './terms.js';

export type RefusalReason =
  | 'malformed'
  | 'bad-signature'
  | 'unknown-key'
  | 'revoked'
  | 'not-yet-valid'
  | 'expired'
  | 'wrong-computer'
  | 'wrong-user'
  | 'outside-hours'
  | 'uses-exhausted'
  | 'tse-disabled'
  | 'offline-not-allowed';

/** One line each, for docs and --help. */
export const REFUSAL_EXPLANATIONS: Readonly<Record<RefusalReason, string>> = Object.freeze({
  'malformed': 'The text is not a passcode: not three canonical base64url parts, a header other than EdDSA/kid/typ, or terms that do not parse.',
  'unknown-key': "The passcode was signed by a key this machine's policy does not trust (TSE Trusted signing keys).",
  'bad-signature': 'The signature does not match the passcode: it was altered, or signed by another key under a trusted key id.',
  'revoked': 'The passcode id is on the Revoked passcodes list of an applying GPO.',
  'tse-disabled': 'Instant On Demand Privilege Elevation (TSE) is not Enabled in the effective policy (so, when it is Disabled, no key is trusted either).',
  'offline-not-allowed': 'The client deployment setting "Enable clients to use offline passcodes" is not Enabled.',
  'not-yet-valid': "The passcode's activation window has not started (now < not-before).",
  'expired': "The passcode's activation window is over (now > not-after).",
  'wrong-computer': "This computer's name or SID matches none of the passcode's computer patterns.",
  'wrong-user': "The user's name or SIDs match none of the passcode's user patterns.",
  'outside-hours': 'Now is outside the weekdays or hours the passcode allows (in its zone, or the machine\'s).',
  'uses-exhausted': 'The passcode was used its maximum allowed number of times on this machine.',
});

/**
 * Every reason, in the order the checks run (see PasscodeVerifier.check): authenticity
 * first, then policy, then the passcode's own limits.
 */
export const REFUSAL_REASONS: readonly RefusalReason[] = Object.freeze([
  'malformed',
  'unknown-key',
  'bad-signature',
  'revoked',
  'tse-disabled',
  'offline-not-allowed',
  'not-yet-valid',
  'expired',
  'wrong-computer',
  'wrong-user',
  'outside-hours',
  'uses-exhausted',
] as RefusalReason[]);

/** What the effective policy says about passcodes (see passcodePolicyFromEffective). */
export interface PasscodePolicy {
  /** Instant On Demand Privilege Elevation is Enabled. */
  tseEnabled: boolean;
  /** "Enable clients to use offline passcodes" is Enabled. */
  offlineAllowed: boolean;
  trustedKeys: TrustedKey[];
  /** Revoked passcode ids (compared case-insensitively, as registry value names are). */
  revoked: ReadonlySet<string>;
  /** TSE Groups (SIDs); used when a passcode names none. */
  groups: string[];
  /** TSE Privileges; used when a passcode names none. */
  privileges: string[];
  /** TSE integrity level: the highest a session gets. */
  integrity: string;
  /** 0 = as the passcode says; otherwise the longest session. */
  maxSessionMinutes: number;
}

export interface CheckContext {
  /** This computer's name (NetBIOS or DNS; a pattern without a dot also matches the first label). */
  computer: string;
  computerSids?: string[];
  /** The user, "DOMAIN\\name" or "name" (a pattern without a backslash also matches the part after it). */
  user: string;
  /** The user's SID and group SIDs, for SID patterns. */
  userSids?: string[];
  at: Date;
  /** This machine's zone at `at`, minutes EAST of UTC (+120 for CEST; note Date#getTimezoneOffset has the opposite sign). */
  utcOffsetMinutes: number;
  /** How often this passcode was used on this machine before this use. */
  usesSoFar: number;
  policy: PasscodePolicy;
}

export interface SessionTerms {
  groups: string[];
  privileges: string[];
  integrity: string;
  durationSeconds: number;
  endProcesses: boolean;
  /** Uses left after this one. */
  usesLeft: number;
}

export type CheckResult =
  | { ok: true; terms: PasscodeTerms; kid: string; session: SessionTerms }
  /** `terms` only once the signature is verified (so forged terms are never shown as the passcode's). */
  | { ok: false; reason: RefusalReason; message: string; terms?: PasscodeTerms };

/** A trusted key the verifier could not use, and why (a policy mistake to report, not a crash). */
export interface KeyProblem {
  kid: string;
  problem: string;
}

interface CompiledKey {
  kid: string;
  publicKey: KeyObject;
}

const INTEGRITY_RANK = new Map<string, number>(INTEGRITY_LEVELS.map((l, i) => [l.toLowerCase(), i]));

function minutesOf(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** A UTC offset in minutes as "+HH:MM" / "-HH:MM". */
export function utcOffsetText(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** Where now falls in the passcode's weekdays and hours: undefined when allowed, else why not. */
export function outsideHours(terms: PasscodeTerms, nowSeconds: number, machineOffsetMinutes: number): string | undefined {
  if (terms.weekdays === undefined && terms.hours === undefined) return undefined;
  const offset = terms.utcOffsetMinutes ?? machineOffsetMinutes;
  const local = nowSeconds + offset * 60;
  const day = Math.floor(local / 86_400);
  const weekday = (((day + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
  const secondOfDay = local - day * 86_400;
  if (terms.weekdays !== undefined && !terms.weekdays.includes(weekday)) {
    return `it is ${DAY_NAMES[weekday]} (UTC${utcOffsetText(offset)}); the passcode allows ${terms.weekdays.map((d) => DAY_NAMES[d]?.slice(0, 3)).join(', ')}`;
  }
  if (terms.hours !== undefined) {
    const from = minutesOf(terms.hours.from) * 60;
    const to = minutesOf(terms.hours.to) * 60;
    const inside = from < to ? secondOfDay >= from && secondOfDay < to : secondOfDay >= from || secondOfDay < to;
    if (!inside) {
      const hh = String(Math.floor(secondOfDay / 3600)).padStart(2, '0');
      const mm = String(Math.floor((secondOfDay % 3600) / 60)).padStart(2, '0');
      return `it is ${hh}:${mm} (UTC${utcOffsetText(offset)}); the passcode allows ${terms.hours.from}-${terms.hours.to}`;
    }
  }
  return undefined;
}

/** The session a valid passcode opens under a policy (see the rules in the class comment). */
export function sessionTerms(terms: PasscodeTerms, policy: PasscodePolicy, usesSoFar: number): SessionTerms {
  const groups = terms.groups.length > 0 ? [...terms.groups] : policy.groups.length > 0 ? [...policy.groups] : [BUILTIN_ADMINISTRATORS_SID];
  const privileges = terms.privileges.length > 0 ? [...terms.privileges] : [...policy.privileges];
  const ceiling = INTEGRITY_RANK.get(policy.integrity.toLowerCase()) ?? INTEGRITY_RANK.get('high') ?? 1;
  const asked = INTEGRITY_RANK.get(terms.integrity.toLowerCase()) ?? 1;
  const integrity = INTEGRITY_LEVELS[Math.min(ceiling, asked)] ?? 'High';
  const cap = policy.maxSessionMinutes > 0 ? policy.maxSessionMinutes * 60 : Infinity;
  return {
    groups,
    privileges,
    integrity,
    durationSeconds: Math.min(terms.durationSeconds, cap),
    endProcesses: terms.endProcesses,
    usesLeft: terms.maxUses - usesSoFar - 1,
  };
}

/**
 * A verifier compiled for one policy: imports the trusted keys once; check() is the
 * synchronous hot path and never throws for any token.
 *
 * Check order - authenticity before anything the passcode says is believed, then the
 * machine's policy, then the passcode's own limits:
 *   1. malformed            strict parse of token.ts (parts, header, terms)
 *   2. unknown-key          the header's kid is not a trusted key (but tse-disabled when TSE is
 *                           not Enabled and so no key is trusted at all - the fold clears a
 *                           Disabled TSE's keys - since that, not the key, is what to fix;
 *                           nothing of the unverified passcode is believed either way)
 *   3. bad-signature        Ed25519 verify over header.payload fails
 *   4. revoked              the id is on the effective Revoked passcodes list
 *   5. tse-disabled         TSE is not Enabled
 *   6. offline-not-allowed  offline passcodes are not Enabled
 *   7. not-yet-valid        now < notBefore (to the second; now = floor(at))
 *   8. expired              now > notAfter  (the activation window, not the session)
 *   9. wrong-computer       no computer pattern matches
 *  10. wrong-user           no user pattern matches
 *  11. outside-hours        not an allowed weekday, or outside the hours
 *  12. uses-exhausted       usesSoFar >= maxUses
 *
 * Session: groups = the passcode's, else the policy's TSE Groups, else S-1-5-32-544;
 * privileges = the passcode's, else the policy's; integrity = the passcode's, at most the
 * policy's level; duration capped by MaxSessionMinutes when that is > 0;
 * usesLeft = maxUses - usesSoFar - 1.
 *
 * A trusted key whose id is not the one its public key gives, or whose public key does
 * not parse, is left out (listed in keyProblems) rather than failing every check.
 */
export class PasscodeVerifier {
  readonly policy: PasscodePolicy;
  readonly keyProblems: readonly KeyProblem[];
  private readonly keys = new Map<string, CompiledKey>();
  private readonly headers = new Map<string, string>();
  private readonly revoked: ReadonlySet<string>;

  constructor(policy: PasscodePolicy) {
    this.policy = policy;
    const problems: KeyProblem[] = [];
    for (const trusted of policy.trustedKeys) {
      const kid = String(trusted.kid).trim().toLowerCase();
      try {
        const publicKey = parsePublicKey(trusted.publicKey);
        const derived = keyIdOf(publicKey);
        if (derived !== kid) {
          problems.push({ kid: trusted.kid, problem: `the public key's id is ${derived}, not ${trusted.kid}` });
          continue;
        }
        this.keys.set(kid, { kid, publicKey });
        this.headers.set(headerSegment(kid), kid);
      } catch (e) {
        problems.push({ kid: trusted.kid, problem: e instanceof Error ? e.message : String(e) });
      }
    }
    this.keyProblems = problems;
    this.revoked = new Set([...policy.revoked].map((id) => id.toLowerCase()));
  }

  /** The key ids this verifier trusts. */
  get trustedKeyIds(): string[] {
    return [...this.keys.keys()];
  }

  check(token: string, ctx: Omit<CheckContext, 'policy'>): CheckResult {
    // 1. malformed (parsePasscode does not throw; the catch is a second line of defence)
    let parsed: ReturnType<typeof parsePasscode>;
    try {
      parsed = parsePasscode(token, this.headers);
    } catch {
      parsed = { ok: false, message: 'the passcode could not be read' };
    }
    if (!parsed.ok) return { ok: false, reason: 'malformed', message: `not a valid passcode: ${parsed.message}` };
    const { header, terms, signingInputLength, signature } = parsed.value;
    // 2. unknown-key
    const key = this.keys.get(header.kid);
    if (!key) {
      if (this.keys.size === 0 && !this.policy.tseEnabled) {
        return { ok: false, reason: 'tse-disabled', message: 'Temporary Session Elevation (Instant On Demand Privilege Elevation) is not enabled for this computer, so no passcode signing key is trusted' };
      }
      const hint = this.keys.size === 0 ? ' (the policy trusts no key)' : '';
      return { ok: false, reason: 'unknown-key', message: `passcode signed by key ${header.kid}, which this machine does not trust${hint}` };
    }
    // 3. bad-signature: the signing input is the token's text up to the second dot, ASCII after the parse.
    let good = false;
    try {
      good = cryptoVerify(null, Buffer.from(token.slice(0, signingInputLength), 'latin1'), key.publicKey, signature);
    } catch {
      good = false;
    }
    if (!good) return { ok: false, reason: 'bad-signature', message: `the signature does not match key ${key.kid}: the passcode was altered or not signed by that key` };
    return this.decide(terms, key.kid, ctx);
  }

  /** Steps 4-12 for terms whose signature is verified. */
  private decide(terms: PasscodeTerms, kid: string, ctx: Omit<CheckContext, 'policy'>): CheckResult {
    const policy = this.policy;
    if (this.revoked.has(terms.id.toLowerCase())) return refusal(terms, 'revoked', 'it has been revoked');
    if (!policy.tseEnabled) return refusal(terms, 'tse-disabled', 'Temporary Session Elevation (Instant On Demand Privilege Elevation) is not enabled for this computer');
    if (!policy.offlineAllowed) return refusal(terms, 'offline-not-allowed', 'offline passcodes are not enabled for this computer (Client Deployment: "Enable clients to use offline passcodes")');
    const atMs = ctx.at.getTime();
    const now = Math.floor(atMs / 1000);
    if (!Number.isFinite(atMs)) return refusal(terms, 'not-yet-valid', 'the time of the check is not a valid date');
    if (terms.notBefore !== undefined && now < terms.notBefore) return refusal(terms, 'not-yet-valid', `it is valid from ${isoSeconds(terms.notBefore)} (now ${isoSeconds(now)})`);
    if (terms.notAfter !== undefined && now > terms.notAfter) return refusal(terms, 'expired', `it was valid until ${isoSeconds(terms.notAfter)} (now ${isoSeconds(now)})`);
    if (!matchesAny(terms.computers, ctx.computer, ctx.computerSids, '.')) return refusal(terms, 'wrong-computer', `it is not for computer ${ctx.computer} (allowed: ${terms.computers.join(', ')})`);
    if (!matchesAny(terms.users, ctx.user, ctx.userSids, '\\')) return refusal(terms, 'wrong-user', `it is not for user ${ctx.user} (allowed: ${terms.users.join(', ')})`);
    const outside = outsideHours(terms, now, ctx.utcOffsetMinutes);
    if (outside !== undefined) return refusal(terms, 'outside-hours', outside);
    if (!Number.isSafeInteger(ctx.usesSoFar) || ctx.usesSoFar < 0) return refusal(terms, 'uses-exhausted', `the usage count ${String(ctx.usesSoFar)} is not valid`);
    if (ctx.usesSoFar >= terms.maxUses) return refusal(terms, 'uses-exhausted', `it was used ${ctx.usesSoFar} of ${terms.maxUses} allowed times`);
    return { ok: true, terms, kid, session: sessionTerms(terms, policy, ctx.usesSoFar) };
  }
}

function refusal(terms: PasscodeTerms, reason: RefusalReason, message: string): CheckResult {
  return { ok: false, reason, message: `passcode "${terms.title}" (${terms.id}): ${message}`, terms };
}

/** Convenience: compiles a verifier for ctx.policy and checks one token (use a PasscodeVerifier for many). */
export function checkPasscode(token: string, ctx: CheckContext): CheckResult {
  const { policy, ...rest } = ctx;
  return new PasscodeVerifier(policy).check(token, rest);
}
