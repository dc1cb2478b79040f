import { classifyValueName, decodeSz, isStringType, RegType, type PolEntry } from '../formats/registry-pol/index.js';

/** A value in the folded registry, with the file that wrote it. */
export interface FoldedValue {
  readonly name: string;
  readonly type: number;
  readonly data: Uint8Array;
  readonly source: string;
  /** Rises with every write, so the latest of several values is the one of highest precedence. */
  readonly seq: number;
}

/** A value some file deleted (`**del.`, `**delvals.`, `**DeleteValues`, `**DeleteKeys`). */
export interface Deletion {
  readonly source: string;
  readonly seq: number;
}

interface KeyState {
  readonly name: string;
  readonly values: Map<string, FoldedValue>; // by lower-case name, in write order
  readonly deleted: Map<string, Deletion>; // by lower-case name
  cleared?: Deletion; // the last `**delvals.` or `**DeleteKeys` that emptied the key
}

/** One Registry.pol in a fold, named by where it came from (a path, a GPO). */
export interface PolSource {
  readonly source: string;
  readonly entries: readonly PolEntry[];
}

/**
 * The registry Windows' registry client-side extension would leave after applying
 * Registry.pol files in precedence order, lowest first: later files overwrite earlier
 * ones, `**del.` / `**DeleteValues` remove values, `**delvals.` empties a key (so a
 * non-additive list of a higher GPO replaces a lower one's), `**DeleteKeys` removes
 * subkeys, `**soft.` writes only what is absent. It also remembers which file deleted
 * what, which is how Disabled is told apart from Not Configured after the fold.
 * Key and value names compare case-insensitively, as in the registry.
 */
export class VirtualRegistry {
  private readonly keys = new Map<string, KeyState>();
  private seq = 0;

  /** Applies one file's entries in order. */
  apply(entries: readonly PolEntry[], source: string): this {
    for (const entry of entries) this.applyEntry(entry, source);
    return this;
  }

  private applyEntry(entry: PolEntry, source: string): void {
    const meaning = classifyValueName(entry.valueName);
    const seq = ++this.seq;
    switch (meaning.kind) {
      case 'value':
        // An empty name with REG_NONE and no data only creates the key (MS-GPREG).
        if (meaning.name === '' && entry.type === RegType.REG_NONE && entry.data.byteLength === 0) this.keyState(entry.key);
        else this.setValue(entry.key, meaning.name, entry, source, seq);
        return;
      case 'soft': {
        const existing = this.keys.get(entry.key.toLowerCase())?.values.get(meaning.name.toLowerCase());
        if (!existing) this.setValue(entry.key, meaning.name, entry, source, seq);
        return;
      }
      case 'delete':
        this.deleteValue(entry.key, meaning.name, { source, seq });
        return;
      case 'deleteAll': {
        const state = this.keyState(entry.key);
        this.clearKey(state, { source, seq });
        return;
      }
      case 'deleteValues':
        for (const name of listInData(entry)) this.deleteValue(entry.key, name, { source, seq });
        return;
      case 'deleteKeys':
        for (const sub of listInData(entry)) this.deleteKeyTree(`${entry.key}\\${sub}`, { source, seq });
        return;
      case 'secureKey':
        return; // an ACL instruction: it changes no value
    }
  }

  private keyState(key: string): KeyState {
    const lower = key.toLowerCase();
    let state = this.keys.get(lower);
    if (!state) {
      state = { name: key, values: new Map(), deleted: new Map() };
      this.keys.set(lower, state);
    }
    return state;
  }

  private setValue(key: string, name: string, entry: PolEntry, source: string, seq: number): void {
    const state = this.keyState(key);
    const lower = name.toLowerCase();
    // Delete first so the map's order follows the latest write.
    state.values.delete(lower);
    state.values.set(lower, { name, type: entry.type, data: entry.data, source, seq });
    state.deleted.delete(lower);
  }

  private deleteValue(key: string, name: string, deletion: Deletion): void {
    const state = this.keyState(key);
    const lower = name.toLowerCase();
    state.values.delete(lower);
    state.deleted.set(lower, deletion);
  }

  private clearKey(state: KeyState, deletion: Deletion): void {
    for (const lower of state.values.keys()) state.deleted.set(lower, deletion);
    state.values.clear();
    state.cleared = deletion;
  }

  private deleteKeyTree(key: string, deletion: Deletion): void {
    const lower = key.toLowerCase();
    this.clearKey(this.keyState(key), deletion);
    for (const [k, state] of this.keys) {
      if (k.startsWith(`${lower}\\`)) this.clearKey(state, deletion);
    }
  }

  /** The value KEY\NAME, if the fold left one. */
  getValue(key: string, name: string): FoldedValue | undefined {
    return this.keys.get(key.toLowerCase())?.values.get(name.toLowerCase());
  }

  /** The deletion that removed KEY\NAME, if it is absent because a file deleted it. */
  getDeletion(key: string, name: string): Deletion | undefined {
    const state = this.keys.get(key.toLowerCase());
    if (!state || state.values.has(name.toLowerCase())) return undefined;
    return state.deleted.get(name.toLowerCase());
  }

  /** Every value of KEY, in the order they were last written. */
  values(key: string): FoldedValue[] {
    return [...(this.keys.get(key.toLowerCase())?.values.values() ?? [])];
  }

  /** The last `**delvals.` / `**DeleteKeys` that emptied KEY, if any. */
  keyClearedBy(key: string): Deletion | undefined {
    return this.keys.get(key.toLowerCase())?.cleared;
  }

  /** Every key that holds values, with its values: the registry as Windows would show it. */
  *entries(): IterableIterator<{ key: string; values: FoldedValue[] }> {
    for (const state of this.keys.values()) {
      if (state.values.size > 0) yield { key: state.name, values: [...state.values.values()] };
    }
  }
}

/** The `;`-separated names in the data of a `**DeleteValues` or `**DeleteKeys` entry. */
function listInData(entry: PolEntry): string[] {
  if (!isStringType(entry.type)) return [];
  return decodeSz(entry.data)
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Folds Registry.pol files given lowest precedence first (the order Windows applies GPOs). */
export function foldRegistryPol(files: readonly PolSource[]): VirtualRegistry {
  const registry = new VirtualRegistry();
  for (const file of files) registry.apply(file.entries, file.source);
  return registry;
}
