/**
 * The program a user asks to elevate, as the agent checks it before any rule sees it: the
 * real path (symbolic links resolved, so a link can not borrow another program's rules),
 * opened once — what runs is the file that was judged, from that descriptor, never the path
 * opened again — a regular executable file, its SHA-256 (read through the same descriptor),
 * and whether anyone untrusted could change it (./trust.ts).
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { openRegularOnly } from '../../src/open-regular.js';
import { AscendError } from '../../src/errors.js';
import { shownPath, trustOf, type TrustVerdict } from './trust.js';

const MAX_HASHED_BYTES = 2 ** 30;
const CHUNK = 1 << 20;

export interface ProgramInfo {
  /** The real path: what rules match. */
  path: string;
  sha256?: string;
  /**
   * The program, open read-only (opened without following links and without blocking on a
   * FIFO), checked to be the file at `path`: what is hashed, judged and run. The caller closes it.
   */
  handle: FileHandle;
  /** Whether a rule may elevate it: only root (or a trusted owner) can change it or a folder above it. */
  trust: TrustVerdict;
}

export interface InspectOptions {
  /** Hash it: some rule matches on SHA-256 (hashing a large file costs). */
  hash: boolean;
  /** Uids trusted to own programs and their folders, besides root. */
  trustedOwners: ReadonlySet<number>;
}

/** SHA-256 of the whole file through the handle (positional reads: the offset is left alone). */
export async function sha256Of(handle: FileHandle, size: number, shown: string): Promise<string> {
  if (size > MAX_HASHED_BYTES) throw new AscendError('ASC_EXEC_FAILED', `the program ${shown} is larger than ${MAX_HASHED_BYTES / 2 ** 20} MiB, which the agent does not hash`);
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(CHUNK);
  let total = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buf, 0, CHUNK, total);
    if (bytesRead === 0) break;
    total += bytesRead;
    if (total > MAX_HASHED_BYTES) throw new AscendError('ASC_EXEC_FAILED', `the program ${shown} grew past ${MAX_HASHED_BYTES / 2 ** 20} MiB while it was hashed`);
    hash.update(buf.subarray(0, bytesRead));
  }
  return hash.digest('hex');
}

/**
 * Opens `file` (a real path) read-only, without following a link, without blocking on a FIFO,
 * and only once it was seen to be a regular file: the agent, root, does not open what a user
 * names when it is a terminal (a session leader would take it as its controlling terminal,
 * and the user's hang-up would signal the agent) or a device whose open does something.
 */
async function openRegularFile(file: string, what: string): Promise<FileHandle> {
  const pre = await fs.lstat(file).catch(() => null);
  if (!pre) throw new AscendError('ASC_EXEC_FAILED', `${what} does not exist`);
  if (pre.isSymbolicLink()) throw new AscendError('ASC_EXEC_FAILED', `${what} changed while it was checked`);
  if (!pre.isFile()) throw new AscendError('ASC_EXEC_FAILED', `${what} is not a regular file`);
  try {
    // Opened only as the regular file it is by then (src/open-regular.ts): a folder of the path
    // swapped for a link since the lstat does not make root open a device.
    const handle = await openRegularOnly(file);
    if (handle === null) throw new AscendError('ASC_EXEC_FAILED', `${what} changed while it was checked`);
    const st = await handle.stat().catch(() => null);
    if (st === null || st.dev !== pre.dev || st.ino !== pre.ino) {
      await handle.close();
      throw new AscendError('ASC_EXEC_FAILED', `${what} changed while it was checked`);
    }
    return handle;
  } catch (e) {
    if (e instanceof AscendError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new AscendError('ASC_EXEC_FAILED', code === 'ELOOP' ? `${what} changed while it was checked` : `${what} could not be opened (${code ?? 'error'})`);
  }
}

/** What the kernel reads of a script's first line (BINPRM_BUF_SIZE), and how deep it follows interpreters that are scripts. */
const SHEBANG_BYTES = 256;
const MAX_INTERPRETER_DEPTH = 4;

/**
 * The interpreter a file starting with `#!` names (as the kernel splits the line: blanks,
 * then the interpreter up to a blank, tab, newline or NUL), null for a file that does not
 * start with `#!`, or `{ unreadable }` when the line does not end within what the agent reads.
 */
export function shebangInterpreter(head: Uint8Array): string | null | { unreadable: string } {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.length < 2 || b[0] !== 0x23 || b[1] !== 0x21) return null;
  const isBlank = (c: number | undefined) => c === 0x20 || c === 0x09;
  const ends = (c: number | undefined) => c === undefined || c === 0x20 || c === 0x09 || c === 0x0a || c === 0x00;
  let i = 2;
  while (isBlank(b[i])) i++;
  const start = i;
  while (i < b.length && !ends(b[i])) i++;
  if (i >= b.length) return { unreadable: `its #! line is longer than ${b.length} bytes` };
  if (i === start) return { unreadable: 'its #! line names no interpreter' };
  return b.subarray(start, i).toString('latin1');
}

/**
 * The program interpreter an ELF file names (its PT_INTERP header: the dynamic loader the
 * kernel maps to start it), null for a file that is not ELF or names none (a static binary),
 * or `{ unreadable }` for an ELF file whose headers do not say.
 */
async function elfInterpreter(handle: FileHandle): Promise<string | null | { unreadable: string }> {
  const read = async (length: number, at: number): Promise<Buffer> => {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buf, 0, length, at);
    return buf.subarray(0, bytesRead);
  };
  const h = await read(64, 0);
  if (h.length < 4 || h.readUInt32BE(0) !== 0x7f454c46) return null;
  const wide = h[4] === 2;
  const le = h[5] === 1;
  if ((h[4] !== 1 && h[4] !== 2) || (h[5] !== 1 && h[5] !== 2) || h.length < (wide ? 64 : 52)) return { unreadable: 'its ELF header is not one the agent can read' };
  const u16 = (b: Buffer, at: number) => (le ? b.readUInt16LE(at) : b.readUInt16BE(at));
  const u32 = (b: Buffer, at: number) => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const u64 = (b: Buffer, at: number) => Number(le ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at));
  const phoff = wide ? u64(h, 0x20) : u32(h, 0x1c);
  const phentsize = u16(h, wide ? 0x36 : 0x2a);
  const phnum = u16(h, wide ? 0x38 : 0x2c);
  if (phentsize < (wide ? 56 : 32) || phentsize * phnum > 65536 || !Number.isSafeInteger(phoff)) return { unreadable: 'its ELF program headers are not ones the agent can read' };
  const ph = await read(phentsize * phnum, phoff);
  if (ph.length < phentsize * phnum) return { unreadable: 'its ELF program headers end early' };
  for (let i = 0; i < phnum; i++) {
    const at = i * phentsize;
    if (u32(ph, at) !== 3) continue; // PT_INTERP: the kernel uses the first
    const offset = wide ? u64(ph, at + 0x08) : u32(ph, at + 0x04);
    const size = wide ? u64(ph, at + 0x20) : u32(ph, at + 0x10);
    if (size < 2 || size > 4096 || !Number.isSafeInteger(offset)) return { unreadable: 'its ELF interpreter entry is malformed' };
    const name = await read(size, offset);
    const end = name.indexOf(0);
    if (end <= 0) return { unreadable: 'its ELF interpreter name is malformed' };
    return name.subarray(0, end).toString('latin1');
  }
  return null;
}

/**
 * Whether the interpreter of the script open on `handle` (and the interpreter of that, when it
 * is a script too) may run elevated: judged as the program is. A file that is no script is trusted.
 */
async function interpreterTrust(handle: FileHandle, trustedOwners: ReadonlySet<number>, depth: number): Promise<TrustVerdict> {
  const head = Buffer.alloc(SHEBANG_BYTES);
  const { bytesRead } = await handle.read(head, 0, SHEBANG_BYTES, 0);
  const script = shebangInterpreter(head.subarray(0, bytesRead));
  // Not a script: an ELF binary runs its dynamic loader (which itself names none the kernel follows).
  const elf = script === null ? await elfInterpreter(handle) : null;
  const interp = script ?? elf;
  if (interp === null) return { trusted: true };
  if (typeof interp !== 'string') return { trusted: false, reason: `its interpreter cannot be checked: ${interp.unreadable}` };
  const shown = shownPath(interp);
  if (!path.isAbsolute(interp)) return { trusted: false, reason: `its interpreter ${shown} is a relative path, found from the working folder` };
  if (depth >= MAX_INTERPRETER_DEPTH) return { trusted: false, reason: `its interpreter ${shown} is a script more than ${MAX_INTERPRETER_DEPTH} levels deep` };
  let real: string;
  let h: FileHandle;
  try {
    real = await fs.realpath(interp);
    h = await openRegularFile(real, `its interpreter ${shown}`);
  } catch (e) {
    return { trusted: false, reason: e instanceof AscendError ? e.message : `its interpreter ${shown} does not exist` };
  }
  try {
    const t = await trustOf(h, real, trustedOwners);
    if (!t.trusted) return { trusted: false, reason: `its interpreter ${shown} can be changed: ${t.reason}` };
    return script === null ? { trusted: true } : await interpreterTrust(h, trustedOwners, depth + 1);
  } finally {
    await h.close();
  }
}

/**
 * Checks the program: it must be an absolute path to a regular file with an execute bit.
 * Returns it open (see ProgramInfo.handle); on a throw nothing is left open.
 */
export async function inspectProgram(requested: string, opts: InspectOptions): Promise<ProgramInfo> {
  const shown = shownPath(requested);
  if (!path.isAbsolute(requested)) throw new AscendError('ASC_EXEC_FAILED', `the program "${shown}" is not an absolute path`, { hint: 'give the full path, or a name on your PATH' });
  let real: string;
  try {
    real = await fs.realpath(requested);
  } catch {
    throw new AscendError('ASC_EXEC_FAILED', `the program ${shown} does not exist`);
  }
  const handle = await openRegularFile(real, `the program ${shown}`);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new AscendError('ASC_EXEC_FAILED', `the program ${shown} is not a regular file`);
    if ((st.mode & 0o111) === 0) throw new AscendError('ASC_EXEC_FAILED', `the program ${shown} is not executable`);
    let trust = await trustOf(handle, real, opts.trustedOwners);
    // A script runs its interpreter elevated: that file, too, only root may change.
    if (trust.trusted) trust = await interpreterTrust(handle, opts.trustedOwners, 0);
    // The descriptor must be the file now at the real path that was judged (no swap in between).
    const now = await fs.lstat(real).catch(() => null);
    if (!now || now.dev !== st.dev || now.ino !== st.ino) throw new AscendError('ASC_EXEC_FAILED', `the program ${shown} changed while it was checked`);
    const sha256 = opts.hash ? await sha256Of(handle, st.size, shown) : undefined;
    return { path: real, ...(sha256 ? { sha256 } : {}), handle, trust };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/**
 * The arguments as one command line in the form rules match (as Windows programs receive
 * it): an argument with a blank or a quote is quoted, inner quotes escaped.
 */
export function commandLineOf(args: readonly string[]): string {
  return args
    .map((a) => {
      if (a !== '' && !/[\s"]/.test(a)) return a;
      let out = '"';
      let slashes = 0;
      for (const ch of a) {
        if (ch === '\\') {
          slashes++;
          continue;
        }
        if (ch === '"') out += '\\'.repeat(slashes * 2 + 1) + '"';
        else out += '\\'.repeat(slashes) + ch;
        slashes = 0;
      }
      return `${out}${'\\'.repeat(slashes * 2)}"`;
    })
    .join(' ');
}
