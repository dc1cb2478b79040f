import { expect } from 'chai';
import fc from 'fast-check';
import { readRegistryPol, RegistryPolError, writeRegistryPol, type PolEntry } from '../../src/formats/registry-pol/index.js';
import { polEntryArb, polName, typedData } from './registry-pol.arbitraries.js';

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

const entriesArb = fc.array(polEntryArb, { maxLength: 12 });

function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function plainEntry(e: PolEntry): { key: string; valueName: string; type: number; data: string } {
  return { key: e.key, valueName: e.valueName, type: e.type, data: hexOf(e.data) };
}

type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'u32'; at: number; value: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0x00, 0x3b, 0x5b, 0x5d, 0xff, 0x01) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 4 }) }),
  // overwrite 4 bytes with a 32-bit value: hits type and size fields with big or odd numbers
  fc.record({ kind: fc.constant('u32' as const), at: fc.nat(), value: fc.oneof(fc.nat({ max: 0xffffffff }), fc.integer({ min: 0, max: 16 })) }),
);

function mutate(src: Uint8Array, m: Mutation): Uint8Array {
  const n = src.length;
  const at = n === 0 ? 0 : m.at % (n + 1);
  switch (m.kind) {
    case 'truncate':
      return src.slice(0, at);
    case 'flip':
    case 'set': {
      const b = src.slice();
      if (n === 0) return b;
      const i = at % n;
      b[i] = m.kind === 'flip' ? b[i]! ^ m.xor : m.value;
      return b;
    }
    case 'insert': {
      const b = new Uint8Array(n + m.bytes.length);
      b.set(src.subarray(0, at), 0);
      b.set(m.bytes, at);
      b.set(src.subarray(at), at + m.bytes.length);
      return b;
    }
    case 'delete': {
      const end = Math.min(n, at + m.count);
      const b = new Uint8Array(n - (end - at));
      b.set(src.subarray(0, at), 0);
      b.set(src.subarray(end), at);
      return b;
    }
    case 'u32': {
      const b = src.slice();
      if (n < 4) return b;
      const i = at % (n - 3);
      new DataView(b.buffer).setUint32(i, m.value >>> 0, true);
      return b;
    }
  }
}

/** Reads possibly-corrupt bytes: any failure must be a RegistryPolError with an offset inside the file. */
function readOrError(bytes: Uint8Array): PolEntry[] | RegistryPolError {
  try {
    return readRegistryPol(bytes);
  } catch (e) {
    if (!(e instanceof RegistryPolError)) throw new Error(`not a RegistryPolError: ${String(e)} on ${hexOf(bytes)}`);
    expect(e.offset).to.be.within(0, bytes.length);
    expect(e.code).to.match(/^ASC_POL_/);
    return e;
  }
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

describe('Registry.pol codec (properties)', () => {
  it('write then read gives the same entries, and writing them again the same bytes', () => {
    fc.assert(
      fc.property(entriesArb, (entries) => {
        const bytes = writeRegistryPol(entries);
        const back = readRegistryPol(bytes);
        expect(back.map(plainEntry)).to.deep.equal(entries.map(plainEntry));
        expect(hexOf(writeRegistryPol(back))).to.equal(hexOf(bytes));
      }),
      { numRuns: 400 },
    );
  });

  it('keys repeating in runs, near-equal keys and long names: same entries, same bytes', () => {
    // Keys of equal length that differ in one unit (first, middle, last), a key that is a
    // prefix of another, the empty key, and names longer than the codec's short-name paths.
    const long = 'SOFTWARE\\Policies\\Ascend\\PrivilegeManager\\ElevationRules\\';
    const keys = fc.constantFrom('', 'K', 'L', 'KA', 'K\\A', 'K\\B', 'J\\A', 'K\\A\\', long + 'A', long + 'B', 'X' + long.slice(1) + 'A', long + 'A\\\u{1F600}', long + '\ud800');
    const name = fc.oneof(polName, fc.constantFrom('', 'x'.repeat(31), 'y'.repeat(32), 'z'.repeat(33), long, long + long));
    const entry = fc.record({ key: keys, valueName: name, td: typedData }).map(({ key, valueName, td }): PolEntry => ({ key, valueName, type: td.type, data: td.data }));
    const runs = fc.array(fc.tuple(entry, fc.integer({ min: 1, max: 4 })), { maxLength: 10 }).map((xs) => xs.flatMap(([e, n]) => Array.from({ length: n }, (_, i) => ({ ...e, valueName: i === 0 ? e.valueName : `${e.valueName}${i}` }))));
    fc.assert(
      fc.property(runs, (entries) => {
        const bytes = writeRegistryPol(entries);
        const back = readRegistryPol(bytes);
        expect(back.map(plainEntry)).to.deep.equal(entries.map(plainEntry));
        expect(hexOf(writeRegistryPol(back))).to.equal(hexOf(bytes));
      }),
      { numRuns: 400 },
    );
  });

  it('the written size is 8 + the sum of each record (24 bytes of framing + names + data)', () => {
    fc.assert(
      fc.property(entriesArb, (entries) => {
        const expected = entries.reduce((n, e) => n + 24 + 2 * (e.key.length + e.valueName.length) + e.data.length, 8);
        expect(writeRegistryPol(entries).length).to.equal(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('one corruption of a valid file: RegistryPolError or entries that write back to the same bytes', () => {
    const counts = { error: 0, ok: 0 };
    fc.assert(
      fc.property(entriesArb, mutationArb, (entries, m) => {
        const bad = mutate(writeRegistryPol(entries), m);
        const r = readOrError(bad);
        if (r instanceof RegistryPolError) counts.error++;
        else {
          counts.ok++;
          expect(hexOf(writeRegistryPol(r))).to.equal(hexOf(bad));
        }
      }),
      { numRuns: 1500 },
    );
    expect(counts.error).to.be.greaterThan(0);
  });

  it('several corruptions in a row: never anything but RegistryPolError', () => {
    fc.assert(
      fc.property(entriesArb, fc.array(mutationArb, { minLength: 2, maxLength: 6 }), (entries, ms) => {
        let bytes = writeRegistryPol(entries);
        for (const m of ms) bytes = mutate(bytes, m);
        const r = readOrError(bytes);
        if (!(r instanceof RegistryPolError)) expect(hexOf(writeRegistryPol(r))).to.equal(hexOf(bytes));
      }),
      { numRuns: 600 },
    );
  });

  it('truncating a valid file at every byte fails (except at record boundaries) with an offset inside it', () => {
    fc.assert(
      fc.property(fc.array(polEntryArb, { minLength: 1, maxLength: 4 }), (entries) => {
        const bytes = writeRegistryPol(entries);
        const boundaries = new Set<number>([8]);
        let n = 8;
        for (const e of entries) boundaries.add((n += writeRegistryPol([e]).length - 8));
        for (let cut = 0; cut < bytes.length; cut++) {
          const r = readOrError(bytes.subarray(0, cut));
          if (boundaries.has(cut)) expect(r).to.be.an('array');
          else expect(r, `cut ${cut}`).to.be.instanceOf(RegistryPolError);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('random bytes behind a valid header: RegistryPolError or a faithful read', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => {
        const bytes = new Uint8Array(8 + tail.length);
        bytes.set([0x50, 0x52, 0x65, 0x67, 1, 0, 0, 0]);
        bytes.set(tail, 8);
        const r = readOrError(bytes);
        if (!(r instanceof RegistryPolError)) expect(hexOf(writeRegistryPol(r))).to.equal(hexOf(bytes));
      }),
      { numRuns: 800 },
    );
  });

  it('random bytes that look like records (delimiters dense): never hangs, never a foreign error', () => {
    const tokens = fc.constantFrom('5b00', '3b00', '5d00', '0000', '4b00', '0100', '0400', '0800', '0200', 'ff', '00');
    fc.assert(
      fc.property(fc.array(tokens, { maxLength: 80 }), (parts) => {
        const bytes = Buffer.from('5052656701000000' + parts.join(''), 'hex');
        readOrError(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      }),
      { numRuns: 800 },
    );
  });
});
