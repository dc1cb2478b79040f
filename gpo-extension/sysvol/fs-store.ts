/**
 * SYSVOL as a folder: the DC's own sysvol folder, a mount of the share, or (on Windows)
 * a UNC path such as \\corp.example.test\SYSVOL.
 */
import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import { AscendError } from '../../src/errors.js';
import { replaceFileAtomically } from '../../src/atomic-file.js';
import { checkPath, type SysvolStore } from './store.js';

function errCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

function isMissing(e: unknown): boolean {
  const c = errCode(e);
  return c === 'ENOENT' || c === 'ENOTDIR';
}

/**
 * rename(2) replaces the target atomically. On Windows (a UNC path to SYSVOL) a reader
 * holding the target open makes the rename fail for a moment with EPERM/EACCES/EBUSY;
 * retry that for about 3 s, as SmbSysvolStore does for a sharing violation.
 */

export class FsSysvolStore implements SysvolStore {
  readonly description: string;
  private readonly root: string;

  constructor(root: string) {
    if (typeof root !== 'string' || root === '') throw new AscendError('ASC_CONFIG', 'the SYSVOL folder is empty');
    this.root = resolve(root);
    this.description = this.root;
  }

  private at(segments: readonly string[]): string {
    return segments.length === 0 ? this.root : join(this.root, ...segments);
  }

  private fail(what: string, segments: readonly string[], e: unknown): AscendError {
    const c = errCode(e);
    const words: Record<string, string> = {
      ENOENT: 'a folder on the path does not exist',
      ENOTDIR: 'a file is in the way of a folder on the path',
      EEXIST: 'a file is in the way',
      EISDIR: 'it is a folder',
      EACCES: 'permission denied',
      EPERM: 'operation not permitted',
      ENOSPC: 'no space left on the device',
      EROFS: 'the filesystem is read-only',
    };
    const word = c !== undefined ? words[c] : undefined;
    const reason = word !== undefined ? `${word} (${c})` : c ?? (e instanceof Error ? e.message : String(e));
    return new AscendError('ASC_SYSVOL_IO', `${what} ${this.at(segments)} failed: ${reason}`, { cause: e });
  }

  async read(path: readonly string[]): Promise<Uint8Array | undefined> {
    const segs = checkPath(path, 1);
    try {
      const buf = await fsp.readFile(this.at(segs));
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw this.fail('reading', segs, e);
    }
  }

  async write(path: readonly string[], data: Uint8Array): Promise<void> {
    const segs = checkPath(path, 1);
    const target = this.at(segs);
    try {
      await replaceFileAtomically(target, data);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EISDIR') throw new AscendError('ASC_SYSVOL_IO', `writing ${target} failed: it is a folder`);
      throw this.fail('writing', segs, e);
    }
  }

  async mkdir(path: readonly string[]): Promise<void> {
    const segs = checkPath(path);
    try {
      await fsp.mkdir(this.at(segs), { recursive: true });
    } catch (e) {
      throw this.fail('creating the folder', segs, e);
    }
    let st: Awaited<ReturnType<typeof fsp.stat>>;
    try {
      st = await fsp.stat(this.at(segs));
    } catch (e) {
      throw this.fail('creating the folder', segs, e);
    }
    if (!st.isDirectory()) throw new AscendError('ASC_SYSVOL_IO', `creating the folder ${this.at(segs)} failed: a file of that name is in the way`);
  }

  async exists(path: readonly string[]): Promise<boolean> {
    const segs = checkPath(path);
    try {
      await fsp.lstat(this.at(segs));
      return true;
    } catch (e) {
      if (isMissing(e)) return false;
      throw this.fail('looking up', segs, e);
    }
  }

  async removeTree(path: readonly string[]): Promise<void> {
    const segs = checkPath(path, 1);
    try {
      await fsp.rm(this.at(segs), { recursive: true, force: true });
    } catch (e) {
      if (isMissing(e)) return;
      throw this.fail('removing', segs, e);
    }
  }

  async list(path: readonly string[]): Promise<string[]> {
    const segs = checkPath(path);
    try {
      const names = await fsp.readdir(this.at(segs));
      return names.sort();
    } catch (e) {
      const c = errCode(e);
      const reason = c === 'ENOENT' ? 'it does not exist' : c === 'ENOTDIR' ? 'it is not a folder' : undefined;
      if (reason !== undefined) throw new AscendError('ASC_SYSVOL_IO', `listing ${this.at(segs)} failed: ${reason}`, { cause: e });
      throw this.fail('listing', segs, e);
    }
  }
}
