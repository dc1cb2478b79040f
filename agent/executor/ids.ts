/**
 * Ephemeral uids and gids: handed out from a reserved range, one id per account (uid = gid),
 * monotonically, and never twice — not after a restart, not after a re-install, and not by
 * another agent on the same machine.
 *
 * Why: an id that comes back gives the next elevation whatever the previous one left behind
 * (a set-gid copy of a shell owned by that gid, files in /tmp, ptrace rights over the new
 * account's processes). So the high-water mark is saved in the state folder before an id is
 * used, and at each allocation the next id is at least:
 *   - the saved mark + 1 (for every saved range that overlaps the configured one), and
 *   - the highest id of any passwd or group entry inside the range + 1 (accounts still there), and
 *   - the highest id claimed machine-wide + 1: every agent on the machine, whatever its state
 *     folder, claims each id by creating <claims folder>/<id> exclusively (O_EXCL), and keeps it
 *     only when no higher claim exists once its own is made; claims far below the highest are
 *     pruned (a slow process that claims a pruned id then sees a higher claim and drops it), and
 *   - only when neither is saved (a fresh install, or the state was lost): a floor from the
 *     clock, range start + whole ID_TIME_STEP_MS periods since ID_EPOCH_MS.
 * An id inside a subordinate id range (/etc/subuid, /etc/subgid: the host ids of users'
 * rootless containers) is skipped with the rest of that range: the container's user would
 * otherwise run processes with the ephemeral account's uid.
 *
 * The clock floor: the accounts of a previous install are deleted, so passwd and group no
 * longer show their ids; the clock is the one thing that moved on since. The counter may run
 * ahead of the clock (a burst of elevations), and then an install lost right after such a
 * burst could start below its top; with one id per 4 s the clock catches up with any burst of
 * n elevations within 4·n seconds. Once a mark is saved the clock is not consulted at all, so
 * a clock set far ahead can burn the range only on a fresh install (and then elevations are
 * refused with a message, never given a used id).
 *
 * The default range, 0x78000000–0x7FFDFFFF (2013265920–2147352575), avoids: system and regular
 * accounts (< 65536), systemd DynamicUser (61184–65519), nobody (65534), the container/nspawn
 * range (524288–1879048191), sssd's automatic id mapping (200000–2000200000 by default),
 * winbind's usual idmap ranges (below 2^31 - a few million in the examples: 3000–7999,
 * 10000–999999, …), systemd's foreign range (2147352576–2147418111) and anything ≥ 2^31
 * (tools that keep ids in a signed int). At one id per 4 s the clock floor reaches its end
 * in about 2043; a site can configure another range (ExecutorOptions.idRange).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { replaceFileAtomically } from '../../src/atomic-file.js';
import { AscendError } from '../../src/errors.js';
import { SerialQueue } from '../../src/serial-queue.js';

export interface IdRange {
  first: number;
  last: number;
}

export const DEFAULT_ID_RANGE: Readonly<IdRange> = Object.freeze({ first: 0x78000000, last: 0x7ffdffff });
/** 2026-01-01T00:00:00Z: the clock floor starts at the range start here. */
export const ID_EPOCH_MS = Date.UTC(2026, 0, 1);
export const ID_TIME_STEP_MS = 4000;
export const ID_MARK_FILE = 'ephemeral-ids.json';
/** The machine-wide claims (shared by every agent on the machine, whatever its state folder). */
export const DEFAULT_ID_CLAIMS_DIR = '/var/lib/ascend/ephemeral-id-claims';
/** Claims this far below the highest are removed. */
const KEEP_CLAIMS = 256;

/** One range ids were handed out from: ids in [first, mark] may have been used. */
export interface IdMark {
  first: number;
  mark: number;
}

/** Checks a range: integers, 1000 ≤ first ≤ last < 2^31, not containing 65534/65535 (nobody, and -1 in 16 bits). */
export function checkIdRange(range: IdRange): void {
  const ok =
    range !== null &&
    typeof range === 'object' &&
    Number.isSafeInteger(range.first) &&
    Number.isSafeInteger(range.last) &&
    range.first >= 1000 &&
    range.first <= range.last &&
    range.last <= 0x7ffffffe &&
    !(range.first <= 65535 && range.last >= 65534);
  if (!ok) {
    throw new AscendError(
      'ASC_AGENT_CONFIG',
      `The ephemeral id range ${String(range?.first)}–${String(range?.last)} is not usable: it must be integers 1000 ≤ first ≤ last < 2147483647 that leave out 65534 and 65535.`,
    );
  }
}

/** The clock floor: range start + whole time steps since the epoch (never below the start). */
export function timeFloor(range: IdRange, nowMs: number): number {
  const steps = Number.isFinite(nowMs) ? Math.max(0, Math.floor((nowMs - ID_EPOCH_MS) / ID_TIME_STEP_MS)) : 0;
  return range.first + steps;
}

/**
 * The next id to hand out (pure): see the top of the file. Returns null when the range is
 * used up.
 */
export function nextId(
  range: IdRange,
  marks: readonly IdMark[],
  highestInUse: number | null,
  nowMs: number,
  highestClaimed: number | null = null,
): number | null {
  let next = range.first;
  const overlapping = marks.filter((m) => m.first <= range.last && m.mark >= range.first);
  for (const m of overlapping) next = Math.max(next, m.mark + 1);
  if (highestInUse !== null && highestInUse >= range.first && highestInUse <= range.last) next = Math.max(next, highestInUse + 1);
  const claimed = highestClaimed !== null && highestClaimed >= range.first && highestClaimed <= range.last;
  if (claimed) next = Math.max(next, (highestClaimed as number) + 1);
  // Nothing saved that covers this range: the accounts of an earlier install may be gone.
  if (!claimed && !marks.some((m) => m.first === range.first)) next = Math.max(next, timeFloor(range, nowMs));
  return next <= range.last ? next : null;
}

/** The files of subordinate ids (rootless containers map them to their users' processes). */
export const SUBORDINATE_ID_FILES: readonly string[] = ['/etc/subuid', '/etc/subgid'];

/**
 * The subordinate id ranges of /etc/subuid and /etc/subgid (`name:start:count` lines; pure).
 * A user's rootless container runs with these host ids, so an ephemeral account given one of
 * them would share its uid with processes that user controls (ptrace, files, kill). A line
 * that does not parse is skipped.
 */
export function parseSubordinateIds(text: string): IdRange[] {
  const out: IdRange[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(':');
    if (f.length !== 3 || !/^[0-9]{1,10}$/.test(f[1] ?? '') || !/^[0-9]{1,10}$/.test(f[2] ?? '')) continue;
    const start = Number(f[1]);
    const count = Number(f[2]);
    if (count > 0) out.push({ first: start, last: start + count - 1 });
  }
  return out;
}

/** The last id of a subordinate range that holds `id`, or null when none does (pure). */
export function subordinateEnd(id: number, ranges: readonly IdRange[]): number | null {
  let end: number | null = null;
  for (const r of ranges) if (id >= r.first && id <= r.last && (end === null || r.last > end)) end = r.last;
  return end;
}

/** The highest id in [first, last] among the given ids, or null. */
export function highestInRange(range: IdRange, ids: Iterable<number>): number | null {
  let best: number | null = null;
  for (const id of ids) if (Number.isInteger(id) && id >= range.first && id <= range.last && (best === null || id > best)) best = id;
  return best;
}

function parseMarks(text: string): IdMark[] | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  const marks = (data as { marks?: unknown })?.marks;
  if (!Array.isArray(marks)) return null;
  const out: IdMark[] = [];
  for (const m of marks) {
    const first = (m as IdMark)?.first;
    const mark = (m as IdMark)?.mark;
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(mark) || first < 0 || mark < first) return null;
    out.push({ first, mark });
  }
  return out;
}

/** One queue per mark file in this process, so two executors on one state folder never hand out the same id. */
const queues = new Map<string, SerialQueue>();

/**
 * A folder of the agent's own others cannot write or enter (made 0700 when missing; missing
 * parents 0755, as homes may live beside it), below folders others cannot write (or sticky).
 */
async function checkPrivateDir(dir: string): Promise<void> {
  await fsp.mkdir(path.dirname(dir), { recursive: true, mode: 0o755 });
  await fsp.mkdir(dir, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  const uid = process.getuid?.();
  const fail = (): never => {
    throw new AscendError('ASC_AGENT_CONFIG', `The id claims folder ${JSON.stringify(dir)} must be a folder of the agent's own that only it can read and write (0700), below folders others cannot write.`);
  };
  const st = await fsp.lstat(dir);
  if (!st.isDirectory() || (st.mode & 0o077) !== 0 || (uid !== undefined && st.uid !== uid)) fail();
  for (let up = path.dirname(dir); ; up = path.dirname(up)) {
    const a = await fsp.lstat(up);
    if (!a.isDirectory() || (a.uid !== 0 && a.uid !== uid) || ((a.mode & 0o022) !== 0 && (a.mode & 0o1000) === 0)) fail();
    if (path.dirname(up) === up) break;
  }
}

export class IdAllocator {
  private readonly file: string;
  private readonly claims: string;
  private readonly queue: SerialQueue;
  private warned = false;

  constructor(
    stateDir: string,
    readonly range: IdRange,
    private readonly log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void = () => undefined,
    private readonly clock: () => number = Date.now,
    claimsDir: string = DEFAULT_ID_CLAIMS_DIR,
    private readonly subordinateFiles: readonly string[] = SUBORDINATE_ID_FILES,
  ) {
    checkIdRange(range);
    this.file = path.join(path.resolve(stateDir), ID_MARK_FILE);
    this.claims = path.resolve(claimsDir);
    let q = queues.get(this.file);
    if (!q) {
      q = new SerialQueue();
      queues.set(this.file, q);
    }
    this.queue = q;
  }

  /** The saved marks ([] when there is no file; a damaged file counts as lost, and is logged). */
  async readMarks(): Promise<IdMark[]> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new AscendError('ASC_AGENT_CONFIG', `The id mark ${this.file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)}.`);
    }
    const marks = parseMarks(text);
    if (marks === null) {
      if (!this.warned) this.log('warn', 'the ephemeral id mark is damaged; ids continue above the clock floor', { file: this.file });
      this.warned = true;
      return [];
    }
    return marks;
  }

  /**
   * Takes the next id and saves it as the mark (flushed, renamed, folder flushed) before
   * returning it. `inUse` lists the uids and gids that exist now (passwd and group).
   * Every id returned is burnt: a caller that cannot use it asks for the next one.
   */
  allocate(inUse: () => Iterable<number>): Promise<number> {
    return this.queue.run(async () => {
      await checkPrivateDir(this.claims);
      for (let attempt = 0; attempt < 1000; attempt++) {
        const marks = await this.readMarks();
        const id = nextId(this.range, marks, highestInRange(this.range, inUse()), this.clock(), await this.highestClaim());
        if (id === null) {
          throw new AscendError(
            'ASC_EXEC_FAILED',
            `The ephemeral id range ${this.range.first}–${this.range.last} is used up; ids are never reused.`,
            { hint: 'Configure another range for ephemeral accounts.' },
          );
        }
        // An id some user's containers run with is never handed out: the whole range is burnt.
        const sub = subordinateEnd(id, await this.subordinateRanges());
        // Saved here first: even a claim that loses below is never tried again by this agent.
        const kept = marks.filter((m) => m.first !== this.range.first);
        kept.push({ first: this.range.first, mark: Math.min(sub ?? id, this.range.last) });
        await replaceFileAtomically(this.file, Buffer.from(`${JSON.stringify({ marks: kept })}\n`), 0o600);
        if (sub !== null) {
          this.log('warn', 'ephemeral ids skipped: a subordinate id range (/etc/subuid, /etc/subgid) holds them', { from: id, to: sub });
          continue;
        }
        if (!(await this.claim(id))) continue;
        const highest = await this.highestClaim();
        if (highest !== null && highest > id) continue; // a higher claim exists: this id may be one pruned after use
        await this.prune(id);
        return id;
      }
      throw new AscendError('ASC_EXEC_FAILED', 'No ephemeral id could be claimed (other agents keep claiming higher ones).');
    });
  }

  /** The subordinate id ranges of this machine (a file that is missing holds none; one that cannot be read fails closed). */
  private async subordinateRanges(): Promise<IdRange[]> {
    const out: IdRange[] = [];
    for (const file of this.subordinateFiles) {
      let text: string;
      try {
        text = await fsp.readFile(file, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw new AscendError('ASC_AGENT_CONFIG', `The subordinate ids ${file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)}.`);
      }
      out.push(...parseSubordinateIds(text));
    }
    return out;
  }

  /** The highest id claimed machine-wide inside the range, or null. */
  private async highestClaim(): Promise<number | null> {
    const names = await fsp.readdir(this.claims);
    return highestInRange(this.range, names.filter((n) => /^[0-9]{1,10}$/.test(n)).map(Number));
  }

  /** Creates the claim file exclusively (flushed, folder flushed); false when it exists. */
  private async claim(id: number): Promise<boolean> {
    let fh;
    try {
      fh = await fsp.open(path.join(this.claims, String(id)), 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    const dir = await fsp.open(this.claims, 'r');
    try {
      await dir.sync().catch(() => undefined);
    } finally {
      await dir.close();
    }
    return true;
  }

  /** Removes claims far below the one just made (the highest is never removed). */
  private async prune(id: number): Promise<void> {
    for (const n of await fsp.readdir(this.claims)) {
      if (/^[0-9]{1,10}$/.test(n) && Number(n) < id - KEEP_CLAIMS && Number(n) >= this.range.first && Number(n) <= this.range.last) {
        await fsp.rm(path.join(this.claims, n), { force: true });
      }
    }
  }
}
