/**
 * Keeps the agent's policy current, as Group Policy's background refresh does: every
 * 90 minutes plus a random 0 to 30 (so a fleet does not hit the DC at once), and on
 * demand (`ascend agent refresh`, like gpupdate). A read that fails keeps the policy the
 * agent has; at start, with the source unreachable, the cached policy is used.
 */
import { AscendError, isAscendError } from '../../src/errors.js';
import type { PolicyCache, PolicyReadAttempt } from './cache.js';
import type { PolicyOrigin, PolicySnapshot } from './snapshot.js';
import type { PolicySource } from './source.js';

export type PolicyLogLevel = 'info' | 'warn' | 'error';

export interface PolicyChangeInfo {
  /** The snapshot came from the cache (the source could not be read at start). */
  fromCache: boolean;
  /** Its digest differs from the policy held before (true for the first policy). */
  changed: boolean;
}

export interface PolicyRefresherOptions {
  source: PolicySource;
  cache: PolicyCache;
  /**
   * Called with each policy to apply: the first one (from the source or the cache), then
   * after a refresh whose digest differs, and once when a live read replaces a cached
   * policy with the same digest (changed: false, fromCache: false).
   */
  onChange: (snapshot: PolicySnapshot, info: PolicyChangeInfo) => void;
  log?: (level: PolicyLogLevel, msg: string) => void;
  /** [0, 1), for the jitter; Math.random by default. */
  random?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  now?: () => number;
  /** Default 90 minutes. */
  baseMs?: number;
  /** Default 30 minutes: the next refresh is baseMs + random() * jitterMs after an attempt. */
  jitterMs?: number;
  /**
   * Whether the snapshot held (current()) keeps its sources' entries once onChange had them
   * (default true). The agent holds what it folded from them, not the raw entries: false.
   */
  keepEntries?: boolean;
  /**
   * For an agent that runs on demand on the domain's policy, after its first start: a cached
   * snapshot of this origin is used at start as it was read, and the source is read when due
   * (baseMs + jitter after the last read, successful or not, whose time is kept beside the
   * cache), in the background. Each start would otherwise ask the DC, every few minutes instead
   * of every 90 or so, and keep a request waiting for it.
   */
  reuseFreshCache?: PolicySnapshot['origin'];
  /** Record every read of the source beside the cache (an agent on demand, from its first start on; see reuseFreshCache). */
  recordReads?: boolean;
}

export interface PolicyStatus {
  origin: PolicyOrigin | undefined;
  /** The source's description. */
  description: string;
  /** When the policy held was read from its origin. */
  fetchedAt: number | undefined;
  /** The policy held came from the cache (the source has not been read since start). */
  fromCache: boolean;
  digest: string | undefined;
  lastAttemptAt: number | undefined;
  /** Why the last attempt failed; absent when it succeeded. */
  lastError?: string;
  nextRefreshAt: number | undefined;
  /** Labels of the sources in precedence order, lowest first (GPO names, files). */
  gpos: string[];
  /** The policy's non-fatal problems. */
  problems: string[];
}

export const DEFAULT_REFRESH_BASE_MS = 90 * 60_000;
export const DEFAULT_REFRESH_JITTER_MS = 30 * 60_000;

function errorText(e: unknown): string {
  if (isAscendError(e)) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

export class PolicyRefresher {
  private readonly source: PolicySource;
  private readonly cache: PolicyCache;
  private readonly onChange: PolicyRefresherOptions['onChange'];
  private readonly log: (level: PolicyLogLevel, msg: string) => void;
  private readonly random: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private readonly now: () => number;
  private readonly baseMs: number;
  private readonly jitterMs: number;
  private readonly keepEntries: boolean;

  private snapshot: PolicySnapshot | undefined;
  private fromCache = false;
  private lastAttemptAt: number | undefined;
  private lastError: string | undefined;
  private nextRefreshAt: number | undefined;
  private timer: unknown;
  private inFlight: Promise<PolicyStatus> | undefined;
  private started: Promise<PolicyStatus> | undefined;
  private stopped = false;
  private readonly reuseFreshCache: PolicySnapshot['origin'] | undefined;
  private readonly recordReads: boolean;

  constructor(opts: PolicyRefresherOptions) {
    this.source = opts.source;
    this.cache = opts.cache;
    this.onChange = opts.onChange;
    this.log = opts.log ?? (() => undefined);
    this.random = opts.random ?? Math.random;
    this.setTimer =
      opts.setTimer ??
      ((fn, ms) => {
        const t = setTimeout(fn, ms);
        t.unref();
        return t;
      });
    this.clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as NodeJS.Timeout));
    this.now = opts.now ?? Date.now;
    this.baseMs = opts.baseMs ?? DEFAULT_REFRESH_BASE_MS;
    this.jitterMs = opts.jitterMs ?? DEFAULT_REFRESH_JITTER_MS;
    this.keepEntries = opts.keepEntries ?? true;
    this.reuseFreshCache = opts.reuseFreshCache;
    this.recordReads = opts.recordReads === true || opts.reuseFreshCache !== undefined;
    if (!(this.baseMs > 0) || !(this.jitterMs >= 0)) throw new AscendError('ASC_AGENT_CONFIG', `policy refresh interval ${this.baseMs} ms + ${this.jitterMs} ms jitter is not positive`);
  }

  /**
   * The first policy: from the source (and saved to the cache), else from the cache.
   * Throws ASC_AGENT_POLICY_UNAVAILABLE when neither gives one. Calling it again returns
   * the first call's answer.
   */
  start(): Promise<PolicyStatus> {
    if (!this.started) {
      const p = this.share(() => this.first());
      this.started = p;
      // A start that found no policy may be tried again.
      p.catch(() => {
        if (this.started === p) this.started = undefined;
      });
    }
    return this.started;
  }

  /** Reads the source now (concurrent calls share one read); a failure keeps the policy held and is in the status. */
  refresh(): Promise<PolicyStatus> {
    return this.share(() => this.again());
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clearTimer(this.timer);
    this.timer = undefined;
    this.nextRefreshAt = undefined;
  }

  /** A read of the source is underway. */
  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  current(): PolicySnapshot | undefined {
    return this.snapshot;
  }

  status(): PolicyStatus {
    const s = this.snapshot;
    return {
      origin: s?.origin,
      description: this.source.description,
      fetchedAt: s?.fetchedAt,
      fromCache: this.fromCache,
      digest: s?.digest,
      lastAttemptAt: this.lastAttemptAt,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      nextRefreshAt: this.nextRefreshAt,
      gpos: s ? s.sources.map((x) => s.labels[x.source] ?? x.source) : [],
      problems: s ? [...s.problems] : [],
    };
  }

  private share(run: () => Promise<PolicyStatus>): Promise<PolicyStatus> {
    if (!this.inFlight) {
      this.inFlight = run().finally(() => {
        this.inFlight = undefined;
      });
    }
    return this.inFlight;
  }

  /** Reads the source; saves what it read. */
  private async read(): Promise<PolicySnapshot> {
    const attemptedAt = this.now();
    this.lastAttemptAt = attemptedAt;
    if (this.timer !== undefined) this.clearTimer(this.timer);
    this.timer = undefined;
    let snap: PolicySnapshot;
    try {
      snap = await this.source.load();
    } catch (e) {
      await this.record({ attemptedAt, cachedDigest: null, error: errorText(e) });
      throw e;
    }
    try {
      await this.cache.save(snap);
      await this.record({ attemptedAt, cachedDigest: snap.digest });
    } catch (e) {
      await this.record({ attemptedAt, cachedDigest: null });
      this.log('warn', `policy read, but not cached: ${errorText(e)}`);
    }
    for (const p of snap.problems) this.log('warn', `policy: ${p}`);
    return snap;
  }

  private async first(): Promise<PolicyStatus> {
    if (this.reuseFreshCache !== undefined) {
      const cached = (await this.cache.read()).snapshot;
      const now = this.now();
      const age = cached ? now - cached.fetchedAt : -1;
      // A clock set back (age < 0) reads the source now.
      const attempt = await this.cache.readAttempt();
      // The last read's record must agree with the cache: a read whose snapshot could not be
      // cached (a full disk) was enforced from memory, and the older cache must not come back.
      const agrees = attempt === undefined || attempt.cachedDigest === cached?.digest || (attempt.cachedDigest === null && attempt.error !== undefined);
      const lastRead = Math.max(cached?.fetchedAt ?? 0, attempt !== undefined && attempt.attemptedAt <= now ? attempt.attemptedAt : 0);
      // Overdue (a long outage of the agent, or of the source): read first, the cache as fallback.
      const overdue = now - lastRead > this.baseMs + this.jitterMs;
      if (cached && cached.origin === this.reuseFreshCache && age >= 0 && agrees && !overdue) {
        this.snapshot = cached;
        // As the last read left it: from the cache, and why, when that read failed.
        this.fromCache = attempt?.error !== undefined;
        this.lastError = attempt?.error;
        this.lastAttemptAt = lastRead;
        this.log('info', `policy of ${this.source.description} as read ${Math.round(age / 1000)} s ago (${cached.digest.slice(0, 12)})${this.fromCache ? ', the source unavailable since' : ''}; read again when due`);
        // Due already: the timer goes at once, and the read runs while the agent answers.
        this.schedule(lastRead);
        this.onChange(cached, { fromCache: this.fromCache, changed: true });
        this.snapshot = this.held(cached);
        return this.status();
      }
    }
    let snap: PolicySnapshot;
    try {
      snap = await this.read();
    } catch (e) {
      const why = errorText(e);
      this.lastError = why;
      // A source refused as configured (a policy file a user could write) is not papered over with the cache.
      if (isAscendError(e) && e.code === 'ASC_AGENT_CONFIG') throw e;
      const cached = await this.cache.read();
      if (cached.problem) this.log('warn', cached.problem);
      if (!cached.snapshot) {
        throw new AscendError(
          'ASC_AGENT_POLICY_UNAVAILABLE',
          `no policy: ${this.source.description} could not be read (${why}) and ${cached.problem ?? `there is no cached policy (${this.cache.file})`}`,
          { hint: 'check the policy source (the files, the DC and the machine credentials); the agent caches the policy after its first successful read', cause: e },
        );
      }
      this.log('warn', `policy source unavailable (${why}); using the cached policy read at ${new Date(cached.snapshot.fetchedAt).toISOString()}`);
      this.snapshot = cached.snapshot;
      this.fromCache = true;
      this.schedule();
      this.onChange(cached.snapshot, { fromCache: true, changed: true });
      this.snapshot = this.held(cached.snapshot);
      return this.status();
    }
    this.lastError = undefined;
    this.snapshot = snap;
    this.fromCache = false;
    this.log('info', `policy read from ${this.source.description} (${snap.digest.slice(0, 12)})`);
    this.schedule();
    this.onChange(snap, { fromCache: false, changed: true });
    this.snapshot = this.held(snap);
    return this.status();
  }

  private async again(): Promise<PolicyStatus> {
    let snap: PolicySnapshot;
    try {
      snap = await this.read();
    } catch (e) {
      this.lastError = errorText(e);
      this.log('warn', `policy refresh failed, keeping the policy held: ${this.lastError}`);
      this.schedule();
      return this.status();
    }
    const before = this.snapshot;
    const wasCached = this.fromCache;
    const changed = before === undefined || before.digest !== snap.digest;
    this.snapshot = changed || wasCached ? snap : this.held(snap);
    this.fromCache = false;
    this.lastError = undefined;
    this.schedule();
    if (changed || wasCached) {
      if (changed) this.log('info', `policy changed (${snap.digest.slice(0, 12)})`);
      try {
        this.onChange(snap, { fromCache: false, changed });
      } catch (e) {
        this.lastError = `the new policy could not be applied: ${errorText(e)}`;
        this.log('error', this.lastError);
      }
      this.snapshot = this.held(snap);
    }
    return this.status();
  }

  /** The snapshot as held after onChange: without its sources' entries unless keepEntries. */
  private held(snap: PolicySnapshot): PolicySnapshot {
    if (this.keepEntries) return snap;
    return { ...snap, sources: snap.sources.map((s) => ({ source: s.source, entries: [] })) };
  }

  /** Records a read beside the cache (an agent on demand); a failure to is logged, not thrown. */
  private async record(attempt: PolicyReadAttempt): Promise<void> {
    if (!this.recordReads) return;
    await this.cache.saveAttempt(attempt).catch((e: unknown) => this.log('warn', `this policy read was not recorded: ${errorText(e)}`));
  }

  /** The next read: baseMs + jitter after `from` (now, or when a reused snapshot was read). */
  private schedule(from = this.now()): void {
    if (this.stopped) return;
    if (this.timer !== undefined) this.clearTimer(this.timer);
    const r = Math.min(Math.max(this.random(), 0), 1);
    const delay = Math.max(0, from + this.baseMs + Math.floor(r * this.jitterMs) - this.now());
    this.nextRefreshAt = this.now() + delay;
    this.timer = this.setTimer(() => {
      this.timer = undefined;
      this.refresh().catch((e: unknown) => this.log('error', `policy refresh: ${errorText(e)}`));
    }, delay);
  }
}
