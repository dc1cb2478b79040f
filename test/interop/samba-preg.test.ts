import { expect } from 'chai';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  encodeDword,
  encodeMultiSz,
  encodeQword,
  encodeSz,
  polEntry,
  readRegistryPol,
  RegistryPolError,
  RegType,
  writeRegistryPol,
  type PolEntry,
} from '../../src/formats/registry-pol/index.js';
import { sambaEntryArb } from '../formats/registry-pol.arbitraries.js';
import { requireComponent, SAMBA_PYTHON, sambaPythonAvailable } from '../support/components.js';

const HELPER = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/samba_preg.py');

interface SambaJsonEntry {
  key: string;
  value: string;
  type: number;
  size?: number;
  data_hex: string;
}

function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function toJson(e: PolEntry): SambaJsonEntry {
  return { key: e.key, value: e.valueName, type: e.type, data_hex: hexOf(e.data) };
}

/** Entries in the helper's JSON form, without Samba's `size`, for comparison. */
function comparable(es: readonly SambaJsonEntry[]): SambaJsonEntry[] {
  return es.map((e) => ({ key: e.key, value: e.value, type: e.type, data_hex: e.data_hex }));
}

function python(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(SAMBA_PYTHON, [HELPER, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Samba's view of one file: entries, or its error message. */
function sambaRead(path: string): { entries?: SambaJsonEntry[]; error?: string } {
  const r = python(['read', path]);
  if (r.status !== 0 && r.status !== 2) throw new Error(`samba_preg.py read failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as { entries?: SambaJsonEntry[]; error?: string };
}

function sambaReadOk(path: string): SambaJsonEntry[] {
  const r = sambaRead(path);
  if (r.entries === undefined) throw new Error(`Samba could not read ${path}: ${r.error}`);
  return r.entries;
}

function sambaReadMany(paths: string[]): { path: string; entries?: SambaJsonEntry[]; error?: string }[] {
  const r = python(['read', ...paths]);
  if (r.status !== 0) throw new Error(`samba_preg.py read failed (${r.status}): ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { files?: { path: string; entries?: SambaJsonEntry[]; error?: string }[]; entries?: SambaJsonEntry[] };
  return out.files ?? [{ path: paths[0]!, entries: out.entries! }];
}

/** Samba writes these entries; returns the bytes. */
function sambaWrite(dir: string, name: string, entries: readonly PolEntry[]): Uint8Array {
  const json = join(dir, `${name}.json`);
  const out = join(dir, `${name}.pol`);
  writeFileSync(json, JSON.stringify({ entries: entries.map(toJson) }));
  const r = python(['write', json, out]);
  if (r.status !== 0) throw new Error(`samba_preg.py write failed (${r.status}): ${r.stderr}`);
  return new Uint8Array(readFileSync(out));
}

function sambaWriteMany(dir: string, batch: readonly (readonly PolEntry[])[]): Uint8Array[] {
  const files = batch.map((entries, i) => ({ out: join(dir, `batch-${i}.pol`), entries: entries.map(toJson) }));
  const json = join(dir, 'batch.json');
  writeFileSync(json, JSON.stringify({ files }));
  const r = python(['write-many', json]);
  if (r.status !== 0) throw new Error(`samba_preg.py write-many failed (${r.status}): ${r.stderr}`);
  const res = JSON.parse(r.stdout) as { files: { out: string; ok?: boolean; error?: string }[] };
  return res.files.map((f) => {
    if (!f.ok) throw new Error(`Samba could not write ${f.out}: ${f.error}`);
    return new Uint8Array(readFileSync(f.out));
  });
}

const KEY = 'SOFTWARE\\Policies\\Ascend\\PrivilegeManager';

/** Every type, every marker, delimiters inside data, an empty value name, non-ASCII text. */
const FIXTURE: PolEntry[] = [
  polEntry.deleteAllValues(`${KEY}\\ElevationRules`),
  polEntry.sz(`${KEY}\\ElevationRules`, '1', 'path=C:\\Tools\\a;b].exe;hash=]]'),
  polEntry.sz(`${KEY}\\ElevationRules`, '2', '[x];[y]'),
  polEntry.deleteValue(`${KEY}\\ClientDataCollection`, 'Host'),
  polEntry.dword(`${KEY}\\ClientDataCollection`, 'Port', 8003),
  polEntry.dword(`${KEY}\\ClientDataCollection`, 'Weird', 0x003b005d), // bytes 5d 00 3b 00: "];"
  { key: `${KEY}\\ClientDataCollection`, valueName: 'BigEndian', type: RegType.REG_DWORD_BIG_ENDIAN, data: encodeDword(0x01020304, true) },
  polEntry.qword(`${KEY}\\ClientDataCollection`, 'Interval', 0xfedcba9876543210n),
  polEntry.qword(`${KEY}\\ClientDataCollection`, 'Semis', 0x005d003b005d003bn),
  polEntry.expandSz(`${KEY}\\Deployment`, 'Path', '%ProgramFiles%\\Ascend;]'),
  polEntry.multiSz(`${KEY}\\TemporarySessionElevation`, 'Groups', ['BUILTIN\\Administrators', 'S-1-5-32-544', 'a;b]']),
  polEntry.multiSz(`${KEY}\\TemporarySessionElevation`, 'Empty', []),
  { key: `${KEY}\\Blob`, valueName: 'Bin', type: RegType.REG_BINARY, data: Uint8Array.from([0x5b, 0x00, 0x3b, 0x00, 0x5d, 0x00, 0x00, 0xff, 0x3b, 0x5d]) },
  { key: `${KEY}\\Blob`, valueName: 'Odd', type: RegType.REG_BINARY, data: Uint8Array.from([1, 2, 3]) },
  { key: `${KEY}\\Blob`, valueName: 'EmptyBin', type: RegType.REG_BINARY, data: new Uint8Array(0) },
  { key: `${KEY}\\Blob`, valueName: 'None', type: RegType.REG_NONE, data: new Uint8Array(0) },
  { key: `${KEY}\\Blob`, valueName: 'Link', type: RegType.REG_LINK, data: encodeSz('\\Registry\\Machine').subarray(0, 34) },
  { key: `${KEY}\\Blob`, valueName: 'Type42', type: 42, data: Uint8Array.from([0x42]) },
  polEntry.sz(KEY, '', 'default value'),
  polEntry.sz(KEY, 'EmptyString', ''),
  polEntry.sz(`${KEY}\\Ünïcødé\\日本語\\\u{1F512}`, 'Wert\u{1F600}', 'Grüße \u{1F4A9} 中文'),
  { key: KEY, valueName: '**DeleteValues', type: RegType.REG_SZ, data: encodeSz('A;B;C') },
  { key: KEY, valueName: '**DeleteKeys', type: RegType.REG_SZ, data: encodeSz('Sub1;Sub2') },
  { key: KEY, valueName: '**SecureKey', type: RegType.REG_DWORD, data: encodeDword(1) },
  polEntry.sz(KEY, '**soft.Host', 'collector.example'),
  polEntry.sz(KEY, '**DelVals', ' '),
  polEntry.sz(KEY, '**Foo', 'plain value'),
  { key: '', valueName: 'EmptyKey', type: RegType.REG_QWORD, data: encodeQword(0n) },
  { key: 'Software\\Policies\\Microsoft\\Windows\\System', valueName: 'EnableSmartScreen', type: RegType.REG_DWORD, data: encodeDword(1) },
  { key: KEY, valueName: 'Multi', type: RegType.REG_MULTI_SZ, data: encodeMultiSz(['only']) },
];

describe('Registry.pol interop with Samba (python3-samba NDR parser)', function () {
  let dir = '';

  before(function () {
    requireComponent(this, sambaPythonAvailable(), 'python3-samba', 'apt-get install python3-samba');
    dir = mkdtempSync(join(tmpdir(), 'ascend-samba-preg-'));
  });

  after(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  describe('a fixture of every type, every marker, delimiters in data and unicode', () => {
    it('Samba writes exactly the bytes we write', () => {
      const samba = sambaWrite(dir, 'fixture', FIXTURE);
      expect(hexOf(samba)).to.equal(hexOf(writeRegistryPol(FIXTURE)));
    });

    it('what Samba writes, we read to the same entries and write back byte-identical', () => {
      const samba = sambaWrite(dir, 'fixture-samba', FIXTURE);
      const ours = readRegistryPol(samba);
      expect(ours.map(toJson)).to.deep.equal(FIXTURE.map(toJson));
      expect(hexOf(writeRegistryPol(ours))).to.equal(hexOf(samba));
    });

    it('what we write, Samba reads to the same entries with the declared sizes', () => {
      const path = join(dir, 'fixture-ours.pol');
      writeFileSync(path, writeRegistryPol(FIXTURE));
      const samba = sambaReadOk(path);
      expect(comparable(samba)).to.deep.equal(FIXTURE.map(toJson));
      expect(samba.map((e) => e.size)).to.deep.equal(FIXTURE.map((e) => e.data.byteLength));
    });

    it('the delete markers are REG_SZ " " of size 4 to Samba too', () => {
      const path = join(dir, 'markers.pol');
      writeFileSync(path, writeRegistryPol([polEntry.deleteValue(KEY, 'Port'), polEntry.deleteAllValues(KEY)]));
      expect(sambaReadOk(path)).to.deep.equal([
        { key: KEY, value: '**del.Port', type: RegType.REG_SZ, size: 4, data_hex: '20000000' },
        { key: KEY, value: '**delvals.', type: RegType.REG_SZ, size: 4, data_hex: '20000000' },
      ]);
    });

    it('an empty file (header only) both ways', () => {
      const samba = sambaWrite(dir, 'empty', []);
      expect(hexOf(samba)).to.equal('5052656701000000');
      expect(readRegistryPol(samba)).to.deep.equal([]);
      const path = join(dir, 'empty-ours.pol');
      writeFileSync(path, writeRegistryPol([]));
      expect(sambaReadOk(path)).to.deep.equal([]);
    });
  });

  describe('random entries (fast-check, batched: one python call per run)', () => {
    const BATCH = 20;
    const batchArb = fc.array(fc.array(sambaEntryArb, { maxLength: 10 }), { minLength: BATCH, maxLength: BATCH });

    it('Samba writes, we read the same entries and write the same bytes', () => {
      fc.assert(
        fc.property(batchArb, (batch) => {
          const files = sambaWriteMany(dir, batch);
          files.forEach((bytes, i) => {
            const ours = readRegistryPol(bytes);
            expect(ours.map(toJson)).to.deep.equal(batch[i]!.map(toJson));
            expect(hexOf(writeRegistryPol(ours))).to.equal(hexOf(bytes));
            expect(hexOf(writeRegistryPol(batch[i]!))).to.equal(hexOf(bytes));
          });
        }),
        { numRuns: 10 },
      );
    });

    it('we write, Samba reads the same entries', () => {
      fc.assert(
        fc.property(batchArb, (batch) => {
          const paths = batch.map((entries, i) => {
            const p = join(dir, `ours-${i}.pol`);
            writeFileSync(p, writeRegistryPol(entries));
            return p;
          });
          const results = sambaReadMany(paths);
          results.forEach((r, i) => {
            expect(r.error, r.path).to.equal(undefined);
            expect(comparable(r.entries!)).to.deep.equal(batch[i]!.map(toJson));
          });
        }),
        { numRuns: 10 },
      );
    });
  });

  // Where Samba's parser differs from the format (and from us). These pin Samba's behaviour
  // so a change in a later Samba shows up here; none of them affects files we write.
  describe('where Samba differs (documented behaviour of Samba 4.17)', () => {
    function withFile(name: string, entries: PolEntry[]): string {
      const p = join(dir, `${name}.pol`);
      writeFileSync(p, writeRegistryPol(entries));
      return p;
    }

    it('Samba refuses a REG_SZ of size 0, which we read and keep', () => {
      const entries = [{ key: KEY, valueName: 'v', type: RegType.REG_SZ, data: new Uint8Array(0) }];
      expect(readRegistryPol(writeRegistryPol(entries))[0]!.data.byteLength).to.equal(0);
      expect(sambaRead(withFile('sz0', entries)).error).to.match(/Buffer Size Error/);
    });

    it('Samba drops the data of REG_NONE (writes size 0); we keep it', () => {
      const p = withFile('none-data', [{ key: KEY, valueName: 'v', type: RegType.REG_NONE, data: Uint8Array.from([1, 2]) }]);
      expect(sambaReadOk(p)).to.deep.equal([{ key: KEY, value: 'v', type: 0, size: 2, data_hex: '' }]);
    });

    it('Samba reads REG_SZ text up to the first NUL and writes text + one NUL; we keep the bytes', () => {
      const cases: [string, string][] = [
        ['61006200', '610062000000'], // unterminated: Samba adds a NUL
        ['6100000062000000', '61000000'], // embedded NUL: Samba drops what follows
        ['610000000000', '61000000'], // extra terminators: Samba drops them
      ];
      for (const [data, sambaData] of cases) {
        const entries = [{ key: KEY, valueName: 'v', type: RegType.REG_SZ, data: Buffer.from(data, 'hex') }];
        expect(hexOf(readRegistryPol(writeRegistryPol(entries))[0]!.data)).to.equal(data);
        const s = sambaReadOk(withFile(`sz-${data}`, entries));
        expect(s[0]!.size).to.equal(data.length / 2);
        expect(s[0]!.data_hex).to.equal(sambaData);
      }
    });

    it('Samba refuses lone surrogates in names and string data (character conversion error); we keep them', () => {
      const lone = [
        { key: 'K\ud800', valueName: 'v', type: RegType.REG_DWORD, data: encodeDword(1) },
        { key: 'K', valueName: '\udc00', type: RegType.REG_DWORD, data: encodeDword(1) },
        { key: 'K', valueName: 'v', type: RegType.REG_SZ, data: encodeSz('\ud800') },
      ];
      for (const [i, e] of lone.entries()) {
        const bytes = writeRegistryPol([e]);
        expect(hexOf(writeRegistryPol(readRegistryPol(bytes)))).to.equal(hexOf(bytes));
        expect(sambaRead(withFile(`lone-${i}`, [e])).error).to.match(/Character Conversion Error/);
      }
    });

    it('Samba accepts what we refuse: odd REG_SZ sizes, a 5-byte DWORD, a bad signature or version', () => {
      // Built by hand: our writer refuses these entries.
      const rec = (type: number, data: string): string =>
        '5b00' + '4b00' + '0000' + '3b00' + '7600' + '0000' + '3b00' + Buffer.from(Uint32Array.of(type).buffer).toString('hex') + '3b00' + Buffer.from(Uint32Array.of(data.length / 2).buffer).toString('hex') + '3b00' + data + '5d00';
      const files: [string, string, string][] = [
        ['odd-sz', '5052656701000000' + rec(1, '610062'), 'ASC_POL_ODD_UTF16'],
        ['dword5', '5052656701000000' + rec(4, '0102030405'), 'ASC_POL_BAD_DATA_SIZE'],
        ['bad-sig', '5852656701000000', 'ASC_POL_BAD_SIGNATURE'],
        ['bad-ver', '5052656702000000', 'ASC_POL_BAD_VERSION'],
      ];
      for (const [name, h, code] of files) {
        const p = join(dir, `${name}.pol`);
        writeFileSync(p, Buffer.from(h, 'hex'));
        expect(() => readRegistryPol(Buffer.from(h, 'hex'))).to.throw(RegistryPolError).with.property('code', code);
        expect(sambaRead(p).error, name).to.equal(undefined);
      }
    });

    it('Samba, like us, refuses trailing bytes and a truncated file', () => {
      const good = writeRegistryPol([polEntry.dword(KEY, 'v', 1)]);
      const trailing = join(dir, 'trailing.pol');
      writeFileSync(trailing, Buffer.concat([good, Buffer.from('0000', 'hex')]));
      expect(sambaRead(trailing).error).to.match(/Unread Bytes/);
      const truncated = join(dir, 'truncated.pol');
      writeFileSync(truncated, good.subarray(0, good.length - 3));
      expect(sambaRead(truncated).error).to.be.a('string');
    });
  });
});
