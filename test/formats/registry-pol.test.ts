import { expect } from 'chai';
import {
  classifyValueName,
  dataToJson,
  decodeDword,
  decodeMultiSz,
  decodeQword,
  decodeSz,
  DEFAULT_MAX_POL_BYTES,
  encodeDword,
  encodeMultiSz,
  encodeQword,
  encodeSz,
  entryToJson,
  isStringType,
  polEntry,
  readRegistryPol,
  RegistryPolError,
  RegistryPolReader,
  RegistryPolWriter,
  RegType,
  regTypeFromName,
  regTypeName,
  toHex,
  writeRegistryPol,
  type PolEntry,
} from '../../src/formats/registry-pol/index.js';
import type { ErrorCode } from '../../src/errors.js';

// ---------------------------------------------------------------------------------------
// Byte builders written from MS-GPREG 2.2.1, independent of the codec under test:
//   header  = "PReg" (50 52 65 67) + version 1 as uint32 LE
//   entry   = '[' key NUL ';' valueName NUL ';' type ';' size ';' data ']'
// where every delimiter and character is one UTF-16LE code unit, and type/size are uint32 LE.
// ---------------------------------------------------------------------------------------

/** Bytes from a hex string; spaces and newlines are ignored. */
function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  if (clean.length % 2 !== 0) throw new Error(`odd hex: ${s}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function hexOf(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Hex of a string's UTF-16 code units, little-endian, no terminator. */
function u16(s: string): string {
  let h = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h += (c & 0xff).toString(16).padStart(2, '0') + (c >> 8).toString(16).padStart(2, '0');
  }
  return h;
}

/** Hex of a uint32, little-endian. */
function u32(n: number): string {
  let h = '';
  for (let i = 0; i < 4; i++) h += ((n >>> (8 * i)) & 0xff).toString(16).padStart(2, '0');
  return h;
}

const HEADER = '50526567' + '01000000';
const OPEN = '5b00';
const SEMI = '3b00';
const CLOSE = '5d00';
const NUL = '0000';

/** One record as hex; `size` defaults to the data's real length. */
function rec(key: string, value: string, type: number, dataHex: string, size = dataHex.length / 2): string {
  return OPEN + u16(key) + NUL + SEMI + u16(value) + NUL + SEMI + u32(type) + SEMI + u32(size) + SEMI + dataHex + CLOSE;
}

function file(...records: string[]): Uint8Array {
  return hex(HEADER + records.join(''));
}

/** Runs fn and checks it throws a RegistryPolError with this code and offset. */
function expectPolError(fn: () => unknown, code: ErrorCode, offset: number): RegistryPolError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected ${code}`).to.be.instanceOf(RegistryPolError);
  const err = thrown as RegistryPolError;
  expect(err.code, err.message).to.equal(code);
  expect(err.offset, err.message).to.equal(offset);
  expect(err.expected).to.be.a('string').and.not.equal('');
  expect(err.name).to.equal('RegistryPolError');
  if (offset >= 0) expect(err.message).to.contain(`at byte ${offset}`);
  return err;
}

function only(entries: PolEntry[]): PolEntry {
  expect(entries).to.have.length(1);
  return entries[0]!;
}

const KEY = 'SOFTWARE\\Policies\\Ascend\\PrivilegeManager';

describe('Registry.pol codec (MS-GPREG byte literals)', () => {
  describe('header', () => {
    it('reads a header-only file as no entries', () => {
      expect(readRegistryPol(hex('50 52 65 67 01 00 00 00'))).to.deep.equal([]);
    });

    it('writes no entries as exactly the 8-byte header', () => {
      expect(hexOf(writeRegistryPol([]))).to.equal('5052656701000000');
    });

    it('readHeader then readEntry walks the file one entry at a time', () => {
      const r = new RegistryPolReader(file(rec('A', 'x', RegType.REG_DWORD, '01000000'), rec('B', 'y', RegType.REG_DWORD, '02000000')));
      r.readHeader();
      expect(r.readEntry()?.key).to.equal('A');
      expect(r.readEntry()?.key).to.equal('B');
      expect(r.readEntry()).to.equal(undefined);
      expect(r.readEntry()).to.equal(undefined);
    });

    it('accepts a Uint8Array view with a non-zero byteOffset', () => {
      const inner = file(rec('K', 'v', RegType.REG_DWORD, '2a000000'));
      const backing = new Uint8Array(inner.length + 7);
      backing.set(inner, 5);
      const view = backing.subarray(5, 5 + inner.length);
      const e = only(readRegistryPol(view));
      expect(decodeDword(e.data)).to.equal(42);
    });
  });

  describe('one entry of every type', () => {
    const cases: { name: string; type: number; dataHex: string; json: unknown }[] = [
      { name: 'REG_NONE (empty)', type: RegType.REG_NONE, dataHex: '', json: '' },
      { name: 'REG_NONE (with bytes)', type: RegType.REG_NONE, dataHex: '0102', json: '0102' },
      { name: 'REG_SZ', type: RegType.REG_SZ, dataHex: u16('C:\\Tools') + NUL, json: 'C:\\Tools' },
      { name: 'REG_SZ empty string', type: RegType.REG_SZ, dataHex: NUL, json: '' },
      { name: 'REG_EXPAND_SZ', type: RegType.REG_EXPAND_SZ, dataHex: u16('%ProgramFiles%\\Ascend') + NUL, json: '%ProgramFiles%\\Ascend' },
      { name: 'REG_BINARY', type: RegType.REG_BINARY, dataHex: '00ff10203b5d5b', json: '00ff10203b5d5b' },
      { name: 'REG_DWORD', type: RegType.REG_DWORD, dataHex: '531f0000', json: 8019 },
      { name: 'REG_DWORD_BIG_ENDIAN', type: RegType.REG_DWORD_BIG_ENDIAN, dataHex: '00001f53', json: 8019 },
      { name: 'REG_MULTI_SZ', type: RegType.REG_MULTI_SZ, dataHex: u16('one') + NUL + u16('two') + NUL + NUL, json: ['one', 'two'] },
      { name: 'REG_QWORD', type: RegType.REG_QWORD, dataHex: 'efcdab8967452301', json: '81985529216486895' },
      { name: 'unknown type 0x1234', type: 0x1234, dataHex: 'aabbcc', json: 'aabbcc' },
    ];

    for (const c of cases) {
      it(`${c.name}: reads the literal bytes and writes them back identically`, () => {
        const h = HEADER + rec(KEY, 'Value', c.type, c.dataHex);
        const bytes = hex(h);
        const e = only(readRegistryPol(bytes));
        expect(e.key).to.equal(KEY);
        expect(e.valueName).to.equal('Value');
        expect(e.type).to.equal(c.type);
        expect(hexOf(e.data)).to.equal(c.dataHex);
        expect(dataToJson(e.type, e.data)).to.deep.equal(c.json);
        expect(hexOf(writeRegistryPol([e]))).to.equal(h);
        expect(hexOf(writeRegistryPol([{ key: KEY, valueName: 'Value', type: c.type, data: hex(c.dataHex) }]))).to.equal(h);
      });
    }

    it('a complete REG_SZ entry, every byte spelled out', () => {
      // [ K NUL ; v NUL ; type=1 ; size=4 ; "x" NUL ]
      const bytes = hex(`
        50 52 65 67 01 00 00 00
        5b 00 4b 00 00 00 3b 00 76 00 00 00 3b 00
        01 00 00 00 3b 00 04 00 00 00 3b 00
        78 00 00 00 5d 00`);
      const e = only(readRegistryPol(bytes));
      expect(e).to.deep.include({ key: 'K', valueName: 'v', type: 1 });
      expect(decodeSz(e.data)).to.equal('x');
      expect(hexOf(writeRegistryPol([polEntry.sz('K', 'v', 'x')]))).to.equal(hexOf(bytes));
    });

    it('the polEntry shorthands give the literal bytes of each type', () => {
      const k = 'K';
      expect(hexOf(writeRegistryPol([polEntry.sz(k, 'a', 'hi')]))).to.equal(HEADER + rec(k, 'a', 1, '6800690000 00'.replace(/\s/g, '')));
      expect(hexOf(writeRegistryPol([polEntry.expandSz(k, 'a', '%x%')]))).to.equal(HEADER + rec(k, 'a', 2, '250078002500' + NUL));
      expect(hexOf(writeRegistryPol([polEntry.dword(k, 'a', 0xdeadbeef)]))).to.equal(HEADER + rec(k, 'a', 4, 'efbeadde'));
      expect(hexOf(writeRegistryPol([polEntry.qword(k, 'a', 0x0102030405060708n)]))).to.equal(HEADER + rec(k, 'a', 11, '0807060504030201'));
      expect(hexOf(writeRegistryPol([polEntry.multiSz(k, 'a', ['x', 'yz'])]))).to.equal(HEADER + rec(k, 'a', 7, '7800' + NUL + '79007a00' + NUL + NUL));
    });
  });

  describe('data is located by its declared size', () => {
    it("REG_SZ data containing ';' and ']' characters", () => {
      const data = u16('a;b]c];') + NUL;
      const bytes = file(rec(KEY, 'Semi', RegType.REG_SZ, data), rec(KEY, 'Next', RegType.REG_DWORD, '07000000'));
      const entries = readRegistryPol(bytes);
      expect(entries).to.have.length(2);
      expect(decodeSz(entries[0]!.data)).to.equal('a;b]c];');
      expect(entries[1]!.valueName).to.equal('Next');
      expect(decodeDword(entries[1]!.data)).to.equal(7);
      expect(hexOf(writeRegistryPol(entries))).to.equal(hexOf(bytes));
    });

    it("REG_BINARY data made of ';', ']' and '[' delimiter bytes, including whole UTF-16 delimiters", () => {
      const data = '3b005d005b00' + '5d00' + '3b' + '5d';
      const bytes = file(rec('K', 'b', RegType.REG_BINARY, data), rec('K', 'c', RegType.REG_NONE, ''));
      const entries = readRegistryPol(bytes);
      expect(entries).to.have.length(2);
      expect(hexOf(entries[0]!.data)).to.equal(data);
      expect(entries[1]!.valueName).to.equal('c');
      expect(hexOf(writeRegistryPol(entries))).to.equal(hexOf(bytes));
    });

    it('a DWORD whose bytes are "];" and a QWORD of "];];"', () => {
      const bytes = file(rec('K', 'd', RegType.REG_DWORD, '5d003b00'), rec('K', 'q', RegType.REG_QWORD, '5d003b005d003b00'));
      const [d, q] = readRegistryPol(bytes);
      expect(decodeDword(d!.data)).to.equal(0x003b005d);
      expect(decodeQword(q!.data)).to.equal(0x003b005d003b005dn);
    });

    it('MULTI_SZ items containing delimiters', () => {
      const data = u16('a;]') + NUL + u16('[b]') + NUL + NUL;
      const e = only(readRegistryPol(file(rec('K', 'm', RegType.REG_MULTI_SZ, data))));
      expect(decodeMultiSz(e.data)).to.deep.equal(['a;]', '[b]']);
    });

    it('keeps REG_SZ data without a terminator, or with extra NULs, byte for byte', () => {
      for (const data of [u16('ab'), u16('ab') + NUL + NUL, '', u16('a') + NUL + u16('b') + NUL]) {
        const bytes = file(rec('K', 's', RegType.REG_SZ, data));
        const e = only(readRegistryPol(bytes));
        expect(hexOf(e.data)).to.equal(data);
        expect(hexOf(writeRegistryPol([e]))).to.equal(hexOf(bytes));
      }
    });
  });

  describe('names', () => {
    it('an empty value name (the key\'s default value)', () => {
      const h = HEADER + OPEN + u16('K') + NUL + SEMI + NUL + SEMI + u32(1) + SEMI + u32(2) + SEMI + NUL + CLOSE;
      const e = only(readRegistryPol(hex(h)));
      expect(e.valueName).to.equal('');
      expect(hexOf(writeRegistryPol([polEntry.sz('K', '', '')]))).to.equal(h);
    });

    it('an empty key name', () => {
      const h = HEADER + rec('', 'v', RegType.REG_DWORD, '01000000');
      const e = only(readRegistryPol(hex(h)));
      expect(e.key).to.equal('');
      expect(hexOf(writeRegistryPol([e]))).to.equal(h);
    });

    it('non-ASCII, non-BMP and lone-surrogate code units survive read and write', () => {
      const key = 'SOFTWARE\\Policies\\Ünïcødé\\日本\\\u{1F600}';
      const value = '\ud800x\udc00';
      const h = HEADER + rec(key, value, RegType.REG_SZ, u16('\u{1F4A9}é') + NUL);
      expect(u16('\u{1F600}')).to.equal('3dd800de');
      const e = only(readRegistryPol(hex(h)));
      expect(e.key).to.equal(key);
      expect(e.valueName).to.equal(value);
      expect(decodeSz(e.data)).to.equal('\u{1F4A9}é');
      expect(hexOf(writeRegistryPol([e]))).to.equal(h);
    });

    it('repeated keys read as equal strings, and a key differing only in a late byte is not mistaken for the previous one', () => {
      const bytes = file(rec('K\\A', '1', 4, '01000000'), rec('K\\A', '2', 4, '02000000'), rec('K\\B', '3', 4, '03000000'), rec('K\\B', '4', 4, '04000000'), rec('K\\A', '5', 4, '05000000'));
      expect(readRegistryPol(bytes).map((e) => e.key)).to.deep.equal(['K\\A', 'K\\A', 'K\\B', 'K\\B', 'K\\A']);
    });
  });

  describe('special value names (MS-GPREG 2.2.1.1), case-insensitive', () => {
    const cases: { name: string; meaning: ReturnType<typeof classifyValueName> }[] = [
      { name: '**del.Port', meaning: { kind: 'delete', name: 'Port' } },
      { name: '**DEL.Port', meaning: { kind: 'delete', name: 'Port' } },
      { name: '**Del.', meaning: { kind: 'delete', name: '' } },
      { name: '**delvals.', meaning: { kind: 'deleteAll' } },
      { name: '**DelVals', meaning: { kind: 'deleteAll' } },
      { name: '**DelVals.', meaning: { kind: 'deleteAll' } },
      { name: '**DELVALS.', meaning: { kind: 'deleteAll' } },
      { name: '**DeleteValues', meaning: { kind: 'deleteValues' } },
      { name: '**deletevalues', meaning: { kind: 'deleteValues' } },
      { name: '**DeleteKeys', meaning: { kind: 'deleteKeys' } },
      { name: '**DELETEKEYS', meaning: { kind: 'deleteKeys' } },
      { name: '**SecureKey', meaning: { kind: 'secureKey' } },
      { name: '**securekey', meaning: { kind: 'secureKey' } },
      { name: '**soft.Host', meaning: { kind: 'soft', name: 'Host' } },
      { name: '**SOFT.Host', meaning: { kind: 'soft', name: 'Host' } },
      { name: '**Foo', meaning: { kind: 'value', name: '**Foo' } },
      { name: '**delvalsX', meaning: { kind: 'value', name: '**delvalsX' } },
      { name: '**', meaning: { kind: 'value', name: '**' } },
      { name: '*del.x', meaning: { kind: 'value', name: '*del.x' } },
      { name: 'Port', meaning: { kind: 'value', name: 'Port' } },
      { name: '', meaning: { kind: 'value', name: '' } },
    ];

    for (const c of cases) {
      it(`${JSON.stringify(c.name)} read from a file classifies as ${c.meaning.kind}`, () => {
        const data = c.meaning.kind === 'deleteKeys' || c.meaning.kind === 'deleteValues' ? u16('A;B') + NUL : u16(' ') + NUL;
        const h = HEADER + rec(KEY, c.name, RegType.REG_SZ, data);
        const e = only(readRegistryPol(hex(h)));
        expect(e.valueName).to.equal(c.name); // the name is kept exactly as written
        expect(classifyValueName(e.valueName)).to.deep.equal(c.meaning);
        expect(hexOf(writeRegistryPol([e]))).to.equal(h);
      });
    }

    it('**SecureKey with a DWORD 1 keeps its data', () => {
      const e = only(readRegistryPol(file(rec(KEY, '**SecureKey', RegType.REG_DWORD, '01000000'))));
      expect(classifyValueName(e.valueName).kind).to.equal('secureKey');
      expect(decodeDword(e.data)).to.equal(1);
    });
  });

  describe('delete markers written like GPMC: REG_SZ " " of size 4', () => {
    it('polEntry.deleteValue', () => {
      const expected = HEADER + OPEN + u16(KEY) + NUL + SEMI + u16('**del.Port') + NUL + SEMI + '01000000' + SEMI + '04000000' + SEMI + '2000' + '0000' + CLOSE;
      const e = polEntry.deleteValue(KEY, 'Port');
      expect(e.valueName).to.equal('**del.Port');
      expect(e.type).to.equal(RegType.REG_SZ);
      expect(hexOf(e.data)).to.equal('20000000');
      expect(hexOf(writeRegistryPol([e]))).to.equal(expected);
    });

    it('polEntry.deleteAllValues', () => {
      const expected = HEADER + OPEN + u16(KEY) + NUL + SEMI + u16('**delvals.') + NUL + SEMI + '01000000' + SEMI + '04000000' + SEMI + '20000000' + CLOSE;
      const e = polEntry.deleteAllValues(KEY);
      expect(hexOf(writeRegistryPol([e]))).to.equal(expected);
      expect(classifyValueName(e.valueName)).to.deep.equal({ kind: 'deleteAll' });
    });

    it('a marker followed by a list reads back in order', () => {
      const entries = [polEntry.deleteAllValues(KEY), polEntry.sz(KEY, '1', 'a'), polEntry.sz(KEY, '2', 'b'), polEntry.deleteValue(KEY, 'Old')];
      const back = readRegistryPol(writeRegistryPol(entries));
      expect(back.map((e) => classifyValueName(e.valueName).kind)).to.deep.equal(['deleteAll', 'value', 'value', 'delete']);
    });
  });

  describe('read then write gives the same bytes', () => {
    it('for a file mixing every type, markers and other products\' keys', () => {
      const h =
        HEADER +
        rec('Software\\Policies\\Microsoft\\Windows\\System', 'EnableSmartScreen', RegType.REG_DWORD, '01000000') +
        rec(KEY, '**delvals.', RegType.REG_SZ, u16(' ') + NUL) +
        rec(KEY + '\\Rules', '1', RegType.REG_SZ, u16('path=C:\\a;b];hash=00') + NUL) +
        rec(KEY, '**del.Port', RegType.REG_SZ, u16(' ') + NUL) +
        rec(KEY, 'Groups', RegType.REG_MULTI_SZ, u16('BUILTIN\\Administrators') + NUL + u16('S-1-5-32-544') + NUL + NUL) +
        rec(KEY, 'Blob', RegType.REG_BINARY, '000102035d3b') +
        rec(KEY, 'Big', RegType.REG_QWORD, 'ffffffffffffffff') +
        rec(KEY, 'BE', RegType.REG_DWORD_BIG_ENDIAN, '00000001') +
        rec(KEY, 'None', RegType.REG_NONE, '') +
        rec(KEY, 'Path', RegType.REG_EXPAND_SZ, u16('%SystemRoot%') + NUL) +
        rec(KEY, '', RegType.REG_SZ, NUL) +
        rec(KEY, 'Link', RegType.REG_LINK, u16('\\Registry\\Machine')) +
        rec(KEY, 'Res', RegType.REG_RESOURCE_LIST, '0102030405');
      const bytes = hex(h);
      const entries = readRegistryPol(bytes);
      expect(entries).to.have.length(13);
      expect(hexOf(writeRegistryPol(entries))).to.equal(h);
      expect(hexOf(new RegistryPolWriter().addAll(entries).toBytes())).to.equal(h);
      const w = new RegistryPolWriter();
      for (const e of entries) w.add(e);
      expect(hexOf(w.toBytes())).to.equal(h);
    });
  });

  describe('corruption: every error names its code and byte offset', () => {
    const good = HEADER + rec('K', 'v', RegType.REG_DWORD, '01000000');
    // Offsets inside `good`: header 0..7; '[' at 8; key "K" at 10; NUL 12; ';' 14;
    // value "v" at 16; NUL 18; ';' 20; type at 22; ';' 26; size at 28; ';' 32; data at 34; ']' at 38; end 40.
    const goodBytes = hex(good);

    it('the layout above is right', () => {
      expect(goodBytes.length).to.equal(40);
      expect(hexOf(goodBytes.subarray(38))).to.equal('5d00');
      expect(hexOf(goodBytes.subarray(28, 32))).to.equal('04000000');
      expect(only(readRegistryPol(goodBytes)).key).to.equal('K');
    });

    it('bad signature at offset 0', () => {
      expectPolError(() => readRegistryPol(hex('50526547 01000000')), 'ASC_POL_BAD_SIGNATURE', 0);
      expectPolError(() => readRegistryPol(hex('00000000 01000000')), 'ASC_POL_BAD_SIGNATURE', 0);
      expectPolError(() => readRegistryPol(hex('5b004b00')), 'ASC_POL_BAD_SIGNATURE', 0);
    });

    it('bad version at offset 4', () => {
      expectPolError(() => readRegistryPol(hex('50526567 02000000')), 'ASC_POL_BAD_VERSION', 4);
      expectPolError(() => readRegistryPol(hex('50526567 00000000')), 'ASC_POL_BAD_VERSION', 4);
      expectPolError(() => readRegistryPol(hex('50526567 00000001')), 'ASC_POL_BAD_VERSION', 4);
    });

    it('truncated header: offset of the field the file ends in', () => {
      expectPolError(() => readRegistryPol(new Uint8Array(0)), 'ASC_POL_TRUNCATED', 0);
      expectPolError(() => readRegistryPol(hex('5052')), 'ASC_POL_TRUNCATED', 0);
      expectPolError(() => readRegistryPol(hex('505265')), 'ASC_POL_TRUNCATED', 0);
      expectPolError(() => readRegistryPol(hex('50526567')), 'ASC_POL_TRUNCATED', 4);
      expectPolError(() => readRegistryPol(hex('50526567 0100')), 'ASC_POL_TRUNCATED', 4);
      expectPolError(() => readRegistryPol(hex('50526567 010000')), 'ASC_POL_TRUNCATED', 4);
    });

    it('truncated record at every point', () => {
      // [cut length, code, offset]
      const cuts: [number, ErrorCode, number][] = [
        [9, 'ASC_POL_TRAILING_BYTES', 8], // half of '['
        [10, 'ASC_POL_TRUNCATED', 10], // after '[': inside the key
        [11, 'ASC_POL_TRUNCATED', 10],
        [12, 'ASC_POL_TRUNCATED', 10], // key chars but no NUL
        [13, 'ASC_POL_TRUNCATED', 10], // half a NUL
        [14, 'ASC_POL_TRUNCATED', 14], // missing ';' after the key
        [15, 'ASC_POL_TRUNCATED', 14],
        [16, 'ASC_POL_TRUNCATED', 16], // inside the value name
        [17, 'ASC_POL_TRUNCATED', 16],
        [18, 'ASC_POL_TRUNCATED', 16],
        [19, 'ASC_POL_TRUNCATED', 16],
        [20, 'ASC_POL_TRUNCATED', 20], // missing ';' after the value name
        [22, 'ASC_POL_TRUNCATED', 22], // inside the type
        [23, 'ASC_POL_TRUNCATED', 22],
        [25, 'ASC_POL_TRUNCATED', 22],
        [26, 'ASC_POL_TRUNCATED', 26], // missing ';' after the type
        [28, 'ASC_POL_TRUNCATED', 28], // inside the size
        [31, 'ASC_POL_TRUNCATED', 28],
        [32, 'ASC_POL_TRUNCATED', 32], // missing ';' after the size
        [33, 'ASC_POL_TRUNCATED', 32],
        [34, 'ASC_POL_SIZE_BEYOND_END', 28], // inside the data: the size field is at fault
        [36, 'ASC_POL_SIZE_BEYOND_END', 28],
        [37, 'ASC_POL_SIZE_BEYOND_END', 28],
        [38, 'ASC_POL_TRUNCATED', 38], // missing ']'
        [39, 'ASC_POL_TRUNCATED', 38],
      ];
      for (const [n, code, offset] of cuts) {
        const cut = goodBytes.subarray(0, n);
        try {
          expectPolError(() => readRegistryPol(cut), code, offset);
        } catch (e) {
          throw new Error(`cut at ${n}: ${(e as Error).message}`);
        }
      }
    });

    it('a truncated second record names offsets within that record', () => {
      const two = hex(good + rec('K', 'w', RegType.REG_SZ, u16('abc') + NUL));
      // second record starts at 40: key at 42, value at 48, type at 54, size at 60, data at 66 (8 bytes), ']' at 74
      expectPolError(() => readRegistryPol(two.subarray(0, 44)), 'ASC_POL_TRUNCATED', 42);
      expectPolError(() => readRegistryPol(two.subarray(0, 50)), 'ASC_POL_TRUNCATED', 48);
      expectPolError(() => readRegistryPol(two.subarray(0, 56)), 'ASC_POL_TRUNCATED', 54);
      expectPolError(() => readRegistryPol(two.subarray(0, 62)), 'ASC_POL_TRUNCATED', 60);
      expectPolError(() => readRegistryPol(two.subarray(0, 70)), 'ASC_POL_SIZE_BEYOND_END', 60);
      expectPolError(() => readRegistryPol(two.subarray(0, 74)), 'ASC_POL_TRUNCATED', 74);
      expect(readRegistryPol(two)).to.have.length(2);
    });

    it('a declared size beyond the end names the size field', () => {
      expectPolError(() => readRegistryPol(file(rec('K', 'v', RegType.REG_BINARY, '0102', 0xffffffff))), 'ASC_POL_SIZE_BEYOND_END', 28);
      expectPolError(() => readRegistryPol(file(rec('K', 'v', RegType.REG_BINARY, '0102', 5))), 'ASC_POL_SIZE_BEYOND_END', 28);
      expectPolError(() => readRegistryPol(file(rec('K', 'v', RegType.REG_SZ, '0102', 0x80000000))), 'ASC_POL_SIZE_BEYOND_END', 28);
    });

    it('a size larger than the data but inside the file reads past "]" and fails on the delimiter', () => {
      // size 6 for 4 bytes of data: the data swallows "]\0" and the next bytes are not ']'
      const bytes = file(rec('K', 'v', RegType.REG_BINARY, '01020304', 6), rec('K', 'w', RegType.REG_NONE, ''));
      expectPolError(() => readRegistryPol(bytes), 'ASC_POL_BAD_DELIMITER', 40);
    });

    for (const [name, type] of [['REG_SZ', RegType.REG_SZ], ['REG_EXPAND_SZ', RegType.REG_EXPAND_SZ], ['REG_MULTI_SZ', RegType.REG_MULTI_SZ]] as const) {
      it(`odd UTF-16 size for ${name} names the size field`, () => {
        expectPolError(() => readRegistryPol(file(rec('K', 'v', type, '610000'))), 'ASC_POL_ODD_UTF16', 28);
        expectPolError(() => readRegistryPol(file(rec('K', 'v', type, '61'))), 'ASC_POL_ODD_UTF16', 28);
      });
    }

    it('odd sizes are fine for REG_BINARY, REG_NONE and unknown types', () => {
      for (const t of [RegType.REG_BINARY, RegType.REG_NONE, RegType.REG_LINK, 99]) {
        expect(hexOf(only(readRegistryPol(file(rec('K', 'v', t, '616263')))).data)).to.equal('616263');
      }
    });

    it('REG_DWORD, REG_DWORD_BIG_ENDIAN and REG_QWORD of the wrong size name the size field', () => {
      for (const d of ['', '01', '010203', '0102030405', '0102030405060708']) {
        expectPolError(() => readRegistryPol(file(rec('K', 'v', RegType.REG_DWORD, d))), 'ASC_POL_BAD_DATA_SIZE', 28);
        expectPolError(() => readRegistryPol(file(rec('K', 'v', RegType.REG_DWORD_BIG_ENDIAN, d))), 'ASC_POL_BAD_DATA_SIZE', 28);
      }
      for (const d of ['', '01020304', '01020304050607', '010203040506070809']) {
        expectPolError(() => readRegistryPol(file(rec('K', 'v', RegType.REG_QWORD, d))), 'ASC_POL_BAD_DATA_SIZE', 28);
      }
    });

    it('bad delimiters name the offset where the delimiter should be', () => {
      const replaceAt = (at: number, bytes: string): Uint8Array => {
        const b = hex(good);
        b.set(hex(bytes), at);
        return b;
      };
      expectPolError(() => readRegistryPol(replaceAt(14, '2c00')), 'ASC_POL_BAD_DELIMITER', 14); // ',' for ';' after key
      expectPolError(() => readRegistryPol(replaceAt(14, '3b01')), 'ASC_POL_BAD_DELIMITER', 14); // ';' with a non-zero high byte
      expectPolError(() => readRegistryPol(replaceAt(20, '3a00')), 'ASC_POL_BAD_DELIMITER', 20);
      expectPolError(() => readRegistryPol(replaceAt(26, '0000')), 'ASC_POL_BAD_DELIMITER', 26);
      expectPolError(() => readRegistryPol(replaceAt(32, '5d00')), 'ASC_POL_BAD_DELIMITER', 32);
      expectPolError(() => readRegistryPol(replaceAt(38, '3b00')), 'ASC_POL_BAD_DELIMITER', 38); // ';' for ']'
      expectPolError(() => readRegistryPol(replaceAt(38, '5d01')), 'ASC_POL_BAD_DELIMITER', 38);
      // a key written in 8-bit characters: "K\0;\0" read as UTF-16 is one unit 0x004b, then NUL at 12 + ';' at 14 fails on 0x76
      expectPolError(() => readRegistryPol(hex(HEADER + '5b00' + '4b000000' + '76003b00')), 'ASC_POL_BAD_DELIMITER', 14);
    });

    it('a first record not starting with "[" is bytes that do not form an entry', () => {
      expectPolError(() => readRegistryPol(hex(HEADER + '5b01' + good.slice(20))), 'ASC_POL_TRAILING_BYTES', 8);
      expectPolError(() => readRegistryPol(hex(HEADER + '28004b00')), 'ASC_POL_TRAILING_BYTES', 8);
    });

    it('trailing bytes after the last entry name where they start', () => {
      expectPolError(() => readRegistryPol(hex(good + '00')), 'ASC_POL_TRAILING_BYTES', 40);
      expectPolError(() => readRegistryPol(hex(good + '0000')), 'ASC_POL_TRAILING_BYTES', 40);
      expectPolError(() => readRegistryPol(hex(good + '5d00')), 'ASC_POL_TRAILING_BYTES', 40);
      expectPolError(() => readRegistryPol(hex(good + '0d0a')), 'ASC_POL_TRAILING_BYTES', 40);
      expectPolError(() => readRegistryPol(hex(good + good.slice(HEADER.length) + 'ff')), 'ASC_POL_TRAILING_BYTES', 72);
      // a header followed by one stray byte
      expectPolError(() => readRegistryPol(hex(HEADER + '5b')), 'ASC_POL_TRAILING_BYTES', 8);
    });

    it('over the size cap, before reading anything', () => {
      expectPolError(() => readRegistryPol(goodBytes, { maxBytes: 39 }), 'ASC_POL_TOO_LARGE', 0);
      expectPolError(() => readRegistryPol(hex('deadbeef'), { maxBytes: 3 }), 'ASC_POL_TOO_LARGE', 0);
      expectPolError(() => new RegistryPolReader(goodBytes, { maxBytes: 0 }), 'ASC_POL_TOO_LARGE', 0);
      expect(readRegistryPol(goodBytes, { maxBytes: 40 })).to.have.length(1);
      expect(DEFAULT_MAX_POL_BYTES).to.equal(16 * 1024 * 1024);
    });

    it('the default cap is 16 MiB', () => {
      const big = new Uint8Array(DEFAULT_MAX_POL_BYTES + 1);
      expectPolError(() => readRegistryPol(big), 'ASC_POL_TOO_LARGE', 0);
    });

    it('error messages say what was expected', () => {
      const err = expectPolError(() => readRegistryPol(hex('50526567 02000000')), 'ASC_POL_BAD_VERSION', 4);
      expect(err.expected).to.equal('version 1');
      expect(err.message).to.contain('Registry.pol').and.contain('version 1');
    });
  });

  describe('the writer refuses what the reader would refuse', () => {
    const bad: { name: string; entry: PolEntry }[] = [
      { name: 'NUL in the key', entry: { key: 'A\0B', valueName: 'v', type: RegType.REG_DWORD, data: hex('01000000') } },
      { name: 'NUL at the end of the key', entry: { key: 'A\0', valueName: 'v', type: RegType.REG_DWORD, data: hex('01000000') } },
      { name: 'NUL in the value name', entry: { key: 'K', valueName: 'v\0w', type: RegType.REG_DWORD, data: hex('01000000') } },
      { name: 'odd REG_SZ size', entry: { key: 'K', valueName: 'v', type: RegType.REG_SZ, data: hex('610000') } },
      { name: 'odd REG_EXPAND_SZ size', entry: { key: 'K', valueName: 'v', type: RegType.REG_EXPAND_SZ, data: hex('61') } },
      { name: 'odd REG_MULTI_SZ size', entry: { key: 'K', valueName: 'v', type: RegType.REG_MULTI_SZ, data: hex('6100000000') } },
      { name: 'DWORD of 3 bytes', entry: { key: 'K', valueName: 'v', type: RegType.REG_DWORD, data: hex('010203') } },
      { name: 'DWORD_BIG_ENDIAN of 5 bytes', entry: { key: 'K', valueName: 'v', type: RegType.REG_DWORD_BIG_ENDIAN, data: hex('0102030405') } },
      { name: 'QWORD of 4 bytes', entry: { key: 'K', valueName: 'v', type: RegType.REG_QWORD, data: hex('01020304') } },
      { name: 'negative type', entry: { key: 'K', valueName: 'v', type: -1, data: hex('') } },
      { name: 'type over 32 bits', entry: { key: 'K', valueName: 'v', type: 2 ** 32, data: hex('') } },
      { name: 'fractional type', entry: { key: 'K', valueName: 'v', type: 1.5, data: hex('') } },
      { name: 'data not bytes', entry: { key: 'K', valueName: 'v', type: RegType.REG_BINARY, data: 'abc' as unknown as Uint8Array } },
      { name: 'key not a string', entry: { key: 5 as unknown as string, valueName: 'v', type: RegType.REG_BINARY, data: hex('') } },
    ];
    for (const b of bad) {
      it(`${b.name}: ASC_POL_BAD_ENTRY`, () => {
        const err = expectPolError(() => writeRegistryPol([b.entry]), 'ASC_POL_BAD_ENTRY', -1);
        expect(err.message).not.to.contain('at byte');
        expectPolError(() => new RegistryPolWriter().add(b.entry), 'ASC_POL_BAD_ENTRY', -1);
      });
    }

    it('names the index of the bad entry', () => {
      const err = expectPolError(() => writeRegistryPol([polEntry.dword('K', 'a', 1), polEntry.dword('K', 'b', 2), bad[6]!.entry]), 'ASC_POL_BAD_ENTRY', -1);
      expect(err.message).to.contain('entry 2');
    });

    it('accepts the largest type number and empty data for variable types', () => {
      const h = HEADER + rec('K', 'v', 0xffffffff, '') + rec('K', 'w', RegType.REG_SZ, '') + rec('K', 'x', RegType.REG_MULTI_SZ, '');
      expect(hexOf(writeRegistryPol(readRegistryPol(hex(h))))).to.equal(h);
    });
  });

  describe('values.ts helpers', () => {
    it('encodeSz / decodeSz', () => {
      expect(hexOf(encodeSz(''))).to.equal('0000');
      expect(hexOf(encodeSz('Ab'))).to.equal('410062000000');
      expect(hexOf(encodeSz('\u{1F600}'))).to.equal('3dd800de0000');
      expect(hexOf(encodeSz('a;]'))).to.equal('61003b005d000000');
      expect(decodeSz(hex('410062000000'))).to.equal('Ab');
      expect(decodeSz(hex('41006200'))).to.equal('Ab'); // no terminator
      expect(decodeSz(hex('4100620000000000'))).to.equal('Ab'); // several terminators
      expect(decodeSz(hex(''))).to.equal('');
      expect(decodeSz(hex('0000'))).to.equal('');
      expect(decodeSz(hex('41000000'.concat('42')))).to.equal('A'); // odd trailing byte ignored
      expect(decodeSz(encodeSz('\ud800'))).to.equal('\ud800');
      const view = hex('ff4100420000ff').subarray(1, 6);
      expect(decodeSz(view)).to.equal('AB');
    });

    it('encodeMultiSz / decodeMultiSz', () => {
      expect(hexOf(encodeMultiSz(['a', 'bc']))).to.equal('6100' + '0000' + '62006300' + '0000' + '0000');
      expect(hexOf(encodeMultiSz([]))).to.equal('0000');
      expect(decodeMultiSz(hex('6100000062006300000000 00'.replace(/\s/g, '')))).to.deep.equal(['a', 'bc']);
      expect(decodeMultiSz(hex(''))).to.deep.equal([]);
      expect(decodeMultiSz(hex('0000'))).to.deep.equal([]);
      expect(decodeMultiSz(hex('61006200'))).to.deep.equal(['ab']); // unterminated
      expect(decodeMultiSz(encodeMultiSz(['x;y', ']', '\u{1F600}']))).to.deep.equal(['x;y', ']', '\u{1F600}']);
      expect(() => encodeMultiSz([''])).to.throw(RangeError);
      expect(() => encodeMultiSz(['a\0b'])).to.throw(RangeError);
    });

    it('encodeDword / decodeDword, both byte orders', () => {
      expect(hexOf(encodeDword(1))).to.equal('01000000');
      expect(hexOf(encodeDword(0xdeadbeef))).to.equal('efbeadde');
      expect(hexOf(encodeDword(-1))).to.equal('ffffffff');
      expect(hexOf(encodeDword(8003, true))).to.equal('00001f43');
      expect(decodeDword(hex('efbeadde'))).to.equal(0xdeadbeef);
      expect(decodeDword(hex('00001f43'), true)).to.equal(8003);
      expect(decodeDword(encodeDword(0xffffffff))).to.equal(0xffffffff);
    });

    it('encodeQword / decodeQword', () => {
      expect(hexOf(encodeQword(1n))).to.equal('0100000000000000');
      expect(hexOf(encodeQword(0x0102030405060708n))).to.equal('0807060504030201');
      expect(hexOf(encodeQword(-1n))).to.equal('ffffffffffffffff');
      expect(decodeQword(hex('ffffffffffffffff'))).to.equal(18446744073709551615n);
      expect(decodeQword(encodeQword(2n ** 53n + 1n))).to.equal(2n ** 53n + 1n);
    });

    it('toHex', () => {
      expect(toHex(hex('00ff3b5d'))).to.equal('00ff3b5d');
      expect(toHex(hex('0011223344').subarray(1, 3))).to.equal('1122');
    });

    it('dataToJson for every type', () => {
      expect(dataToJson(RegType.REG_SZ, encodeSz('x'))).to.equal('x');
      expect(dataToJson(RegType.REG_EXPAND_SZ, encodeSz('%x%'))).to.equal('%x%');
      expect(dataToJson(RegType.REG_DWORD, hex('2a000000'))).to.equal(42);
      expect(dataToJson(RegType.REG_DWORD_BIG_ENDIAN, hex('0000002a'))).to.equal(42);
      expect(dataToJson(RegType.REG_QWORD, hex('ffffffffffffffff'))).to.equal('18446744073709551615');
      expect(dataToJson(RegType.REG_MULTI_SZ, encodeMultiSz(['a', 'b']))).to.deep.equal(['a', 'b']);
      expect(dataToJson(RegType.REG_BINARY, hex('0a0b'))).to.equal('0a0b');
      expect(dataToJson(RegType.REG_NONE, hex(''))).to.equal('');
      expect(dataToJson(77, hex('ff'))).to.equal('ff');
    });

    it('entryToJson', () => {
      expect(entryToJson(polEntry.dword(KEY, 'Port', 8003))).to.deep.equal({ key: KEY, value: 'Port', type: 'REG_DWORD', data: 8003 });
      expect(entryToJson(polEntry.deleteValue(KEY, 'Port'))).to.deep.equal({ key: KEY, value: '**del.Port', type: 'REG_SZ', data: ' ' });
      expect(entryToJson({ key: 'K', valueName: '', type: 42, data: hex('01') })).to.deep.equal({ key: 'K', value: '', type: 'REG_TYPE_42', data: '01' });
    });

    it('regTypeName / regTypeFromName / isStringType', () => {
      expect(regTypeName(4)).to.equal('REG_DWORD');
      expect(regTypeName(11)).to.equal('REG_QWORD');
      expect(regTypeName(4242)).to.equal('REG_TYPE_4242');
      expect(regTypeFromName('reg_multi_sz')).to.equal(7);
      expect(regTypeFromName('REG_TYPE_99')).to.equal(99);
      expect(regTypeFromName('REG_NOPE')).to.equal(undefined);
      expect([0, 1, 2, 3, 4, 5, 7, 11].filter(isStringType)).to.deep.equal([1, 2, 7]);
    });

    it('reader data is a view into the input (no copies)', () => {
      const bytes = file(rec('K', 'v', RegType.REG_BINARY, 'aabb'));
      const e = only(readRegistryPol(bytes));
      expect(e.data.buffer).to.equal(bytes.buffer);
      expect(e.data.byteOffset).to.equal(34);
    });
  });
});
