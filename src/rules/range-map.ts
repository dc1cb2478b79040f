/**
 * A read-only map from strings, looked up by a range of another string (text, start, end)
 * without cutting that range out: decide() looks up file names, folders, prefixes and
 * argument keys of a request's path and command line, and a slice per lookup would allocate
 * a string per lookup, per decision. Open addressing over an Int32Array of slots, at most
 * half full; a 24-bit multiplicative hash over the UTF-16 units. Only the policy's keys are stored (a request can
 * only look up), so the probe lengths are fixed once the map is built.
 */

const EMPTY = -1;

/**
 * A 24-bit hash (h * 33 + unit): every value, intermediate ones too, stays a small integer,
 * so not even unoptimised code boxes one (a 32-bit hash would allocate a number per step there).
 */
function hashRange(s: string, start: number, end: number): number {
  let h = 5381;
  for (let i = start; i < end; i++) h = ((h << 5) + h + s.charCodeAt(i)) & 0xffffff;
  return h;
}

function sameRange(key: string, text: string, start: number): boolean {
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) !== text.charCodeAt(start + i)) return false;
  return true;
}

export class RangeMap<V> {
  private readonly keyList: string[] = [];
  private readonly valueList: V[] = [];
  private readonly slots: Int32Array;
  private readonly mask: number;

  constructor(entries: Iterable<readonly [string, V]>) {
    const all = [...entries];
    let capacity = 8;
    while (capacity < all.length * 2) capacity *= 2;
    this.slots = new Int32Array(capacity).fill(EMPTY);
    this.mask = capacity - 1;
    for (const [key, value] of all) {
      if (this.get(key, 0, key.length) !== undefined) continue; // a Map's keys are unique already
      let h = hashRange(key, 0, key.length) & this.mask;
      while (this.slots[h] !== EMPTY) h = (h + 1) & this.mask;
      this.slots[h] = this.keyList.length;
      this.keyList.push(key);
      this.valueList.push(value);
    }
  }

  get size(): number {
    return this.keyList.length;
  }

  keys(): IterableIterator<string> {
    return this.keyList.values();
  }

  /** The value of the key equal to text[start, end), or undefined. */
  get(text: string, start: number, end: number): V | undefined {
    if (this.keyList.length === 0) return undefined;
    const length = end - start;
    let h = hashRange(text, start, end) & this.mask;
    for (;;) {
      const i = this.slots[h] as number;
      if (i === EMPTY) return undefined;
      const key = this.keyList[i] as string;
      if (key.length === length && sameRange(key, text, start)) return this.valueList[i];
      h = (h + 1) & this.mask;
    }
  }
}
