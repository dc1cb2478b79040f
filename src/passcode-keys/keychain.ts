import { Entry, type EntryOptions } from '@napi-rs/keyring';
import { AscendError } from '../errors.js';

/** The keychain service name under which signing keys are stored; the account is the key id. */
export const KEYCHAIN_SERVICE = 'ascend-tse-signing';
const PROBE_ACCOUNT = 'ascend-probe';

/**
 * On Linux the keyring library would fall back to the kernel keyring, which forgets
 * everything at logout: a signing key must persist, so only the Secret Service counts.
 */
const ENTRY_OPTIONS: EntryOptions = { linux: { store: 'secret-service' } };

function reason(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0]?.trim() || 'unknown failure';
}

function unavailable(e: unknown, what: string): AscendError {
  return new AscendError('ASC_KEYCHAIN_UNAVAILABLE', `the OS keychain could not ${what}: ${reason(e)}`, {
    hint: 'start and unlock a keychain (on Linux a Secret Service such as gnome-keyring), or use --key-file FILE',
  });
}

/**
 * Private signing keys in the OS keychain (Secret Service on Linux, Keychain on macOS,
 * Credential Manager on Windows) through @napi-rs/keyring.
 */
export class Keychain {
  constructor(readonly service: string = KEYCHAIN_SERVICE) {}

  private entry(account: string): Entry {
    return new Entry(this.service, account, ENTRY_OPTIONS);
  }

  /** Whether a keychain answers: a read of an entry that does not exist succeeds. */
  probe(): { available: true } | { available: false; reason: string } {
    try {
      this.entry(PROBE_ACCOUNT).getPassword();
      return { available: true };
    } catch (e) {
      return { available: false, reason: reason(e) };
    }
  }

  /** Stores a private key; refuses to replace one stored under the same key id. */
  store(kid: string, privateKeyPem: string): void {
    let existing: string | null;
    try {
      existing = this.entry(kid).getPassword();
    } catch (e) {
      throw unavailable(e, 'be read');
    }
    if (existing !== null) throw new AscendError('ASC_FILE_EXISTS', `the keychain holds a key ${kid} already; it is not overwritten`);
    try {
      this.entry(kid).setPassword(privateKeyPem);
    } catch (e) {
      throw unavailable(e, 'store the key');
    }
  }

  /** The private key PEM stored for a key id, or undefined. */
  load(kid: string): string | undefined {
    try {
      return this.entry(kid).getPassword() ?? undefined;
    } catch (e) {
      throw unavailable(e, 'be read');
    }
  }

  /** Removes a stored key; false when there was none. */
  remove(kid: string): boolean {
    try {
      return this.entry(kid).deleteCredential();
    } catch (e) {
      throw unavailable(e, 'remove the key');
    }
  }
}
