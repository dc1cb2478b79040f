/**
 * The ephemeral accounts of the Linux executor: each elevation gets a fresh system account
 * (uid = gid from the reserved range, never reused; ids.ts) with a private home under
 * `<homeRoot>/<instance id>`, removed afterwards with its group, its queued work and its home; a
 * set-id sweep of its ids is recorded before the removal (setid-sweep.ts). The account files are
 * edited directly under shadow-utils' locks (pwdb.ts), not by forking useradd and userdel.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AscendError } from '../../src/errors.js';
import { SerialQueue } from '../../src/serial-queue.js';
import { markerFor, parseMarker, show, sleep } from './common.js';
import type { ExecutorOptions } from './contract.js';
import { IdAllocator, type IdRange } from './ids.js';
import { firstLine, gnuRm, killAllOfUid, nologinShell, readGroups, readPasswd, removeTree, type PasswdEntry } from './linux-host.js';
import { liveProcsOfUid } from './procfs.js';
import { removeScheduledWork } from './schedulers.js';
import { SetidSweeper } from './setid-sweep.js';
import { PhaseClock } from './phases.js';
import { PasswdDb, addAccount, dayNumber, removeAccount } from './pwdb.js';
import { firstFreeId, nameTaken, nssLookup, type NssLookup } from './nss.js';

/** Edits of the account files tried per removal (a lock held by another program), and the first wait between them. */
const REMOVE_TRIES = 5;
const REMOVE_RETRY_MS = 500;

/** Where logind keeps the users that linger (systemd). */
const LINGER_FOLDER = '/var/lib/systemd/linger';

export interface LinuxAccountsOptions {
  /** Absolute, resolved; the folder of the instances' home folders. */
  homeRoot: string;
  /** Absolute, resolved; the id allocator and the set-id sweeps keep their journals here. */
  stateDir: string;
  idRange: IdRange;
  /** This agent's instance id (made lazily in the state folder). */
  instanceId: () => string;
  log: NonNullable<ExecutorOptions['log']>;
  /** The account files (tests: a copy under another folder); /etc by default. */
  accountFiles?: PasswdDb;
  /** Asks the name service whether a name or id is taken (tests); getent by default. */
  nss?: NssLookup;
}

export class LinuxAccounts {
  /** Creations and removals of this process run one at a time (each edits the account files under their locks; pwdb.ts). */
  private readonly queue = new SerialQueue();
  private allocator: IdAllocator | null = null;
  private sweeper: SetidSweeper | null = null;
  private readonly db: PasswdDb;
  private readonly nss: NssLookup;
  /**
   * An id handed out ahead (its mark and claim on disk; ids.ts) for the next account, so a
   * creation does not wait for those writes. Used only when the locked files show it unused;
   * an id never used (the agent stopped) is simply never handed out again.
   */
  private spare: Promise<number | null> | null = null;

  /**
   * A fresh id (ids.ts) that the name service does not know either (nss.ts): one a directory
   * account holds is burnt. Null when none is found.
   */
  private nssFreeId(inUse: () => Iterable<number> = () => [...readPasswd().flatMap((p) => [p.uid, p.gid]), ...readGroups().map((g) => g.gid)]): Promise<number | null> {
    return firstFreeId(() => this.ids.allocate(inUse), this.nss, (id) => this.options.log('warn', 'an id of the ephemeral range is taken in the name service (a directory account); skipped', { id }));
  }

  constructor(private readonly options: LinuxAccountsOptions) {
    this.db = options.accountFiles ?? new PasswdDb();
    this.nss = options.nss ?? nssLookup;
  }

  /** The folder of this instance's ephemeral homes: <homeRoot>/<instance id>. */
  get homeFolder(): string {
    return path.join(this.options.homeRoot, this.options.instanceId());
  }

  private get ids(): IdAllocator {
    this.allocator ??= new IdAllocator(this.options.stateDir, this.options.idRange, this.options.log);
    return this.allocator;
  }

  private get sweeps(): SetidSweeper {
    this.sweeper ??= SetidSweeper.of(this.options.stateDir, this.options.log);
    return this.sweeper;
  }

  /** Starts the recorded set-id sweeps that are not running (in the background). */
  kickSweeps(): void {
    this.sweeps.kick();
  }

  /** Resolves when no set-id sweep is running (they run in the background; see setid-sweep.ts). */
  async sweepsIdle(): Promise<void> {
    await this.sweeps.idle();
  }

  /** A set-id sweep runs or is due. */
  get sweepsBusy(): boolean {
    return this.sweeper?.busy ?? false;
  }

  /** The agent is stopping: background set-id walks end now (their work stays in the journal). */
  stopSweeps(): void {
    this.sweeper?.stop();
  }

  /**
   * homeRoot exists, belongs to root, and no ancestor can be written by others (unless sticky);
   * and the home made next can be removed safely (GNU rm, linux-host.ts gnuRm).
   */
  async ensureHomeRoot(): Promise<void> {
    await gnuRm('no ephemeral account is made');
    await fsp.mkdir(this.options.homeRoot, { recursive: true, mode: 0o755 });
    let dir = this.options.homeRoot;
    for (;;) {
      const st = await fsp.lstat(dir);
      const isRoot = dir === this.options.homeRoot;
      const writableByOthers = (st.mode & 0o022) !== 0 && !(st.mode & 0o1000);
      if (!st.isDirectory() || st.uid !== 0 || (isRoot ? (st.mode & 0o022) !== 0 : writableByOthers)) {
        throw new AscendError('ASC_AGENT_CONFIG', `Folder ${show(dir)} for ephemeral homes must be a root-owned folder others cannot write.`);
      }
      // An ephemeral account must be able to reach its home: every folder above it is searchable.
      if ((st.mode & 0o001) === 0) {
        throw new AscendError('ASC_AGENT_CONFIG', `Ephemeral accounts cannot reach their homes under ${show(this.options.homeRoot)}: ${show(dir)} has mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}, which others may not search.`, {
          hint: `chmod o+x ${dir} (search only; its files stay private), or choose another home folder`,
        });
      }
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
    // This instance's own folder: another agent's cleanup never looks in it.
    await fsp.mkdir(this.homeFolder, { mode: 0o755 }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
    const st = await fsp.lstat(this.homeFolder);
    if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
      throw new AscendError('ASC_AGENT_CONFIG', `Folder ${show(this.homeFolder)} for ephemeral homes must be a root-owned folder others cannot write.`);
    }
  }

  /** Creates the account `name` of an elevation (uid = gid, never used before), with its home; see ids.ts. */
  async create(name: string, elevationId: string, hostGroups: readonly string[], clock = new PhaseClock()): Promise<PasswdEntry> {
    clock.restart();
    const home = path.join(this.homeFolder, name);
    const nologin = nologinShell();
    const entry = await this.queue.run(async () => {
      const existing = readPasswd().find((p) => p.name === name);
      if (existing) {
        const ours = parseMarker(existing.gecos) !== null;
        throw new AscendError(
          'ASC_EXEC_FAILED',
          ours
            ? `Account ${name} exists already (left by an earlier run); it is not reused.`
            : `Account ${name} exists already and was not made by Ascend; it is not touched.`,
          { hint: ours ? 'The orphan cleanup removes it.' : 'Choose another account prefix or remove that account.' },
        );
      }
      // A name the name service knows (a directory account) is not taken either, as useradd refuses it.
      if (await nameTaken(this.nss, name)) {
        throw new AscendError('ASC_EXEC_FAILED', `Account ${name} exists already in the name service (not in the local files); it is not touched.`, {
          hint: 'Choose another account prefix.',
        });
      }
      // uid = gid from the reserved range, each id used once (ids.ts); the mark is on disk before
      // the id is used, and the name service does not know it (asked before the files are
      // locked). Used when the account files, locked and read (pwdb.ts), show it unused; else
      // another is allocated there. The account is written directly, as useradd
      // --system --no-create-home --no-log-init would, with passwd first (see pwdb.ts).
      const candidate = await (this.spare ?? this.nssFreeId().catch(() => null));
      this.spare = null;
      const id = await this.db.edit(async (db) => {
        const ids = (text: string | null, at: number[]): number[] => (text ?? '').split('\n').flatMap((l) => (l ? at.map((i) => Number(l.split(':')[i])) : []));
        const inUse = (): number[] => [...ids(db.passwd, [2, 3]), ...ids(db.group, [2])];
        const allocated = candidate !== null && !inUse().includes(candidate) ? candidate : await this.nssFreeId(inUse);
        if (allocated === null) throw new AscendError('ASC_EXEC_FAILED', 'No id of the ephemeral range is free in the name service; the account was not created.');
        const next = addAccount(db, {
          name,
          uid: allocated,
          gid: allocated,
          gecos: markerFor(elevationId, Date.now(), this.options.instanceId()),
          home,
          shell: nologin,
          groups: hostGroups,
          lastChangeDay: dayNumber(Date.now()),
        });
        return { db: next, value: allocated };
      }, 'passwd-first');
      const created = readPasswd().find((p) => p.name === name);
      if (!created || created.uid !== id || created.gid !== id) throw new AscendError('ASC_EXEC_FAILED', `Account ${name} was not created correctly.`);
      return created;
    });
    this.spare ??= this.nssFreeId().catch(() => null);
    clock.mark('account');
    try {
      // A home left by an earlier account of this name (a crash) goes first; none is the common case.
      if (await fsp.lstat(home).then(() => true, () => false)) await removeTree(home);
      await fsp.mkdir(home, { mode: 0o700 });
      await fsp.chown(home, entry.uid, entry.gid);
      await fsp.chmod(home, 0o700);
      clock.mark('home');
    } catch (e) {
      await this.remove(entry).catch(() => undefined);
      throw new AscendError('ASC_EXEC_FAILED', `The home folder ${show(home)} could not be made: ${firstLine(String(e))}`);
    }
    this.options.log('info', 'ephemeral account created', { elevationId, account: name, uid: entry.uid, groups: hostGroups });
    return entry;
  }

  /**
   * Ends the account's processes, removes it (userdel, retried while processes exit), its group
   * and its home. A set-id sweep for its uid and gid is recorded first (durable) and started in
   * the background once the account is gone (setid-sweep.ts).
   */
  async remove(entry: PasswdEntry, clock = new PhaseClock()): Promise<boolean> {
    clock.restart();
    // Only an account of the ephemeral range, whose group is its own, is swept: a marked account
    // with a shared gid (only root could make one) must not make the sweep strip another group's files.
    if (entry.uid > 0 && entry.uid === entry.gid && entry.uid >= this.options.idRange.first && entry.uid <= this.options.idRange.last) {
      const marker = parseMarker(entry.gecos);
      await this.sweeps.record({ uid: entry.uid, gid: entry.gid, elevationId: marker?.elevationId ?? entry.name });
    } else {
      this.options.log('warn', 'no set-id sweep: the account is outside the ephemeral id range or shares its group', { account: entry.name, uid: entry.uid, gid: entry.gid });
    }
    clock.mark('sweep-record');
    const removed = await this.queue.run(async () => {
      // As userdel: never while the account has a process (one left would outlive its name).
      // The account files locked by another program (each try waits for the locks up to 15 s)
      // are tried again a few times, waiting longer each time; an account still there is
      // removed by the next orphan cleanup (its marker stays; linux-cleanup.ts).
      let failures = 0;
      for (let attempt = 0; attempt < 20 + REMOVE_TRIES; attempt++) {
        if (liveProcsOfUid(entry.uid).length > 0) {
          await killAllOfUid(entry.uid, entry.gid);
          if (liveProcsOfUid(entry.uid).length > 0) {
            await sleep(100);
            continue;
          }
        }
        try {
          // Its lines, its memberships and its own group, passwd last (see pwdb.ts).
          await this.db.edit((db) => ({ db: removeAccount(db, entry.name, entry.gid), value: undefined }), 'passwd-last');
          return true;
        } catch (e) {
          failures++;
          const last = failures >= REMOVE_TRIES;
          this.options.log(last ? 'error' : 'warn', last ? 'the account could not be removed' : 'the account could not be removed yet; trying again', {
            account: entry.name,
            error: firstLine(String(e)),
          });
          if (last) return false;
          await sleep(REMOVE_RETRY_MS * 2 ** (failures - 1));
        }
      }
      return false;
    });
    clock.mark('account-remove');
    if (removed) {
      const queued = await removeScheduledWork(entry.name, entry.uid);
      if (queued.length > 0) this.options.log('warn', 'work a removed ephemeral account had queued was removed', { account: entry.name, files: queued });
      // Lingering the account asked logind for (over D-Bus, which polkit lets a user ask for
      // itself): its file would keep a logind user, and its runtime folder, after the account.
      const linger = path.join(LINGER_FOLDER, entry.name);
      if (await fsp.rm(linger).then(() => true, () => false)) this.options.log('warn', 'the lingering a removed ephemeral account had asked for was removed', { account: entry.name, file: linger });
    }
    clock.mark('scheduled-work');
    try {
      // Only once the account is gone: while it is there, a process of it could still be at work
      // in its home (the next orphan cleanup removes both). Through open folder handles
      // (removeTree): the account may have made folders in it writable for its requester.
      if (removed && this.isUnderHomeRoot(entry.home)) await removeTree(entry.home);
      clock.mark('home-remove');
    } catch (e) {
      this.options.log('warn', 'home not removed', { home: entry.home, error: String(e) });
    } finally {
      this.sweeps.kick();
    }
    return removed;
  }

  /** Whether p is a folder directly in this instance's home folder. */
  isUnderHomeRoot(p: string): boolean {
    const rel = path.relative(this.homeFolder, path.resolve(p));
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) && !rel.includes(path.sep);
  }
}
