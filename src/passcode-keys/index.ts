/**
 * The I/O edge of TSE passcodes (DESIGN §5): signing keys in the OS keychain or a key file,
 * the key index and the issued-passcodes registry in the Ascend home, `.ascpass` export
 * files, trusted-keys files, and edits of the TSE policies in a Registry.pol or a GPO.
 * The pure core (terms, tokens, verification) is src/passcode.
 */
export { ascendHome, ensureAscendHome, defaultIssuer } from './home.js';
export { Keychain, KEYCHAIN_SERVICE } from './keychain.js';
export { createKeyFile, readKeyFile, signingKeyFromPem } from './key-file.js';
export { readKeyIndex, addToKeyIndex, pickKey, keyIndexPath, KEY_INDEX_FILE, type KeyRecord, type KeyStorage } from './key-index.js';
export { initSigningKey, loadSigningKey, selectPublicKeys, type InitKeyOptions, type KeySelection, type LoadedSigningKey } from './signing-keys.js';
export { formatTrustedKeys, parseTrustedKeys, readTrustedKeysFile, checkTrustedKey, checkKid, type TrustedKeyEntry, type TrustedKeysFile } from './trusted-keys.js';
export {
  formatAscpass,
  tokenFromAscpass,
  readAscpassText,
  writeAscpassFile,
  checkNewAscpassPath,
  passcodeSummary,
  durationText,
  ASCPASS_EXTENSION,
  ASCPASS_BEGIN,
  ASCPASS_END,
  ASCPASS_FIRST_LINE,
} from './ascpass.js';
export { appendIssued, readIssued, issuedRecord, issuedPath, tokenSha256, ISSUED_FILE, type IssuedPasscode } from './issued.js';
export {
  addTrustedKeys,
  removeTrustedKeys,
  revokePasscode,
  TSE_POLICY,
  REVOKED_POLICY,
  OFFLINE_POLICY,
  type TrustedKeysEdit,
  type RevokeEdit,
} from './tse-policy.js';
