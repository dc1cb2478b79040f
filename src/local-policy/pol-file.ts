import { constants as fsc, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { AscendError, isAscendError } from '../errors.js';
import { replaceFileAtomically } from '../atomic-file.js';
import { requirePolicy, type ElementValues, type PolicyCatalog, type PolicyState } from '../catalog/index.js';
import { DEFAULT_MAX_POL_BYTES, readRegistryPol, writeRegistryPol, type PolEntry } from '../formats/registry-pol/index.js';
import { applyPolicyState, checkState, foldRegistryPol, readPolicyState, resolveEnabledValues, resolveEffectivePolicies, startingValues, type EffectivePolicy, type ValueBase } from '../policy/index.js';

export interface ReadPolOptions {
  /** The size cap (default the codec's DEFAULT_MAX_POL_BYTES), checked before anything is read. */
  maxBytes?: number;
  /**
   * Opens the file for reading; the agent passes its root-only opener (agent/policy/root-only.ts).
   * An AscendError it throws passes through as it is. Default: read-only and non-blocking, so a
   * FIFO put in the file's place is refused rather than waited on.
   */
  open?: (file: string) => Promise<FileHandle>;
}

/**
 * Reads and parses a Registry.pol file, through the one descriptor that was opened and
 * judged a regular file within the size cap. Errors name the file (and the codec's byte
 * offset): ASC_FILE_NOT_FOUND, ASC_FILE_UNREADABLE, ASC_POL_TOO_LARGE, the codec's ASC_POL_*.
 */
export async function readPolFile(file: string, options: ReadPolOptions = {}): Promise<PolEntry[]> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_POL_BYTES;
  const open = options.open ?? ((f: string) => fs.open(f, fsc.O_RDONLY | fsc.O_NONBLOCK));
  const cannotRead = (e: unknown): AscendError => {
    if (isAscendError(e)) return e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return new AscendError('ASC_FILE_NOT_FOUND', `${file}: no such file`);
    return new AscendError('ASC_FILE_UNREADABLE', `${file}: cannot read (${code ?? (e as Error).message ?? String(e)})`);
  };
  let bytes: Buffer;
  const handle = await open(file).catch((e: unknown) => Promise.reject(cannotRead(e)));
  try {
    const stat = await handle.stat().catch((e: unknown) => Promise.reject(cannotRead(e)));
    if (!stat.isFile()) throw new AscendError('ASC_FILE_UNREADABLE', `${file}: not a regular file`);
    if (stat.size > maxBytes) throw new AscendError('ASC_POL_TOO_LARGE', `${file}: ${stat.size} bytes is over the ${maxBytes}-byte cap for a Registry.pol`);
    bytes = await handle.readFile().catch((e: unknown) => Promise.reject(cannotRead(e)));
  } finally {
    await handle.close().catch(() => undefined);
  }
  try {
    return readRegistryPol(bytes, { maxBytes });
  } catch (e) {
    // The codec's message carries the byte offset ("... at byte N (expected ...)").
    if (isAscendError(e)) throw new AscendError(e.code, `${file}: ${e.message}`, { cause: e });
    throw e;
  }
}

async function statFile(file: string): Promise<import('node:fs').Stats | undefined> {
  try {
    return await fs.stat(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AscendError('ASC_FILE_UNREADABLE', `${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/** Replaces a file atomically (see replaceFileAtomically); failures are one-line ASC_FILE_UNREADABLE errors. */
export async function writeFileAtomic(file: string, bytes: Uint8Array, mode = 0o644): Promise<void> {
  try {
    await replaceFileAtomically(file, bytes, mode);
  } catch (e) {
    throw new AscendError('ASC_FILE_UNREADABLE', `${file}: cannot write (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

export interface SetPolicyResult {
  file: string;
  policy: string;
  state: PolicyState;
  values: Record<string, unknown>;
  created: boolean;
  entries: number;
  /** Elements not given whose value the Enabled policy had and keeps (base `current`). */
  kept: string[];
}

/**
 * Sets one policy's state in a local Registry.pol as GPMC would in a GPO, creating the
 * file when it is missing. Nothing is written when the input is refused. With `base:
 * 'current'` an Enabled policy keeps the values not given (see startingValues); the
 * default takes only the values given and the element defaults.
 */
export async function setPolicyInFile(
  catalog: PolicyCatalog,
  file: string,
  policyId: string,
  stateText: string,
  given: ElementValues,
  options: { base?: ValueBase } = {},
): Promise<SetPolicyResult> {
  const policy = requirePolicy(catalog, policyId);
  const state = checkState(stateText);
  const existing = await statFile(file);
  if (existing && !existing.isFile()) throw new AscendError('ASC_FILE_UNREADABLE', `${file}: not a regular file`);
  if (!existing) {
    const parent = await statFile(path.dirname(path.resolve(file)));
    if (!parent?.isDirectory()) throw new AscendError('ASC_FILE_NOT_FOUND', `${file}: folder ${path.dirname(file)} does not exist`);
  }
  const before = existing ? await readPolFile(file) : [];
  const current = readPolicyState(foldRegistryPol([{ source: file, entries: before }]), policy);
  const { values, kept } = state === 'enabled' ? startingValues(policy, current, given, options.base ?? 'defaults') : { values: given, kept: [] };
  const resolved = state === 'enabled' ? resolveEnabledValues(policy, values, kept) : {};
  const after = applyPolicyState(before, policy, state, values);
  await writeFileAtomic(file, writeRegistryPol(after));
  return { file, policy: policy.id, state, values: resolved, created: !existing, entries: after.length, kept };
}

/** The effective settings of local Registry.pol files given lowest precedence first. */
export async function effectiveFromFiles(catalog: PolicyCatalog, files: readonly string[]): Promise<EffectivePolicy[]> {
  const sources = [];
  for (const file of files) sources.push({ source: file, entries: await readPolFile(file) });
  return resolveEffectivePolicies(catalog, sources);
}
