/**
 * The SYSVOL store (DESIGN section 4): how the admin side reads and writes a GPO's files.
 * Paths are arrays of segments under the sysvol share root, e.g.
 * ['corp.example.test', 'Policies', '{GUID}', 'Machine', 'Registry.pol']; every segment
 * goes through checkSegment before any I/O.
 */
import { AscendError } from '../../src/errors.js';

export interface SysvolStore {
  /** Where the store points, for messages ("/srv/sysvol", "smb://dc1/sysvol"); never credentials. */
  readonly description: string;
  /** The file's bytes, or undefined when it (or a folder above it) does not exist. */
  read(path: readonly string[]): Promise<Uint8Array | undefined>;
  /** Replaces the file atomically: written under a temporary name in the same folder, then renamed over. The folder must exist. */
  write(path: readonly string[], data: Uint8Array): Promise<void>;
  /** Creates the folder and any missing parents; a folder already there is fine. */
  mkdir(path: readonly string[]): Promise<void>;
  /** True when a file or folder is there. */
  exists(path: readonly string[]): Promise<boolean>;
  /** Removes a file, or a folder with everything in it; nothing there is fine. */
  removeTree(path: readonly string[]): Promise<void>;
  /** The names in a folder (files and folders, without "." and ".."), sorted. */
  list(path: readonly string[]): Promise<string[]>;
}

/**
 * Characters no SYSVOL name may hold: separators, the stream/drive colon, NUL and other
 * control characters, and the rest of what Windows forbids in file names (which also
 * keeps wildcards and quotes away from smbclient's command line).
 */
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f/\\:*?"<>|]/;

/** Returns the segment when it is a safe single SYSVOL name; otherwise throws ASC_SYSVOL_UNSAFE_PATH. */
export function checkSegment(s: string): string {
  if (typeof s !== 'string' || s === '' || s === '.' || s === '..' || FORBIDDEN.test(s)) {
    throw new AscendError('ASC_SYSVOL_UNSAFE_PATH', `unsafe SYSVOL path segment ${JSON.stringify(String(s))}: it must be one name without separators, ":", wildcards, quotes or control characters, and not "." or ".."`);
  }
  return s;
}

/** Checks every segment; `minLength` 1 refuses the share root itself. */
export function checkPath(path: readonly string[], minLength = 0): string[] {
  if (!Array.isArray(path)) throw new AscendError('ASC_SYSVOL_UNSAFE_PATH', 'a SYSVOL path must be an array of segments');
  const out = path.map((s) => checkSegment(s));
  if (out.length < minLength) throw new AscendError('ASC_SYSVOL_UNSAFE_PATH', 'this operation needs a path below the SYSVOL root, not the root itself');
  return out;
}

/** A random suffix for temporary file names. */
export function tempName(name: string, random: string): string {
  return `.${name}.ascend-${random}.tmp`;
}
