import fc from 'fast-check';
import { RegType, type PolEntry } from '../../src/formats/registry-pol/index.js';

/**
 * fast-check arbitraries for Registry.pol entries, shared by the property tests and the
 * Samba interop tests (not a test file itself: mocha's spec is *.test.ts).
 *
 * `polEntryArb` covers everything the format allows, lone surrogates included.
 * `sambaEntryArb` keeps to what Samba's NDR parser reads and writes back unchanged:
 * well-formed UTF-16 names, REG_SZ/REG_EXPAND_SZ as text + exactly one NUL, REG_NONE empty.
 */

/** One UTF-16 code unit other than NUL: lone surrogates (0xD800..0xDFFF) included. */
const anyUnit = fc.integer({ min: 1, max: 0xffff }).map((c) => String.fromCharCode(c));
/** One BMP character: any code unit other than NUL and the surrogates. */
const bmpChar = fc.oneof(fc.integer({ min: 1, max: 0xd7ff }), fc.integer({ min: 0xe000, max: 0xffff })).map((c) => String.fromCharCode(c));
/** A non-BMP character (a surrogate pair). */
const astral = fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c));
/** Characters a Registry.pol usually holds, weighted towards the delimiters. */
const plain = fc.constantFrom('S', 'o', 'f', 't', '\\', ';', ']', '[', '*', '.', ' ', 'é', '日', '%', '0', '*');

function nameOf(char: fc.Arbitrary<string>, maxLength: number): fc.Arbitrary<string> {
  return fc.array(char, { maxLength }).map((cs) => cs.join(''));
}

const anyNameChar = fc.oneof({ arbitrary: plain, weight: 4 }, { arbitrary: anyUnit, weight: 2 }, { arbitrary: astral, weight: 1 });
const wellFormedChar = fc.oneof({ arbitrary: plain, weight: 4 }, { arbitrary: bmpChar, weight: 2 }, { arbitrary: astral, weight: 1 });

/** A key or value name without NUL; may hold lone surrogates. */
export const polName = nameOf(anyNameChar, 20);
/** A key or value name without NUL, in well-formed UTF-16. */
export const wellFormedName = nameOf(wellFormedChar, 20);

function utf16Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[2 * i] = c & 0xff;
    out[2 * i + 1] = c >> 8;
  }
  return out;
}

/** Bytes of random UTF-16 code units (NULs included: string data may hold several). */
const utf16Data = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 24 }).map((units) => utf16Bytes(String.fromCharCode(...units)));

/** Types the codec checks the size of. */
const CHECKED = new Set<number>([RegType.REG_SZ, RegType.REG_EXPAND_SZ, RegType.REG_MULTI_SZ, RegType.REG_DWORD, RegType.REG_DWORD_BIG_ENDIAN, RegType.REG_QWORD]);

const dwordData = fc.record({ type: fc.constantFrom(RegType.REG_DWORD, RegType.REG_DWORD_BIG_ENDIAN), data: fc.uint8Array({ minLength: 4, maxLength: 4 }) });
const qwordData = fc.record({ type: fc.constant(RegType.REG_QWORD), data: fc.uint8Array({ minLength: 8, maxLength: 8 }) });
const blobData = fc.record({ type: fc.constantFrom(RegType.REG_BINARY, RegType.REG_LINK, RegType.REG_RESOURCE_LIST, RegType.REG_FULL_RESOURCE_DESCRIPTOR), data: fc.uint8Array({ maxLength: 40 }) });
const unknownTypeData = fc.record({ type: fc.nat({ max: 0xffffffff }).filter((t) => !CHECKED.has(t) && t !== RegType.REG_NONE), data: fc.uint8Array({ maxLength: 12 }) });

/** A type with data of a size the format allows for it. */
export const typedData: fc.Arbitrary<{ type: number; data: Uint8Array }> = fc.oneof(
  fc.record({ type: fc.constantFrom(RegType.REG_SZ, RegType.REG_EXPAND_SZ, RegType.REG_MULTI_SZ), data: utf16Data }),
  dwordData,
  qwordData,
  fc.record({ type: fc.constant(RegType.REG_NONE), data: fc.uint8Array({ maxLength: 6 }) }),
  blobData,
  unknownTypeData,
);

/** Typed data in the one form Samba reads and writes back unchanged. */
export const sambaTypedData: fc.Arbitrary<{ type: number; data: Uint8Array }> = fc.oneof(
  // Samba decodes REG_SZ / REG_EXPAND_SZ to text up to the first NUL and writes text + one NUL.
  fc.record({ type: fc.constantFrom(RegType.REG_SZ, RegType.REG_EXPAND_SZ), data: wellFormedName.map((s) => utf16Bytes(s + '\0')) }),
  // REG_MULTI_SZ is a blob to Samba: any even bytes.
  fc.record({ type: fc.constant(RegType.REG_MULTI_SZ), data: utf16Data }),
  fc.record({ type: fc.constant(RegType.REG_MULTI_SZ), data: fc.array(wellFormedName.filter((s) => s.length > 0), { maxLength: 4 }).map((xs) => utf16Bytes(xs.map((x) => x + '\0').join('') + '\0')) }),
  dwordData,
  qwordData,
  // REG_NONE: Samba keeps no data at all.
  fc.constant({ type: RegType.REG_NONE, data: new Uint8Array(0) }),
  blobData,
  unknownTypeData,
);

export const polEntryArb: fc.Arbitrary<PolEntry> = fc
  .record({ key: polName, valueName: polName, td: typedData })
  .map(({ key, valueName, td }) => ({ key, valueName, type: td.type, data: td.data }));

export const sambaEntryArb: fc.Arbitrary<PolEntry> = fc
  .record({ key: wellFormedName, valueName: wellFormedName, td: sambaTypedData })
  .map(({ key, valueName, td }) => ({ key, valueName, type: td.type, data: td.data }));
