/**
 * Discovery (the Discovery policy): the agent follows sudo's records of what users ran as
 * another user, and reports each command sudo ran as an `elevation-discovered` event, with
 * what the current Ascend rules would have decided for it (the same decision code an
 * elevation uses, for the sudo user and their groups).
 *
 * Each record's event id comes from its position in its source, and the position is saved
 * (next to the spool) only once the events before it are in the spool: an agent stopped or
 * killed in between reads them again with the same ids, and the collector keeps each once.
 *
 * Commands sudo refused are not reported (discovery is about what people need to run; sudo
 * already logs its refusals): they are counted with the other records skipped, in stats.
 */
import { constants as fsc, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { decide, type DecisionRequest, type RuleIndex } from '../../src/rules/index.js';
import type { EventFields } from '../../src/collector-api/events.js';
import type { DiscoveredData, DiscoveryResult } from '../../src/collector-api/discovery.js';
import { commandLineOf, sha256Of } from '../daemon/program.js';
import { requesterOf, type Requester } from '../daemon/identity.js';
import { confirmDenyGroups, type GroupAnswers } from '../daemon/deny-groups.js';
import { FORK_ENV, GETENT } from '../executor/nss.js';
import { debPublisherOf } from '../../src/deb/dpkg-db.js';
import type { LogFn } from '../daemon/options.js';
import type { DiscoverySettings } from '../daemon/settings.js';
import { argsOf, type SudoRecord } from './sudo-record.js';
import { loadPosition, savePosition, type DiscoveryPosition } from './position.js';
import type { Found, SkipReason } from './follower.js';
import { JournalFollower } from './journal.js';
import { SudoLogFollower } from './sudo-log.js';

export interface DiscoveryDeps {
  /** The spool folder: the saved position lives there. */
  spoolDir: string;
  computer: string;
  collections: readonly string[];
  /** The rules in force now, and the groups their deny rules name (asked of the name service by name, as for an elevation). */
  rules: () => RuleIndex;
  denyGroups: () => readonly string[];
  /** Spools the event with this id and time; true once it is on disk (or its type is not collected). */
  record: (fields: EventFields, id: string, time: string | undefined) => Promise<boolean>;
  log: LogFn;
  /** The owning package of a file as a rule's publisher names it ("deb:coreutils"), only when dpkg's checksum matched (default: the system's dpkg database). */
  publisherOf?: PublisherOf | null;
  /** Real paths of sudo (default: /usr/bin/sudo and /bin/sudo, resolved). */
  sudoExes?: readonly string[];
  /** Test hooks: journalctl and its extra arguments, the log poll interval. */
  journalctl?: string;
  journalArgs?: readonly string[];
  pollMs?: number;
}

/** Largest program file hashed for a discovered command. */
const MAX_HASHED = 256 * 1024 * 1024;
const ACCOUNT_TTL_MS = 60_000;
const POSITION_FILE = 'discovery-position.json';

export type PublisherOf = (file: string, handle: FileHandle) => Promise<string | undefined>;

interface Follower {
  start(): void;
  stop(): Promise<void>;
}

export class Discovery {
  private follower: Follower | undefined;
  private current = '';
  private position: DiscoveryPosition = {};
  /** Per sudo user, for a minute: the account as an elevation's requester, and its deny rules' group lookups. */
  private readonly accounts = new Map<string, { at: number; requester: Requester | undefined; answers: GroupAnswers }>();
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Records reported, and those skipped by reason. */
  readonly stats: { reported: number; skipped: Partial<Record<SkipReason, number>> } = { reported: 0, skipped: {} };

  constructor(private readonly deps: DiscoveryDeps) {}

  private get positionFile(): string {
    return path.join(this.deps.spoolDir, POSITION_FILE);
  }

  /** Starts, stops or switches the follower to match the policy (called on every policy apply). */
  configure(settings: DiscoverySettings): void {
    const want = settings.enabled ? JSON.stringify([settings.source, settings.source === 'sudo-json-log' ? settings.logFile : '']) : '';
    if (want === this.current || this.stopped) return;
    this.current = want;
    this.chain = this.chain.then(() => this.switchTo(settings)).catch((e: unknown) => this.deps.log('error', `discovery: ${e instanceof Error ? e.message : String(e)}`));
  }

  private async switchTo(settings: DiscoverySettings): Promise<void> {
    await this.follower?.stop();
    this.follower = undefined;
    if (!settings.enabled || this.stopped) {
      this.deps.log('info', 'discovery is off');
      return;
    }
    this.position = await loadPosition(this.positionFile);
    const common = { handle: (found: Found[], next: DiscoveryPosition) => this.handle(found, next), count: (why: SkipReason) => this.skip(why), log: this.deps.log };
    if (settings.source === 'journal') {
      const exes = await sudoPaths(this.deps.sudoExes);
      this.follower = new JournalFollower({
        ...common,
        sudoExes: exes,
        ...(this.position.journal ? { cursor: this.position.journal.cursor } : {}),
        ...(this.deps.journalctl ? { journalctl: this.deps.journalctl } : {}),
        ...(this.deps.journalArgs ? { extraArgs: this.deps.journalArgs } : {}),
      });
    } else {
      this.follower = new SudoLogFollower({
        ...common,
        file: settings.logFile,
        ...(this.position.log ? { position: this.position.log } : {}),
        ...(this.deps.pollMs ? { intervalMs: this.deps.pollMs } : {}),
      });
    }
    this.deps.log('info', `discovery follows ${settings.source === 'journal' ? 'the journal' : settings.logFile}`);
    this.follower.start();
  }

  private skip(why: SkipReason): void {
    this.stats.skipped[why] = (this.stats.skipped[why] ?? 0) + 1;
  }

  /** Reports a batch in order; saves the position after it once all of it is in the spool. */
  private async handle(found: Found[], next: DiscoveryPosition): Promise<boolean> {
    for (const f of found) {
      if (!f.outcome.ok) {
        if (f.outcome.why !== 'not-a-command') this.skip(f.outcome.why);
        continue;
      }
      if (f.outcome.record.kind !== 'accept') {
        this.skip('refused');
        continue;
      }
      // The journal's sender (its real uid, kernel-given) must be the user the record names:
      // root's sudo logs as root; another user's process cannot speak for someone else.
      if (f.senderUid !== undefined && f.senderUid !== 0 && (await accountIds(f.outcome.record.user))?.uid !== f.senderUid) {
        this.skip('untrusted');
        continue;
      }
      const { fields, time } = await this.eventOf(f.outcome.record, f.source);
      if (!(await this.deps.record(fields, f.id, time))) return false;
      this.stats.reported++;
    }
    this.position = { ...this.position, ...next };
    try {
      await savePosition(this.positionFile, this.position);
    } catch (e) {
      // Reported already: at worst they are read again with the same ids.
      this.deps.log('warn', `discovery: its position could not be saved (${e instanceof Error ? e.message : String(e)})`);
    }
    return true;
  }

  /** The event of a command sudo ran: the program resolved and hashed, and what the rules in force would decide. */
  async eventOf(record: SudoRecord, source: Found['source']): Promise<{ fields: EventFields; time: string | undefined }> {
    const program = await resolveProgram(record.command, this.deps.publisherOf === null ? undefined : (this.deps.publisherOf ?? debPublisherOf));
    const args = argsOf(record, commandLineOf);
    const account = await this.accountOf(record.user);
    const index = this.deps.rules();
    const request: DecisionRequest = {
      user: record.user,
      groups: account.requester?.groups ?? [],
      computer: this.deps.computer,
      collections: this.deps.collections,
      path: program.path,
      args,
      ...(program.sha256 ? { sha256: program.sha256 } : {}),
      ...(program.publisher ? { debPublisher: program.publisher } : {}),
      tseActive: false,
    };
    // As an elevation (agent/daemon/elevation.ts): a deny rule's group that would deny this is
    // asked by its name, and an identity the name service cannot give in full is refused, whatever the rules.
    const requester = account.requester && (await confirmDenyGroups(index, request, account.requester, this.deps.denyGroups(), { answers: account.answers }));
    const unresolved = requester === undefined || requester.unresolved !== undefined;
    // A lookup that failed is asked again at the next record (an elevation asks anew each time too).
    if (requester?.unresolved !== undefined) account.answers.clear();
    const decided = decide(index, { ...request, groups: requester?.groups ?? [] });
    const decision = unresolved ? { ...decided, decision: 'deny' as const, matchedRules: [] } : decided;
    const result: DiscoveryResult = decision.decision === 'allow' ? 'would-allow' : decision.decision === 'deny' ? 'would-deny' : 'no-rule';
    const data: DiscoveredData = { source, runAs: record.runAs };
    if (record.cwd !== undefined) data.cwd = record.cwd;
    if (record.tty !== undefined) data.tty = record.tty;
    if (program.sha256) data.sha256 = program.sha256;
    if (program.publisher) data.publisher = program.publisher;
    const fields: EventFields = {
      user: record.user,
      processPath: program.path,
      args,
      result,
      ...(unresolved ? { reason: 'identity-unresolved' } : {}),
      ...(decision.matchedRules.length ? { rule: decision.matchedRules.join(', ') } : {}),
      ...(decision.decision === 'allow' ? { controls: decision.controls } : {}),
      data: data as Record<string, unknown>,
    };
    return { fields, time: record.time };
  }

  /** The sudo user as an elevation's requester (undefined: the name service does not know the name), kept a minute with its group lookups. */
  private async accountOf(user: string): Promise<{ requester: Requester | undefined; answers: GroupAnswers }> {
    const now = Date.now();
    const seen = this.accounts.get(user);
    if (seen && now - seen.at < ACCOUNT_TTL_MS) return seen;
    const ids = await accountIds(user);
    const found = { at: now, requester: ids ? await requesterOf(ids.uid, ids.gid) : undefined, answers: new Map() as GroupAnswers };
    if (this.accounts.size > 1024) this.accounts.clear();
    this.accounts.set(user, found);
    return found;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.chain;
    await this.follower?.stop();
    this.follower = undefined;
  }
}

async function accountIds(user: string): Promise<{ uid: number; gid: number } | undefined> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => {
    execFile(GETENT, ['passwd', '--', user], { timeout: 5000, env: FORK_ENV }, (err, stdout) => {
      const f = err ? [] : stdout.trim().split(':');
      resolve(f.length >= 7 && f[0] === user && /^\d+$/.test(f[2] ?? '') && /^\d+$/.test(f[3] ?? '') ? { uid: Number(f[2]), gid: Number(f[3]) } : undefined);
    });
  });
}

/**
 * The program as rules see it: the real path of what sudo logged (links resolved), and its
 * SHA-256 when it is a regular file of bounded size, read without following a link or
 * blocking; as logged, without a hash, when it is gone or not a file.
 */
export async function resolveProgram(logged: string, publisherOf?: PublisherOf): Promise<{ path: string; sha256?: string; publisher?: string }> {
  if (!path.isAbsolute(logged)) return { path: logged };
  const real = await fs.realpath(logged).catch(() => null);
  if (real === null) return { path: logged };
  const pre = await fs.lstat(real).catch(() => null);
  if (!pre?.isFile()) return { path: real };
  let handle: FileHandle | undefined;
  try {
    handle = await fs.open(real, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK | fsc.O_NOCTTY);
    const st = await handle.stat();
    if (!st.isFile() || st.size > MAX_HASHED || st.ino !== pre.ino || st.dev !== pre.dev) return { path: real };
    const sha256 = await sha256Of(handle, st.size, real);
    // The package that verifiably installed this very file (checked through the same descriptor).
    const publisher = publisherOf ? await publisherOf(real, handle).catch(() => undefined) : undefined;
    return publisher ? { path: real, sha256, publisher } : { path: real, sha256 };
  } catch {
    return { path: real };
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** The real paths of sudo that the journal's _EXE may name. */
export async function sudoPaths(given?: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const p of given ?? ['/usr/bin/sudo', '/bin/sudo']) {
    const real = await fs.realpath(p).catch(() => null);
    if (real === null) continue;
    out.add(p);
    out.add(real);
  }
  return out;
}
