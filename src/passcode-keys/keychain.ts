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

/**
 * What a keychain failure means for the user, in words: the library's text is a D-Bus or
 * platform message ("Platform failure: DBus error: Using X11 for dbus-daemon autolaunch was
 * disabled ...") that names no cause a new admin knows. The raw text is shown only with
 * ASCEND_DEBUG=1.
 */
export function keychainProblem(raw: string, env: NodeJS.ProcessEnv = process.env): string {
  let plain: string;
  if (/DBUS_SESSION_BUS_ADDRESS|autolaunch|Failed to connect to socket|Could not connect|No such file or directory|Connection refused/i.test(raw)) {
    plain = 'no D-Bus session bus (not a desktop session, e.g. ssh or a server)';
  } else if (/org\.freedesktop\.secrets|ServiceUnknown|was not provided by any \.service files/i.test(raw)) {
    plain = 'no Secret Service (such as gnome-keyring) runs on the session bus';
  } else if (/locked|dismissed|prompt|no result found/i.test(raw)) {
    plain = 'the keychain is locked, or has no default keyring to store into';
  } else {
    plain = 'the OS keychain did not answer';
  }
  return env.ASCEND_DEBUG === '1' ? `${plain}: ${raw}` : plain;
}

/** The one hint for every keychain failure: what to do instead. */
export const KEYCHAIN_HINT = 'start and unlock a Secret Service such as gnome-keyring, or keep the key in a file (mode 600) instead: --key-file FILE';

function unavailable(e: unknown, what: string): AscendError {
  return new AscendError('ASC_KEYCHAIN_UNAVAILABLE', `the OS keychain could not ${what}: ${keychainProblem(reason(e))}`, { hint: KEYCHAIN_HINT });
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
