/**
 * Registry.pol codec benchmark: our reader and writer against Samba's NDR parser
 * (python3-samba) on the same ~14 MB file of 100,000 entries.
 *
 * Run with `npm run bench` (all benches) or `npx tsx bench/registry-pol.bench.ts`.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { encodeDword, polEntry, readRegistryPol, RegistryPolReader, RegType, regTypeName, writeRegistryPol, type PolEntry } from '../src/formats/registry-pol/index.js';
import { median, prng, row } from './support.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const HELPER = resolve(HERE, '../scripts/samba_preg.py');
const SAMBA_PYTHON = '/usr/bin/python3';

export const ENTRY_COUNT = 100_000;
const WARMUP = 10;
const RUNS = 11;

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

/** Reads every entry one at a time without keeping them (a consumer that streams). */
function streamRead(bytes: Uint8Array): number {
  const reader = new RegistryPolReader(bytes);
  reader.readHeader();
  let n = 0;
  for (let e = reader.readEntry(); e !== undefined; e = reader.readEntry()) n += e.data.byteLength > 0 ? 1 : 0;
  return n;
}

/**
 * Samba's parser in a python process that stays up (`samba_preg.py serve`): each request
 * times one ndr_unpack or ndr_pack inside python, so interpreter start-up is excluded and
 * its runs can alternate with ours (a busy machine then slows both sides alike).
 */
class SambaServer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: ((line: string) => void)[] = [];
  private readonly lines: string[] = [];
  private stderr = '';

  private constructor(path: string) {
    this.child = spawn(SAMBA_PYTHON, [HELPER, 'serve', path]);
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const w = this.waiting.shift();
      if (w) w(line);
      else this.lines.push(line);
    });
    this.child.on('exit', () => {
      for (const w of this.waiting.splice(0)) w(`exit ${this.stderr.trim()}`);
    });
  }

  private next(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolvePromise) => this.waiting.push(resolvePromise));
  }

  /** Starts the server, or says why Samba cannot be measured. */
  static async start(path: string): Promise<{ server: SambaServer; entries: number; identical: boolean } | { missing: string }> {
    if (!existsSync(SAMBA_PYTHON)) return { missing: `${SAMBA_PYTHON} not found` };
    const probe = spawnSync(SAMBA_PYTHON, ['-c', 'from samba.dcerpc import preg; from samba import ndr'], { encoding: 'utf8' });
    if (probe.status !== 0) return { missing: 'python3-samba is not installed (apt-get install python3-samba)' };
    const server = new SambaServer(path);
    const ready = await server.next();
    const m = /^ready (\d+) ([01])$/.exec(ready);
    if (!m) {
      server.close();
      return { missing: `samba_preg.py serve failed: ${ready}` };
    }
    return { server, entries: Number(m[1]), identical: m[2] === '1' };
  }

  async time(what: 'read' | 'readall' | 'write'): Promise<number> {
    this.child.stdin.write(`${what}\n`);
    const line = await this.next();
    const ms = Number(line);
    if (!Number.isFinite(ms)) throw new Error(`samba_preg.py serve: ${line}`);
    return ms;
  }

  close(): void {
    this.child.stdin.end('quit\n');
  }
}

export interface RegistryPolBenchResult {
  bytes: number;
  entries: number;
  ours: { read: Figures; stream: Figures; touch: Figures; write: Figures; identical: boolean };
  samba: { read: Figures; readAll: Figures; write: Figures; identical: boolean } | { missing: string };
}

function makeFile(): { bytes: Uint8Array; count: number; mix: Map<string, number> } {
  const entries = generateEntries(ENTRY_COUNT);
  const mix = new Map<string, number>();
  for (const e of entries) {
    const k = e.valueName.startsWith('**') ? e.valueName.replace(/\..*$/, '.') : regTypeName(e.type);
    mix.set(k, (mix.get(k) ?? 0) + 1);
  }
  return { bytes: writeRegistryPol(entries), count: entries.length, mix };
}

function verdict(ratio: number): string {
  return ratio >= 20 ? 'meets 20x' : ratio >= 5 ? 'meets 5x (below the 20x aim)' : 'BELOW 5x';
}

export async function run(): Promise<RegistryPolBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ascend-bench-pol-'));
  let server: SambaServer | undefined;
  try {
    // The generated entries are dropped once the file is written, so they do not sit in the heap while we time.
    const { bytes, count, mix } = makeFile();
    const path = join(dir, 'Registry.pol');
    writeFileSync(path, bytes);
    const size = bytes.byteLength;
    console.log(`Registry.pol benchmark: ${count.toLocaleString('en-US')} entries, ${(size / 1e6).toFixed(2)} MB (${(size / count).toFixed(1)} bytes/entry)`);
    console.log(`  mix: ${[...mix.entries()].map(([k, n]) => `${k} ${((100 * n) / count).toFixed(1)}%`).join(', ')}`);

    // Streaming reads first: after many full reads V8 tends to pretenure the entry objects,
    // which makes short-lived entries survive scavenges and skews this (informative) figure.
    for (let i = 0; i < WARMUP; i++) streamRead(bytes);
    const streamRuns: number[] = [];
    for (let i = 0; i < RUNS; i++) streamRuns.push(time(() => streamRead(bytes)));

    const started = await SambaServer.start(path);
    let sambaIdentical = false;
    if ('server' in started) {
      server = started.server;
      sambaIdentical = started.identical;
      if (started.entries !== count) throw new Error(`Samba read ${started.entries} entries, not ${count}`);
    }

    let entries: PolEntry[] = [];
    let out: Uint8Array = new Uint8Array(0);
    for (let i = 0; i < WARMUP; i++) {
      entries = [];
      entries = readRegistryPol(bytes);
      out = writeRegistryPol(entries);
    }
    if (server) for (let i = 0; i < 2; i++) await server.time('read'), await server.time('write');

    // Timed rounds: our read, Samba's read, our write, Samba's write, alternating.
    const ours = { read: [] as number[], write: [] as number[] };
    const samba = { read: [] as number[], readAll: [] as number[], write: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      entries = []; // drop the previous read before timing the next (as the Samba side does)
      ours.read.push(time(() => (entries = readRegistryPol(bytes))));
      if (server) samba.read.push(await server.time('read'));
      ours.write.push(time(() => (out = writeRegistryPol(entries))));
      if (server) samba.write.push(await server.time('write'));
      if (server) samba.readAll.push(await server.time('readall'));
    }
    // Informative: the read plus every value name decoded and every data view made, which
    // the reader otherwise defers to first use.
    const touchRuns: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      entries = [];
      touchRuns.push(
        time(() => {
          entries = readRegistryPol(bytes);
          let n = 0;
          for (const e of entries) n += e.valueName.length + e.data.byteLength;
          return n;
        }),
      );
    }
    const identical = Buffer.compare(Buffer.from(out.buffer, out.byteOffset, out.byteLength), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) === 0;
    const oursFig = { read: figures(ours.read, size), stream: figures(streamRuns, size), touch: figures(touchRuns, size), write: figures(ours.write, size), identical };

    console.log(`  ${WARMUP} warm-up runs, then ${RUNS} timed rounds (ours and Samba's alternating); figures are medians`);
    if (!identical) console.log('  WARNING: our write(read(file)) is not byte-identical to the file');
    const widths = [26, 10, 10, 10, 11];
    console.log('');
    console.log(row(['', 'read ms', 'read MB/s', 'write ms', 'write MB/s'], widths));
    console.log(row(['Ascend (TypeScript)', oursFig.read.medianMs.toFixed(2), oursFig.read.mbPerS.toFixed(1), oursFig.write.medianMs.toFixed(2), oursFig.write.mbPerS.toFixed(1)], widths));
    let sambaFig: RegistryPolBenchResult['samba'];
    if (server) {
      sambaFig = { read: figures(samba.read, size), readAll: figures(samba.readAll, size), write: figures(samba.write, size), identical: sambaIdentical };
      const rr = oursFig.read.mbPerS / sambaFig.read.mbPerS;
      const wr = oursFig.write.mbPerS / sambaFig.write.mbPerS;
      console.log(row(['Samba 4 NDR (python3)', sambaFig.read.medianMs.toFixed(2), sambaFig.read.mbPerS.toFixed(1), sambaFig.write.medianMs.toFixed(2), sambaFig.write.mbPerS.toFixed(1)], widths));
      console.log(row(['ours / Samba', `${rr.toFixed(1)}x`, '', `${wr.toFixed(1)}x`, ''], widths));
      console.log('');
      console.log('  for information (not in the ratios above):');
      console.log(row(['  our streaming read', oursFig.stream.medianMs.toFixed(2), oursFig.stream.mbPerS.toFixed(1), `${(oursFig.stream.mbPerS / sambaFig.read.mbPerS).toFixed(1)}x Samba`, ''], widths));
      console.log(row(['  our read, all decoded', oursFig.touch.medianMs.toFixed(2), oursFig.touch.mbPerS.toFixed(1), `${(oursFig.touch.mbPerS / sambaFig.read.mbPerS).toFixed(1)}x Samba`, ''], widths));
      console.log(row(['  Samba unpack+entries', sambaFig.readAll.medianMs.toFixed(2), sambaFig.readAll.mbPerS.toFixed(1), `ours ${(oursFig.read.mbPerS / sambaFig.readAll.mbPerS).toFixed(1)}x`, ''], widths));
      console.log('');
      console.log(`  target >= 5x, aim 20x: read ${verdict(rr)}; write ${verdict(wr)}`);
      if (!sambaIdentical) console.log("  note: Samba's ndr_pack of its own read is not byte-identical to the file");
    } else {
      sambaFig = { missing: 'missing' in started ? started.missing : 'unknown' };
      console.log(row(['our streaming read (info)', oursFig.stream.medianMs.toFixed(2), oursFig.stream.mbPerS.toFixed(1), '', ''], widths));
      console.log(`  Samba not measured: ${sambaFig.missing}`);
    }
    console.log('  our streaming read = RegistryPolReader.readEntry() over the whole file, entries not kept');
    console.log('  our read, all decoded = readRegistryPol, then every value name decoded and every data view made (the reader defers both to first use)');
    if ('read' in sambaFig) console.log('  Samba unpack+entries = ndr_unpack, then every entry as Python values (what a Python consumer such as gp_pol pays)');
    console.log(`  ours  (ms): read ${oursFig.read.runs.map((x) => x.toFixed(1)).join(' ')} | write ${oursFig.write.runs.map((x) => x.toFixed(1)).join(' ')}`);
    if ('read' in sambaFig) console.log(`  Samba (ms): read ${sambaFig.read.runs.map((x) => x.toFixed(1)).join(' ')} | write ${sambaFig.write.runs.map((x) => x.toFixed(1)).join(' ')}`);
    return { bytes: size, entries: count, ours: oursFig, samba: sambaFig };
  } finally {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// Run directly: `npx tsx bench/registry-pol.bench.ts`
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await run();
}
