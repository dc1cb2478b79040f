/**
 * Policy from local Registry.pol files (Linux agents outside a domain, and tests), folded in
 * the order given, lowest precedence first: with `--policy A --policy B`, B wins. Each file, and
 * every folder above it, must be one only root can change (root-only.ts), at start and at every
 * refresh: a file a user could write is refused, and the policy held stays. The file is read
 * by the one readPolFile (src/local-policy), through the descriptor the root-only check judged;
 * a missing or damaged file is an error naming it (and the codec's byte offset).
 */
import path from 'node:path';
import { AscendError } from '../../src/errors.js';
import { readPolFile } from '../../src/local-policy/index.js';
import type { PolSource } from '../../src/policy/index.js';
import { openRootOnlyFile } from './root-only.js';
import { makeSnapshot, type PolicySnapshot } from './snapshot.js';
import type { PolicySource } from './source.js';

export class LocalPolicyFiles implements PolicySource {
  readonly description: string;
  private readonly paths: string[];

  constructor(paths: readonly string[], private readonly now: () => number = Date.now) {
    if (paths.length === 0) throw new AscendError('ASC_AGENT_CONFIG', 'no policy file given', { hint: 'name at least one Registry.pol (--policy FILE)' });
    this.paths = paths.map((p) => path.resolve(p));
    this.description = `Registry.pol file${this.paths.length > 1 ? 's' : ''} ${this.paths.join(', ')}`;
  }

  async load(): Promise<PolicySnapshot> {
    const sources: PolSource[] = [];
    const labels: Record<string, string> = {};
    for (const file of this.paths) {
      sources.push({ source: file, entries: await readPolFile(file, { open: (f) => openRootOnlyFile(f, 'policy file') }) });
      labels[file] = file;
    }
    return makeSnapshot({ origin: 'local', sources, labels, fetchedAt: this.now(), problems: [] });
  }
}
