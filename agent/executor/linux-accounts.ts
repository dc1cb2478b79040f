/**
 * The ephemeral accounts of the Linux executor: each elevation gets a fresh system account
 * (uid = gid from the reserved range, never reused; ids.ts) with a private home under
 * `<homeRoot>/<instance id>`, removed afterwards with its group, its queued work and its home; a
 * set-id sweep of its ids is recorded before the removal (setid-sweep.ts).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AscendError } from '../../src/errors.js';
import { SerialQueue } from '../../src/serial-queue.js';
import { markerFor, parseMarker, show, sleep } from './common.js';
import type { ExecutorOptions } from './contract.js';
import { IdAllocator, type IdRange } from './ids.js';
import { firstLine, killAllOfUid, nologinShell, readGroups, readPasswd, run, tool, which, type PasswdEntry } from './linux-host.js';
import { liveProcsOfUid } from './procfs.js';
import { removeScheduledWork } from './schedulers.js';
import { SetidSweeper } from './setid-sweep.js';

export interface LinuxAccountsOptions {
  /** Absolute, resolved; the folder of the instances' home folders. */
  homeRoot: string;
  /** Absolute, resolved; the id allocator and the set-id sweeps keep their journals here. */
  stateDir: string;
  idRange: IdRange;
  /** This agent's instance id (made lazily in the state folder). */
  instanceId: () => string;
  log: NonNullable<ExecutorOptions['log']>;
}

export class LinuxAccounts {
  /** useradd/userdel of this process run one at a time (they lock /etc/passwd and fail when it is busy). */
  private readonly queue = new SerialQueue();
  private allocator: IdAllocator | null = null;
  private sweeper: SetidSweeper | null = null;

  constructor(private readonly options: LinuxAccountsOptions) {}

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

  /** The agent is stopping: background set-id walks end now (their work stays in the journal). */
  stopSweeps(): void {
    this.sweeper?.stop();
  }

  /** homeRoot exists, belongs to root, and no ancestor can be written by others (unless sticky). */
  async ensureHomeRoot(): Promise<void> {
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
  async create(name: string, elevationId: string, hostGroups: readonly string[]): Promise<PasswdEntry> {
    const home = path.join(this.homeFolder, name);
    const useradd = tool('useradd');
    const groupadd = tool('groupadd');
    const groupdel = tool('groupdel');
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
      // uid = gid from the reserved range, each id used once (ids.ts); the mark is on disk before the id is used.
      // An id that turns out to be taken (or a failed attempt) is burnt, never retried.
      const inUse = (): number[] => [...readPasswd().flatMap((p) => [p.uid, p.gid]), ...readGroups().map((g) => g.gid)];
      let id = -1;
      for (let attempt = 0; ; attempt++) {
        id = await this.ids.allocate(inUse);
        const g = await run(groupadd, ['--system', '--gid', String(id), name]);
        if (g.code !== 0) {
          // 4: gid taken; 10: the group file is locked.
          if ((g.code === 4 || g.code === 10) && attempt < 10) {
            await sleep(50 + attempt * 100);
            continue;
          }
          throw new AscendError('ASC_EXEC_FAILED', `groupadd ${name} failed (exit ${g.code}): ${firstLine(g.stderr)}`);
        }
        const args = [
          '--system',
          '--uid',
          String(id),
          '--gid',
          String(id),
          '--no-create-home',
          '--no-log-init',
          '--home-dir',
          home,
          '--shell',
          nologin,
          '--comment',
          markerFor(elevationId, Date.now(), this.options.instanceId()),
          ...(hostGroups.length > 0 ? ['--groups', hostGroups.join(',')] : []),
          name,
        ];
        // Without --password useradd writes '!' (locked, no password) in /etc/shadow.
        const r = await run(useradd, args);
        if (r.code === 0) break;
        await run(groupdel, [name]).catch(() => undefined);
        // 1: cannot update the password file, 4: uid taken meanwhile, 10: cannot update the group file (a lock).
        if ((r.code === 1 || r.code === 4 || r.code === 10) && attempt < 10) {
          await sleep(50 + attempt * 100);
          continue;
        }
        throw new AscendError('ASC_EXEC_FAILED', `useradd ${name} failed (exit ${r.code}): ${firstLine(r.stderr)}`);
      }
      const created = readPasswd().find((p) => p.name === name);
      if (!created || created.uid !== id || created.gid !== id) throw new AscendError('ASC_EXEC_FAILED', `Account ${name} was not created correctly.`);
      return created;
    });
    try {
      await fsp.rm(home, { recursive: true, force: true });
      await fsp.mkdir(home, { mode: 0o700 });
      await fsp.chown(home, entry.uid, entry.gid);
      await fsp.chmod(home, 0o700);
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
  async remove(entry: PasswdEntry): Promise<boolean> {
    const userdel = tool('userdel');
    // Only an account of the ephemeral range, whose group is its own, is swept: a marked account
    // with a shared gid (only root could make one) must not make the sweep strip another group's files.
    if (entry.uid > 0 && entry.uid === entry.gid && entry.uid >= this.options.idRange.first && entry.uid <= this.options.idRange.last) {
      const marker = parseMarker(entry.gecos);
      await this.sweeps.record({ uid: entry.uid, gid: entry.gid, elevationId: marker?.elevationId ?? entry.name });
    } else {
      this.options.log('warn', 'no set-id sweep: the account is outside the ephemeral id range or shares its group', { account: entry.name, uid: entry.uid, gid: entry.gid });
    }
    const removed = await this.queue.run(async () => {
      for (let attempt = 0; attempt < 20; attempt++) {
        if (liveProcsOfUid(entry.uid).length > 0) await killAllOfUid(entry.uid, entry.gid);
        const r = await run(userdel, [entry.name]);
        if (r.code === 0 || r.code === 6) return true; // 6: no such user (gone already)
        // 8: the user still has processes; 1/10: the password or group file is locked.
        if (r.code === 8 || r.code === 1 || r.code === 10) {
          await sleep(100);
          continue;
        }
        this.options.log('error', 'userdel failed', { account: entry.name, code: r.code, stderr: firstLine(r.stderr) });
        return false;
      }
      return false;
    });
    if (removed) {
      // userdel removes the user's own group only with USERGROUPS_ENAB; remove it when it is left empty.
      const group = readGroups().find((g) => g.name === entry.name && g.gid === entry.gid && g.members.length === 0);
      const groupdel = which('groupdel');
      if (group && groupdel) await this.queue.run(() => run(groupdel, [entry.name]));
    }
    if (removed) {
      const queued = await removeScheduledWork(entry.name, entry.uid);
      if (queued.length > 0) this.options.log('warn', 'work a removed ephemeral account had queued was removed', { account: entry.name, files: queued });
    }
    try {
      if (this.isUnderHomeRoot(entry.home)) await fsp.rm(entry.home, { recursive: true, force: true });
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
