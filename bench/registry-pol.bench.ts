/**
 * Registry.pol codec benchmark: our reader and writer against Samba's NDR parser
 * (python3-samba) on the same ~14 MB file of 100,000 entries.
 *
 * Run with `npm run bench` (all benches) or `npx tsx bench/registry-pol.bench.ts`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { encodeDword, polEntry, readRegistryPol, RegType, writeRegistryPol, type PolEntry } from '../src/formats/registry-pol/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const HELPER = resolve(HERE, '../scripts/samba_preg.py');
const SAMBA_PYTHON = '/usr/bin/python3';

export const ENTRY_COUNT = 100_000;
const WARMUP = 3;
const RUNS = 9;

/** A small deterministic PRNG (mulberry32), so every run benchmarks the same file. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VENDORS = ['Microsoft\\Windows', 'Microsoft\\Edge', 'Google\\Chrome', 'Mozilla\\Firefox', 'Ascend\\PrivilegeManager', 'Adobe\\Reader', 'Citrix\\ICA'];
const AREAS = ['System', 'Network', 'Rules', 'Update', 'Security', 'Explorer', 'Printers', 'Search', 'Defender', 'Approvals'];
const WORDS = ['Enable', 'Disable', 'Allow', 'Block', 'Max', 'Min', 'Timeout', 'Interval', 'Host', 'Port', 'Path', 'List', 'Mode', 'Level', 'Policy', 'Audit'];

/**
 * A realistic mix: keys under SOFTWARE\Policies\..., several values per key, REG_SZ and
 * REG_DWORD mostly, then REG_MULTI_SZ, REG_EXPAND_SZ, REG_BINARY, REG_QWORD and the
 * **delvals. / **del. markers. About 140 bytes per entry on average.
 */
export function generateEntries(count: number, seed = 20240601): PolEntry[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const word = (): string => pick(WORDS);
  const entries: PolEntry[] = [];
  let key = '';
  let left = 0;
  while (entries.length < count) {
    if (left === 0) {
      key = `SOFTWARE\\Policies\\${pick(VENDORS)}\\${pick(AREAS)}`;
      if (rnd() < 0.1) key += `\\${word()}${Math.floor(rnd() * 100)}`;
      left = 1 + Math.floor(rnd() * 12);
      if (rnd() < 0.15) {
        entries.push(polEntry.deleteAllValues(key));
        continue;
      }
    }
    left--;
    const name = `${word()}${rnd() < 0.5 ? word() : ''}${rnd() < 0.3 ? Math.floor(rnd() * 100) : ''}`;
    const r = rnd();
    if (r < 0.36) entries.push(polEntry.sz(key, name, `${word().toLowerCase()}.example.com;${word()}=${Math.floor(rnd() * 1e6)}`.slice(0, 4 + Math.floor(rnd() * 16))));
    else if (r < 0.66) entries.push(polEntry.dword(key, name, Math.floor(rnd() * 0xffffffff)));
    else if (r < 0.74) entries.push(polEntry.multiSz(key, name, Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => `${word()}\\${word()}`)));
    else if (r < 0.79) entries.push(polEntry.expandSz(key, name, `%ProgramFiles%\\${word()}\\${word()}.exe`));
    else if (r < 0.84) {
      const data = new Uint8Array(4 + Math.floor(rnd() * 16));
      for (let i = 0; i < data.length; i++) data[i] = Math.floor(rnd() * 256);
      entries.push({ key, valueName: name, type: RegType.REG_BINARY, data });
    } else if (r < 0.89) entries.push(polEntry.qword(key, name, BigInt(Math.floor(rnd() * Number.MAX_SAFE_INTEGER))));
    else if (r < 0.96) entries.push(polEntry.deleteValue(key, name));
    else entries.push({ key, valueName: '**SecureKey', type: RegType.REG_DWORD, data: encodeDword(1) });
  }
  return entries;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function time(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

interface Figures {
  medianMs: number;
  mbPerS: number;
  runs: number[];
}

function figures(runs: number[], bytes: number): Figures {
  const medianMs = median(runs);
  return { medianMs, mbPerS: bytes / 1e6 / (medianMs / 1000), runs };
}

function measureOurs(bytes: Uint8Array): { read: Figures; write: Figures; identical: boolean } {
  let entries: PolEntry[] = [];
  for (let i = 0; i < WARMUP; i++) entries = readRegistryPol(bytes);
  const readRuns: number[] = [];
  for (let i = 0; i < RUNS; i++) readRuns.push(time(() => (entries = readRegistryPol(bytes))));
  let out: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < WARMUP; i++) out = writeRegistryPol(entries);
  const writeRuns: number[] = [];
  for (let i = 0; i < RUNS; i++) writeRuns.push(time(() => (out = writeRegistryPol(entries))));
  const identical = Buffer.compare(Buffer.from(out.buffer, out.byteOffset, out.byteLength), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) === 0;
  return { read: figures(readRuns, bytes.byteLength), write: figures(writeRuns, bytes.byteLength), identical };
}

interface SambaResult {
  read?: Figures;
  write?: Figures;
  identical?: boolean;
  missing?: string;
}

function measureSamba(path: string, size: number): SambaResult {
  if (!existsSync(SAMBA_PYTHON)) return { missing: `${SAMBA_PYTHON} not found` };
  const probe = spawnSync(SAMBA_PYTHON, ['-c', 'from samba.dcerpc import preg; from samba import ndr'], { encoding: 'utf8' });
  if (probe.status !== 0) return { missing: 'python3-samba is not installed (apt-get install python3-samba)' };
  const r = spawnSync(SAMBA_PYTHON, [HELPER, 'bench', path, String(RUNS)], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) return { missing: `samba_preg.py bench failed: ${r.stderr.trim() || r.stdout.trim()}` };
  const j = JSON.parse(r.stdout) as { read_ms: number[]; write_ms: number[]; write_identical: boolean };
  return { read: figures(j.read_ms, size), write: figures(j.write_ms, size), identical: j.write_identical };
}

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
}

export interface RegistryPolBenchResult {
  bytes: number;
  entries: number;
  ours: { read: Figures; write: Figures };
  samba: SambaResult;
}

export async function run(): Promise<RegistryPolBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ascend-bench-pol-'));
  try {
    const entries = generateEntries(ENTRY_COUNT);
    const bytes = writeRegistryPol(entries);
    const path = join(dir, 'Registry.pol');
    writeFileSync(path, bytes);
    const size = bytes.byteLength;
    const mix = new Map<string, number>();
    for (const e of entries) {
      const k = e.valueName.startsWith('**') ? e.valueName.replace(/\..*$/, '.').replace(/^\*\*SecureKey$/, '**SecureKey') : `type ${e.type}`;
      mix.set(k, (mix.get(k) ?? 0) + 1);
    }

    console.log(`Registry.pol benchmark: ${entries.length.toLocaleString('en-US')} entries, ${(size / 1e6).toFixed(2)} MB (${(size / entries.length).toFixed(1)} bytes/entry), ${path}`);
    console.log(`  mix: ${[...mix.entries()].map(([k, n]) => `${k} ${((100 * n) / entries.length).toFixed(1)}%`).join(', ')}`);
    console.log(`  ${WARMUP} warm-up runs, then ${RUNS} timed runs; figures are medians`);

    const ours = measureOurs(bytes);
    if (!ours.identical) console.log('  WARNING: our write(read(file)) is not byte-identical to the file');
    const samba = measureSamba(path, size);

    const widths = [22, 12, 10, 12, 10, 12];
    console.log('');
    console.log(row(['', 'read ms', 'read MB/s', 'write ms', 'write MB/s', ''], widths));
    console.log(row(['Ascend (TypeScript)', ours.read.medianMs.toFixed(2), ours.read.mbPerS.toFixed(1), ours.write.medianMs.toFixed(2), ours.write.mbPerS.toFixed(1), ''], widths));
    if (samba.read && samba.write) {
      console.log(row(['Samba 4 NDR (python)', samba.read.medianMs.toFixed(2), samba.read.mbPerS.toFixed(1), samba.write.medianMs.toFixed(2), samba.write.mbPerS.toFixed(1), ''], widths));
      const rr = ours.read.mbPerS / samba.read.mbPerS;
      const wr = ours.write.mbPerS / samba.write.mbPerS;
      console.log(row(['ours / Samba', `${rr.toFixed(1)}x`, '', `${wr.toFixed(1)}x`, '', ''], widths));
      console.log('');
      console.log(`  target >= 5x, aim 20x: read ${rr >= 20 ? 'meets 20x' : rr >= 5 ? 'meets 5x (below 20x)' : 'BELOW 5x'}, write ${wr >= 20 ? 'meets 20x' : wr >= 5 ? 'meets 5x (below 20x)' : 'BELOW 5x'}`);
      if (samba.identical === false) console.log('  note: Samba\'s ndr_pack of its own read is not byte-identical to the file');
    } else {
      console.log(`Samba 4 NDR (python)    not measured: ${samba.missing ?? 'unknown reason'}`);
    }
    console.log(`  ours runs (ms): read ${ours.read.runs.map((x) => x.toFixed(1)).join(' ')} | write ${ours.write.runs.map((x) => x.toFixed(1)).join(' ')}`);
    if (samba.read && samba.write) console.log(`  Samba runs (ms): read ${samba.read.runs.map((x) => x.toFixed(1)).join(' ')} | write ${samba.write.runs.map((x) => x.toFixed(1)).join(' ')}`);
    return { bytes: size, entries: entries.length, ours, samba };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Run directly: `npx tsx bench/registry-pol.bench.ts`
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await run();
}
