import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AscendError, isAscendError } from '../errors.js';
import { replaceFileAtomically } from '../atomic-file.js';
import { requirePolicy, type ElementValues, type PolicyCatalog, type PolicyState } from '../catalog/index.js';
import { DEFAULT_MAX_POL_BYTES, readRegistryPol, writeRegistryPol, type PolEntry } from '../formats/registry-pol/index.js';
import { applyPolicyState, checkState, resolveEnabledValues, resolveEffectivePolicies, type EffectivePolicy } from '../policy/index.js';

/** Reads and parses a Registry.pol file; errors name the file and the byte offset. */
export async function readPolFile(file: string, maxBytes = DEFAULT_MAX_POL_BYTES): Promise<PolEntry[]> {
  const stat = await statFile(file);
  if (!stat) throw new AscendError('ASC_FILE_NOT_FOUND', `${file}: no such file`);
  if (!stat.isFile()) throw new AscendError('ASC_FILE_UNREADABLE', `${file}: not a regular file`);
  if (stat.size > maxBytes) throw new AscendError('ASC_POL_TOO_LARGE', `${file}: ${stat.size} bytes is over the ${maxBytes}-byte cap for a Registry.pol`);
  const bytes = await fs.readFile(file).catch((e: NodeJS.ErrnoException) => {
    throw new AscendError('ASC_FILE_UNREADABLE', `${file}: cannot read (${e.code ?? e.message})`);
  });
  try {
    return readRegistryPol(bytes, { maxBytes });
  } catch (e) {
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
}

/**
 * Sets one policy's state in a local Registry.pol as GPMC would in a GPO, creating the
 * file when it is missing. Nothing is written when the input is refused.
 */
export async function setPolicyInFile(catalog: PolicyCatalog, file: string, policyId: string, stateText: string, values: ElementValues): Promise<SetPolicyResult> {
  const policy = requirePolicy(catalog, policyId);
  const state = checkState(stateText);
  const existing = await statFile(file);
  if (existing && !existing.isFile()) throw new AscendError('ASC_FILE_UNREADABLE', `${file}: not a regular file`);
  if (!existing) {
    const parent = await statFile(path.dirname(path.resolve(file)));
    if (!parent?.isDirectory()) throw new AscendError('ASC_FILE_NOT_FOUND', `${file}: folder ${path.dirname(file)} does not exist`);
  }
  const before = existing ? await readPolFile(file) : [];
  const after = applyPolicyState(before, policy, state, values);
  await writeFileAtomic(file, writeRegistryPol(after));
  return {
    file,
    policy: policy.id,
    state,
    values: state === 'enabled' ? resolveEnabledValues(policy, values) : {},
    created: !existing,
    entries: after.length,
  };
}

/** The effective settings of local Registry.pol files given lowest precedence first. */
export async function effectiveFromFiles(catalog: PolicyCatalog, files: readonly string[]): Promise<EffectivePolicy[]> {
  const sources = [];
  for (const file of files) sources.push({ source: file, entries: await readPolFile(file) });
  return resolveEffectivePolicies(catalog, sources);
}
