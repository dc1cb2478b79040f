/**
 * Temporary Session Elevation passcodes, the pure core (DESIGN §5): what a passcode says
 * (terms), Ed25519 keys in memory, signing (jose), strict decoding, and the offline check
 * an agent runs. No I/O here: key storage, export files and GPO publishing build on this.
 */
export { WINDOWS_PRIVILEGES, canonicalPrivilege, isWindowsPrivilege } from './privileges.js';
export { matchPattern, matchesAny, looksLikeSid, isSidText } from './pattern.js';
export {
  buildTerms,
  serializeTerms,
  termsProblem,
  parseDuration,
  parseHours,
  parseWeekdays,
  parseUtcOffset,
  parseInstant,
  isoSeconds,
  BUILTIN_ADMINISTRATORS_SID,
  DEFAULT_INTEGRITY,
  INTEGRITY_LEVELS,
  PASSCODE_TERMS_VERSION,
  TERMS_LIMITS,
  type IntegrityLevel,
  type NewPasscodeInput,
  type PasscodeTerms,
} from './terms.js';
export {
  generateSigningKeyPair,
  importSigningKey,
  keyIdOf,
  parsePublicKey,
  publicKeyOf,
  publicKeyText,
  KEY_ID_PATTERN,
  type PasscodeSigningKey,
  type TrustedKey,
} from './keys.js';
export {
  PASSCODE_TYP,
  PASSCODE_ALG,
  MAX_TOKEN_LENGTH,
  decodePasscode,
  decodeBase64urlStrict,
  headerJson,
  headerSegment,
  parsePasscode,
  signPasscode,
  termsTextProblem,
  type ParsedPasscode,
  type ParseResult,
  type PasscodeHeader,
} from './token.js';
export {
  PasscodeVerifier,
  checkPasscode,
  outsideHours,
  sessionTerms,
  REFUSAL_REASONS,
  REFUSAL_EXPLANATIONS,
  type CheckContext,
  type CheckResult,
  type KeyProblem,
  type PasscodePolicy,
  type RefusalReason,
  type SessionTerms,
  utcOffsetText,
} from './verify.js';
export { readCanonicalTerms } from './canonical.js';
export { passcodePolicyFromEffective, policyForTrustedKeys, TSE_POLICY_ID, OFFLINE_POLICY_ID, REVOKED_POLICY_ID } from './policy.js';
