/**
 * Where discovery stopped reading, saved next to the spool (the agent's root-only state
 * folder): the journal cursor of the last entry handled, or the log file's identity and the
 * offset after the last event handled. It is written after the events read up to it are in
 * the spool, so a crash in between reads them again, and the collector keeps each once (their
 * ids come from their positions: see idOf).
 */
import { createHash } from 'node:crypto';
import { constants as fsc, promises as fs } from 'node:fs';
import { replaceFileAtomically } from '../../src/atomic-file.js';

export interface LogFilePosition {
  file: string;
  dev: number;
  ino: number;
  /** Birth time in ms (statx), 0 when the file system does not keep it: an inode reused by a new file is another file. */
  birth: number;
  offset: number;
  /**
   * The last event read (from its offset up to `offset`) and its SHA-256: a file rewritten in
   * place (truncated, then grown past `offset` again) no longer holds it there, and is read
   * from its start.
   */
  check?: { from: number; sha256: string };
}

export interface DiscoveryPosition {
  journal?: { cursor: string };
  log?: LogFilePosition;
}

const MAX_BYTES = 64 * 1024;

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** The saved position; empty when there is none, or it is not a root-owned regular file of the expected shape. */
export async function loadPosition(file: string): Promise<DiscoveryPosition> {
  let text: string;
  try {
    const h = await fs.open(file, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK | fsc.O_NOCTTY);
    try {
      const st = await h.stat();
      if (!st.isFile() || st.uid !== 0 || st.size > MAX_BYTES) return {};
      text = await h.readFile('utf8');
    } finally {
      await h.close();
    }
  } catch {
    return {};
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return {};
  }
  const out: DiscoveryPosition = {};
  const o = v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  const j = o.journal as Record<string, unknown> | undefined;
  if (j && typeof j.cursor === 'string' && j.cursor !== '' && j.cursor.length <= 4096) out.journal = { cursor: j.cursor };
  const l = o.log as Record<string, unknown> | undefined;
  if (l && typeof l.file === 'string' && isCount(l.dev) && isCount(l.ino) && isCount(l.birth) && isCount(l.offset)) {
    out.log = { file: l.file, dev: l.dev, ino: l.ino, birth: l.birth, offset: l.offset };
    const c = l.check as Record<string, unknown> | undefined;
    if (c && isCount(c.from) && c.from < l.offset && typeof c.sha256 === 'string' && /^[0-9a-f]{64}$/.test(c.sha256)) out.log.check = { from: c.from, sha256: c.sha256 };
  }
  return out;
}

/** Saves the position atomically, readable by root only. */
export async function savePosition(file: string, position: DiscoveryPosition): Promise<void> {
  await replaceFileAtomically(file, Buffer.from(`${JSON.stringify(position)}\n`, 'utf8'), 0o600);
}

/** An event id derived from a record's position: the same record read twice has the same id. */
export function idOf(source: string, position: string): string {
  const h = createHash('sha256').update(`ascend-discovery\0${source}\0${position}`, 'utf8').digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
