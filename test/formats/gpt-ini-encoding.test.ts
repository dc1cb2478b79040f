/**
 * Issue 12 finding 11: GPT.INI is edited as bytes. Windows writes it in the system ANSI
 * code page (or UTF-16LE / UTF-8 with a BOM); a Version edit changes only the Version
 * digits and keeps every other byte, whatever the code page.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { AscendError } from '../../src/errors.js';
import {
  createGptIni,
  decodeGptIniDisplayName,
  gptIniCodePage,
  parseGptIni,
  setGptIniVersion,
  MAX_GPT_INI_BYTES,
} from '../../src/formats/gpt-ini/index.js';

/** ASCII (and Latin-1 escapes) as single bytes. */
const b = (t: string): Buffer => Buffer.from(t, 'latin1');
const cat = (...parts: (Buffer | number[])[]): Buffer => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const bump = (file: Buffer, to: number): string => hex(setGptIniVersion(parseGptIni(file), to));

/** "Групповая политика" in Windows-1251. */
const CP1251 = [0xc3, 0xf0, 0xf3, 0xef, 0xef, 0xee, 0xe2, 0xe0, 0xff, 0x20, 0xef, 0xee, 0xeb, 0xe8, 0xf2, 0xe8, 0xea, 0xe0];
/** "Stratégie de sécurité" in Windows-1252. */
const CP1252 = b('Strat\xe9gie de s\xe9curit\xe9');
/** "テストー" in Shift_JIS: the last character's trail byte is 0x5B, "[". */
const SJIS = [0x83, 0x65, 0x83, 0x58, 0x83, 0x67, 0x81, 0x5b];

function codeOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(AscendError);
    return { code: (e as AscendError).code, message: (e as Error).message };
  }
  expect.fail('expected an AscendError');
}

describe('GPT.INI codec: bytes kept in their code page (issue 12 #11)', () => {
  describe('a Version edit changes only the Version digits', () => {
    it('Windows-1251 displayName, CRLF: identical bytes except the number', () => {
      const file = (v: string): Buffer => cat(b(`[General]\r\nVersion=${v}\r\ndisplayName=`), CP1251, b('\r\n'));
      const ini = parseGptIni(file('65537'));
      expect(ini.version).to.equal(65537);
      expect(ini.encoding).to.equal('ascii-compatible');
      expect(hex(setGptIniVersion(ini, 65538))).to.equal(hex(file('65538')));
      expect(decodeGptIniDisplayName(ini, '1251')).to.equal('Групповая политика');
      expect(decodeGptIniDisplayName(ini, 'windows-1251')).to.equal('Групповая политика');
    });

    it('Windows-1252 displayName; the default code page decodes it', () => {
      const file = (v: string): Buffer => cat(b(`[General]\r\nVersion=${v}\r\ndisplayName=`), CP1252, b('\r\n'));
      expect(bump(file('9'), 10)).to.equal(hex(file('10')));
      expect(decodeGptIniDisplayName(parseGptIni(file('9')))).to.equal('Stratégie de sécurité');
    });

    it('UTF-8 without a BOM: kept, and shown as UTF-8 whatever code page is configured', () => {
      const file = (v: string): Buffer => cat(b(`[General]\r\nVersion=${v}\r\ndisplayName=`), Buffer.from('Политика ✓', 'utf8'), b('\r\n'));
      expect(bump(file('3'), 4)).to.equal(hex(file('4')));
      expect(decodeGptIniDisplayName(parseGptIni(file('3')), '1251')).to.equal('Политика ✓');
    });

    it('UTF-8 with a BOM: the BOM and the text are kept', () => {
      const file = (v: string): Buffer => cat([0xef, 0xbb, 0xbf], b(`[General]\r\nVersion=${v}\r\n`), b('displayName='), Buffer.from('Stratégie', 'utf8'), b('\r\n'));
      const ini = parseGptIni(file('65537'));
      expect(ini.encoding).to.equal('utf-8-bom');
      expect(ini.version).to.equal(65537);
      expect(hex(setGptIniVersion(ini, 65538))).to.equal(hex(file('65538')));
      expect(decodeGptIniDisplayName(ini)).to.equal('Stratégie');
    });

    it('UTF-16LE with a BOM: edited in UTF-16LE, the number may grow, an odd last byte stays', () => {
      const file = (v: string, tail: number[] = []): Buffer => cat([0xff, 0xfe], Buffer.from(`[General]\r\nVersion=${v}\r\ndisplayName=Групповая политика\r\n`, 'utf16le'), tail);
      const ini = parseGptIni(file('99999'));
      expect(ini.encoding).to.equal('utf-16le-bom');
      expect(ini.version).to.equal(99999);
      expect(hex(setGptIniVersion(ini, 100000))).to.equal(hex(file('100000')));
      expect(decodeGptIniDisplayName(ini)).to.equal('Групповая политика');
      expect(bump(file('7', [0x41]), 8)).to.equal(hex(file('8', [0x41])));
    });

    it('LF only and no final newline: no line end is added or changed', () => {
      expect(bump(b('[General]\nVersion=5'), 6)).to.equal(hex(b('[General]\nVersion=6')));
      expect(bump(b('[General]\nversion=5\ndisplayName=x'), 6)).to.equal(hex(b('[General]\nversion=6\ndisplayName=x')));
      // A bare CR inside a line and CRLF mixed with LF stay as they were.
      expect(bump(b('[General]\r\nVersion=5\ndisplayName=a\rb\r\n'), 6)).to.equal(hex(b('[General]\r\nVersion=6\ndisplayName=a\rb\r\n')));
    });

    it('a number that shrinks, blanks around the key and value, upper-case names', () => {
      expect(bump(b('[ GENERAL ]\r\n  VERSION \t=  100000 \r\n'), 9)).to.equal(hex(b('[ GENERAL ]\r\n  VERSION \t=  9 \r\n')));
      expect(bump(b('[General]\r\nVersion=007\r\n'), 8)).to.equal(hex(b('[General]\r\nVersion=8\r\n')));
    });

    it('other sections and keys, comments and trailing bytes are kept; only [General] Version counts', () => {
      const file = (v: string): Buffer =>
        cat(
          b('; written by hand\r\n[Other]\r\nVersion=77\r\n\r\n[General]\r\ngPCMachineExtensionNames=[{A}{B}]\r\n;Version=1\r\n'),
          b(`Version=${v}\r\nVersion=5\r\nOptions=0\r\n[General]\r\nVersion=6\r\n[Tail]\r\nKey=`),
          CP1251,
          [0x00, 0x1a],
        );
      const ini = parseGptIni(file('42'));
      expect(ini.version).to.equal(42);
      expect(hex(setGptIniVersion(ini, 43))).to.equal(hex(file('43')));
    });

    it('double-byte code pages: a trail byte that is "[" is no section, and Shift_JIS decodes', () => {
      const file = (v: string): Buffer => cat(b(`[General]\r\ndisplayName=`), SJIS, b(`\r\nVersion=${v}\r\n`));
      const ini = parseGptIni(file('1'));
      expect(ini.version).to.equal(1);
      expect(hex(setGptIniVersion(ini, 2))).to.equal(hex(file('2')));
      expect(decodeGptIniDisplayName(ini, '932')).to.equal('テストー');
    });

    it('property: with any displayName bytes and other lines, only the digits change', () => {
      const notLineEnd = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a.filter((x) => x !== 0x0a && x !== 0x0d)));
      const key = fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,8}$/).filter((k) => k.toLowerCase() !== 'version');
      fc.assert(
        fc.property(
          fc.constantFrom('\r\n', '\n'),
          notLineEnd,
          fc.array(fc.tuple(key, notLineEnd), { maxLength: 4 }),
          fc.integer({ min: 0, max: 0xffffffff }),
          fc.integer({ min: 0, max: 0xffffffff }),
          fc.boolean(),
          (eol, name, extra, from, to, finalEol) => {
            const file = (v: number): Buffer =>
              cat(b(`[General]${eol}Version=${v}${eol}displayName=`), name, ...extra.map(([k, val]) => cat(b(`${eol}${k}=`), val)), b(finalEol ? eol : ''));
            const ini = parseGptIni(file(from));
            expect(ini.version).to.equal(from);
            expect(hex(setGptIniVersion(ini, to))).to.equal(hex(file(to)));
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  describe('what is refused', () => {
    it('no [General] Version: a clear error, as before (the edit writes nothing)', () => {
      expect(codeOf(() => parseGptIni(b('[Other]\r\nVersion=1\r\n')))).to.deep.equal({ code: 'ASC_GPO_INVALID', message: 'GPT.INI has no [General] Version' });
      expect(codeOf(() => parseGptIni(b(''))).code).to.equal('ASC_GPO_INVALID');
      // UTF-16 without a BOM has no ASCII Version line: refused, not guessed.
      expect(codeOf(() => parseGptIni(Buffer.from('[General]\r\nVersion=1\r\n', 'utf16le'))).code).to.equal('ASC_GPO_INVALID');
      // A later [General] does not count (the profile API reads the first).
      expect(codeOf(() => parseGptIni(b('[General]\r\nOptions=0\r\n[General]\r\nVersion=1\r\n'))).code).to.equal('ASC_GPO_INVALID');
    });

    it('a Version that is not a 32-bit decimal number; control bytes in it are escaped in the message', () => {
      expect(codeOf(() => parseGptIni(b('[General]\r\nVersion=abc\r\n'))).message).to.equal('GPT.INI: Version "abc" is not a number');
      expect(codeOf(() => parseGptIni(b('[General]\r\nVersion=\r\n'))).code).to.equal('ASC_GPO_INVALID');
      expect(codeOf(() => parseGptIni(b('[General]\r\nVersion=-1\r\n'))).code).to.equal('ASC_GPO_INVALID');
      expect(codeOf(() => parseGptIni(b('[General]\r\nVersion=4294967296\r\n'))).message).to.match(/larger than 32 bits/);
      expect(parseGptIni(b('[General]\r\nVersion=4294967295\r\n')).version).to.equal(0xffffffff);
      const { message } = codeOf(() => parseGptIni(b('[General]\r\nVersion=1\x1b[31m\xff\r\n')));
      expect(message).to.equal('GPT.INI: Version "1\\x1b[31m\\xff" is not a number');
      expect(() => setGptIniVersion(parseGptIni(b('[General]\r\nVersion=1\r\n')), 2 ** 32)).to.throw(AscendError);
    });

    it('a file far larger than any GPT.INI', () => {
      const big = cat(b('[General]\r\nVersion=1\r\n'), Buffer.alloc(MAX_GPT_INI_BYTES, 0x20));
      expect(codeOf(() => parseGptIni(big)).code).to.equal('ASC_GPO_INVALID');
    });
  });

  describe('a GPT.INI Ascend creates', () => {
    it('is ASCII with CRLF; an ASCII name is written, any other name is left out as samba-tool does', () => {
      expect(Buffer.from(createGptIni(0, 'Ascend - Workstations')).toString('latin1')).to.equal('[General]\r\nVersion=0\r\ndisplayName=Ascend - Workstations\r\n');
      expect(Buffer.from(createGptIni(65537)).toString('latin1')).to.equal('[General]\r\nVersion=65537\r\n');
      expect(Buffer.from(createGptIni(0, 'Политика')).toString('latin1')).to.equal('[General]\r\nVersion=0\r\n');
      expect(Buffer.from(createGptIni(0, 'Stratégie')).toString('latin1')).to.equal('[General]\r\nVersion=0\r\n');
    });

    it('a name with a line end cannot add lines (a second Version)', () => {
      const made = createGptIni(0, 'x\r\nVersion=99');
      expect(Buffer.from(made).toString('latin1')).to.equal('[General]\r\nVersion=0\r\n');
      expect(parseGptIni(made).version).to.equal(0);
    });
  });

  describe('code pages', () => {
    it('takes Windows numbers and labels; refuses UTF-16 and unknown ones', () => {
      expect(gptIniCodePage('1251')).to.equal('windows-1251');
      expect(gptIniCodePage(' CP1251 ')).to.equal('windows-1251');
      expect(gptIniCodePage('1252')).to.equal('windows-1252');
      expect(gptIniCodePage('874')).to.equal('windows-874');
      expect(gptIniCodePage('932')).to.equal('shift_jis');
      expect(gptIniCodePage('936')).to.equal('gbk');
      expect(gptIniCodePage('28595')).to.equal('iso-8859-5');
      for (const bad of ['utf-16le', '1200', '65001x', 'bogus', '', '99999']) expect(codeOf(() => gptIniCodePage(bad)).code, bad).to.equal('ASC_USAGE');
    });

    it('a displayName that is not UTF-8 is decoded in the code page given, never left as U+FFFD', () => {
      const ini = parseGptIni(cat(b('[General]\r\nVersion=1\r\ndisplayName='), CP1251, b('\r\n')));
      expect(decodeGptIniDisplayName(ini, '1251')).to.not.contain('\ufffd');
      expect(decodeGptIniDisplayName(parseGptIni(b('[General]\r\nVersion=1\r\n')))).to.equal(undefined);
    });
  });
});
