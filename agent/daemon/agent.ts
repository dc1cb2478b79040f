/**
 * The agent: one root process per machine that holds the policy, decides elevation
 * requests that arrive on its Unix socket, redeems passcodes into TSE sessions, runs
 * elevated programs through the executor, and reports every step through the spool.
 *
 * The parts are built elsewhere and composed here: policy source and cache (../policy),
 * the decision engine (src/rules), passcode checks (src/passcode), the TSE state
 * (../tse), the executor (../executor), the socket (../ipc), the spool and its uploader
 * (../spool), and the collector's agent API (../collector).
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AscendError, isAscendError } from '../../src/errors.js';
import { compileRules, decide, findingLine, lintRules, type Decision, type Rule, type RuleIndex } from '../../src/rules/index.js';
import type { RuleProblem } from '../../src/rules/policy.js';
import { PasscodeVerifier, passcodePolicyFromEffective, type PasscodePolicy, type PasscodeTerms } from '../../src/passcode/index.js';
import { tokenFromAscpass } from '../../src/passcode-keys/index.js';
import { replaceFileAtomically } from '../../src/atomic-file.js';
import type { EffectivePolicy } from '../../src/policy/index.js';
import { foldSnapshot, PolicyCache, PolicyRefresher, type PolicySnapshot, type PolicySource, type PolicyStatus } from '../policy/index.js';
import { checkRootOnlyFolder } from '../policy/root-only.js';
import { TseStore, type TseSession } from '../tse/store.js';
import { Spool, type SpoolOptions } from '../spool/spool.js';
import { collectorSender, Uploader } from '../spool/uploader.js';
import { pinOfCertificate, showPin } from '../../src/collector-api/pin.js';
import { AgentCollectorClient, checkCollectorUrl, type Enrollment, enrollmentFrom } from '../collector/client.js';
import { IpcServer, type IpcContext, type IpcRequest, type IpcServerOptions, writePaced } from '../ipc/index.js';
import { createExecutor, type Executor, type RunningElevation } from '../executor/index.js';
import { schedulerOf } from '../executor/schedulers.js';
import { DEFAULT_ID_RANGE } from '../executor/ids.js';
import { agentSettingsOf, eventClass, type AgentSettings } from './settings.js';
import { requesterOf, type Requester } from './identity.js';
import { AuditTrail } from './audit.js';
import { commandLineOf, inspectProgram, type ProgramInfo } from './program.js';
import { judgeExec, type ExecQuestion } from './exec-guard.js';

export type LogFn = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface AgentOptions {
  stateDir: string;
  socketPath: string;
  /** This computer's name as rules and passcodes see it. */
  computer: string;
  /** Collections this computer is in (rules can target them). */
  collections?: string[];
  policySource: PolicySource;
  /** Overrides the policy's ClientDataCollection host. */
  collectorUrl?: string;
  /** Enrolls with the collector on first start. */
  enrollToken?: string;
  /** A certificate authority (PEM) to trust for the collector instead of the one the enrollment token pins (--collector-ca). */
  collectorCa?: string;
  /** --insecure-dev: the collector may be plain http or unpinned https (development only; said loudly at every start). */
  insecureDev?: boolean;
  /** SID or group name → host groups, for the executor. */
  groupMap?: Record<string, string[]>;
  /** The uids/gids of ephemeral accounts (default: the executor's, see agent/executor/ids.ts). */
  idRange?: { first: number; last: number };
  executor?: Executor;
  log?: LogFn;
  clock?: () => number;
  /** Test hook: the refresher's timers (see PolicyRefresher). */
  random?: () => number;
  /** The event spool's size and reserve (default 64 MiB, the last 1/8 kept for elevation and session events). */
  spool?: SpoolOptions;
  /** How long identical denials are counted instead of spooled again (default 60 s). */
  repeatWindowMs?: number;
  /** Uids besides root trusted to own programs (and their folders) that rules elevate (--trusted-owner). */
  trustedOwners?: number[];
  /** The socket's connection limits (IpcServer: 64 at once, 8 per user, the rest of an eighth kept for root). */
  connectionLimits?: Pick<IpcServerOptions, 'maxConnections' | 'maxConnectionsPerUser' | 'rootReserve'>;
}


interface RunningEntry {
  elevationId: string;
  uid: number;
  sessionId: string | null;
  running: RunningElevation;
}

/** The elevated token for rule and approval elevations: BUILTIN\Administrators at High integrity. */
const RULE_GROUPS = ['S-1-5-32-544'];
const RULE_INTEGRITY = 'High';
/** Environment variables a client may pass into the elevated process. */
const PASSED_ENV = /^(TERM|LANG|LC_[A-Z]+|TZ|COLUMNS|LINES)$/;
/** Their values: names, never paths (TZ=/home/x/zone would make the elevated program read a user's file). */
const PASSED_VALUE = /^[A-Za-z0-9_.@+:-]{0,64}$/;
const MAX_TIMER_MS = 24 * 3600 * 1000;

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class AscendAgent {
  readonly startedAt = Date.now();
  private settings!: AgentSettings;
  private effective: EffectivePolicy[] = [];
  private rules: Rule[] = [];
  private ruleProblems: RuleProblem[] = [];
  private index: RuleIndex = compileRules([]);
  private hashRules = false;
  private passcodePolicy!: PasscodePolicy;
  private verifier!: PasscodeVerifier;
  private collectorRevoked = new Set<string>();
  private enrollment: Enrollment | null = null;
  private client: AgentCollectorClient | null = null;
  private uploader: Uploader | null = null;
  private readonly uploaderStop = new AbortController();
  private uploaderRun: Promise<void> | null = null;
  private readonly running = new Map<string, RunningEntry>();
  private sessionTimer: NodeJS.Timeout | undefined;
  private housekeeping: NodeJS.Timeout[] = [];
  private server: IpcServer | null = null;
  private lastRefreshBy = new Map<number, number>();
  /** When each uid last passed MFA (for the policy's MFA grace period). */
  private mfaPassedAt = new Map<number, number>();
  private readonly log: LogFn;
  private stopping = false;
  /** Every event goes through here: cut to the collector's limits, denials aggregated, elevations recorded before they start. */
  private readonly audit: AuditTrail;

  private constructor(
    private readonly opts: AgentOptions,
    readonly tse: TseStore,
    readonly spool: Spool,
    private readonly refresher: PolicyRefresher,
    private executor: Executor,
  ) {
    this.log = opts.log ?? (() => undefined);
    this.audit = new AuditTrail({
      spool,
      computer: opts.computer,
      now: () => tse.now(),
      collects: (type) => !this.settings || this.settings.collector.collect[eventClass(type)],
      onSpooled: () => this.uploader?.nudge(),
      log: (level, message) => this.log(level, message),
      ...(opts.repeatWindowMs !== undefined ? { repeatWindowMs: opts.repeatWindowMs } : {}),
    });
  }

  /** Starts the agent: state folder, policy (or its cache), collector, socket. */
  static async start(opts: AgentOptions): Promise<AscendAgent> {
    await prepareStateDir(opts.stateDir);
    const tse = await TseStore.open(opts.stateDir, opts.clock);
    const spool = await Spool.open(path.join(opts.stateDir, 'spool'), opts.spool);
    let agent: AscendAgent | undefined;
    const refresher = new PolicyRefresher({
      source: opts.policySource,
      cache: new PolicyCache(opts.stateDir),
      onChange: (snapshot: PolicySnapshot, info: { fromCache: boolean; changed: boolean }) => agent?.applyPolicy(snapshot, info.fromCache),
      log: (level: string, msg: string) => (opts.log ?? (() => undefined))(level === 'error' ? 'error' : level === 'warn' ? 'warn' : 'info', msg),
      ...(opts.random ? { random: opts.random } : {}),
    });
    // The executor is built once the first policy names the account prefix.
    agent = new AscendAgent(opts, tse, spool, refresher, opts.executor as Executor);
    await refresher.start();
    const current = refresher.current();
    if (!current) throw new AscendError('ASC_AGENT_POLICY_UNAVAILABLE', 'no policy could be read');
    if (!agent.settings) agent.applyPolicy(current, refresher.status().fromCache);
    agent.executor ??= createExecutor(process.platform === 'win32' ? 'win32' : 'linux', {
      accountPrefix: agent.settings.ephemeral.accountPrefix,
      maxLifetimeMs: agent.settings.ephemeral.maxLifetimeMinutes * 60_000,
      stateDir: opts.stateDir,
      ...(opts.idRange ? { idRange: opts.idRange } : {}),
      ...(opts.groupMap ? { groupMap: opts.groupMap } : {}),
      log: agent.log,
    });
    await agent.startCollector();
    await agent.cleanupOrphans();
    await agent.catchUpSessions();
    agent.startHousekeeping();
    agent.server = new IpcServer({ path: opts.socketPath, handler: (req, ctx) => agent.handle(req, ctx), log: agent.log, ...opts.connectionLimits });
    await agent.server.listen();
    agent.log('info', `agent listening on ${opts.socketPath}`, { computer: opts.computer, policy: opts.policySource.description });
    return agent;
  }

  // ---- policy

  private applyPolicy(snapshot: PolicySnapshot, fromCache: boolean): void {
    // One fold per policy change: the settings and the rules are both read from it.
    const { effective, rules: loaded } = foldSnapshot(snapshot);
    this.effective = effective;
    const labelled = loaded.rules.map((r) => (r.source !== undefined && snapshot.labels[r.source] ? { ...r, source: snapshot.labels[r.source] } : r));
    this.rules = labelled;
    this.ruleProblems = loaded.problems;
    this.index = compileRules(labelled);
    this.hashRules = labelled.some((r) => r.match.sha256 !== undefined);
    this.settings = agentSettingsOf(this.effective);
    this.rebuildVerifier();
    for (const p of loaded.problems) this.log('warn', `rule ${p.name} in ${p.list} skipped: ${p.message}`);
    for (const f of lintRules(labelled)) this.log('warn', `rule risk: ${findingLine(f)}`);
    const gpos = snapshot.sources.map((s) => snapshot.labels[s.source] ?? s.source);
    this.emit('policy-applied', { policy: snapshot.digest.slice(0, 16), message: `${snapshot.origin}${fromCache ? ' (cached)' : ''}: ${gpos.join(', ') || 'no GPO'}; ${labelled.length} rules` });
    void this.enforceSessions();
  }

  private rebuildVerifier(): void {
    const base = passcodePolicyFromEffective(this.effective);
    this.passcodePolicy = { ...base, revoked: new Set([...base.revoked, ...this.collectorRevoked]) };
    this.verifier = new PasscodeVerifier({ ...this.passcodePolicy, offlineAllowed: true });
  }

  // ---- collector

  private get collectorUrl(): string | null {
    return this.opts.collectorUrl ?? this.settings.collector.url;
  }

  private async startCollector(): Promise<void> {
    const file = path.join(this.opts.stateDir, 'collector.json');
    const insecureDev = this.opts.insecureDev === true;
    if (insecureDev) {
      this.log('error', 'INSECURE DEVELOPMENT MODE (--insecure-dev): the collector is not authenticated (plain http or an unpinned certificate allowed); anyone who can answer on its address can pose as it. Never use this in production.');
    }
    try {
      const read = enrollmentFrom(JSON.parse(await fs.readFile(file, 'utf8')));
      if ('why' in read) this.log('error', `ignoring ${file}: ${read.why}`);
      else if (read.enrollment.insecure && !insecureDev) this.log('error', `ignoring ${file}: it was enrolled with --insecure-dev (the collector was not authenticated); enroll again without it`);
      else this.enrollment = read.enrollment;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.log('warn', `ignoring ${file}: ${messageOf(e)}`);
    }
    const url = this.collectorUrl;
    let wanted: string | null = null;
    try {
      wanted = url === null ? null : checkCollectorUrl(url, insecureDev).href;
    } catch (e) {
      // --collector is this machine's admin's mistake: refuse to start. The domain policy's host: say so, and keep events in the spool.
      if (this.opts.collectorUrl !== undefined) throw e;
      this.log('error', `not using the collector the policy names: ${messageOf(e)}`);
      return;
    }
    if (this.enrollment !== null && wanted !== null && this.enrollment.url !== wanted && !this.opts.enrollToken) {
      this.log('error', `the collector is now ${wanted}, but the agent is enrolled with ${this.enrollment.url}: events stay in the spool until it is enrolled there (--enroll-token-file)`);
      return;
    }
    if (wanted !== null && this.opts.enrollToken && (this.enrollment === null || this.enrollment.url !== wanted)) {
      this.enrollment = await AgentCollectorClient.enroll(wanted, this.opts.enrollToken, this.opts.computer, {
        insecureDev,
        ...(this.opts.collectorCa !== undefined ? { ca: this.opts.collectorCa } : {}),
      });
      await replaceFileAtomically(file, Buffer.from(`${JSON.stringify(this.enrollment)}\n`), 0o600);
      this.log('info', `enrolled with ${new URL(wanted).origin} as agent ${this.enrollment.agentId}${this.enrollment.anchor === null ? ' (UNAUTHENTICATED: --insecure-dev)' : ''}`);
    }
    if (this.enrollment === null) {
      if (url !== null) this.log('warn', `not enrolled with the collector ${url}: events stay in the spool (start once with --enroll-token-file)`);
      return;
    }
    this.client = new AgentCollectorClient(this.enrollment);
    this.uploader = new Uploader(this.spool, collectorSender(this.client.url.href, this.enrollment.credential, this.client.trust), {
      idleMs: this.settings.collector.uploadIntervalSeconds * 1000,
    });
    this.uploaderRun = this.uploader.run(this.uploaderStop.signal).then(() => {
      if (this.uploader?.status.unauthorized) this.log('error', `the collector refused the agent's credential: ${this.uploader.status.lastError ?? ''}; enroll again`);
    });
    await this.loadRevocations();
  }

  private async loadRevocations(): Promise<void> {
    const file = path.join(this.opts.stateDir, 'revocations.json');
    try {
      const saved = JSON.parse(await fs.readFile(file, 'utf8')) as { ids?: unknown };
      if (Array.isArray(saved.ids)) this.collectorRevoked = new Set(saved.ids.filter((x): x is string => typeof x === 'string').map((x) => x.toLowerCase()));
    } catch {
      // none saved yet
    }
    // Saved revocations count from the start, also when the collector is unreachable now.
    this.rebuildVerifier();
    await this.enforceSessions();
    await this.fetchRevocations();
  }

  /** Revocations from the collector (kept on disk so an offline machine honours them too). */
  private async fetchRevocations(): Promise<void> {
    if (!this.client) return;
    try {
      const list = await this.client.revocations();
      const ids = new Set(list.filter((r) => r.kind === 'passcode').map((r) => r.subject.toLowerCase()));
      const changed = ids.size !== this.collectorRevoked.size || [...ids].some((x) => !this.collectorRevoked.has(x));
      if (!changed) return;
      this.collectorRevoked = ids;
      await replaceFileAtomically(path.join(this.opts.stateDir, 'revocations.json'), Buffer.from(`${JSON.stringify({ ids: [...ids] })}\n`), 0o600);
      this.rebuildVerifier();
      await this.enforceSessions();
    } catch (e) {
      this.log('warn', `revocations not fetched: ${messageOf(e)}`);
    }
  }

  /**
   * Appends an event to the spool if its class is collected, cut to the collector's limits
   * (repeated identical denials are counted, see AuditTrail); the promise settles once the
   * event is on disk (callers that must not go on before that await it). Never rejects.
   */
  private emit(type: string, fields: Record<string, unknown>): Promise<void> {
    return this.audit.emit(type, fields);
  }

  // ---- sessions

  /** Ends sessions whose end passed while the agent was not running (and their processes are gone with it). */
  private async catchUpSessions(): Promise<void> {
    for (const s of this.tse.overdueSessions()) await this.expireSession(s);
    this.scheduleSessionTimer();
  }

  /** Ends active sessions the policy no longer allows: TSE not enabled, or the passcode revoked. */
  private async enforceSessions(): Promise<void> {
    if (!this.passcodePolicy) return;
    for (const s of this.tse.activeSessions()) {
      const revoked = this.passcodePolicy.revoked.has(s.passcodeId) || [...this.passcodePolicy.revoked].some((id) => id.toLowerCase() === s.passcodeId.toLowerCase());
      if (!this.passcodePolicy.tseEnabled || revoked) {
        const ended = await this.tse.endSession(s.sessionId, 'ended');
        if (ended) {
          await this.emit('session-ended', { user: s.user, passcodeId: s.passcodeId, passcodeTitle: s.passcodeTitle, sessionId: s.sessionId, reason: revoked ? 'passcode revoked' : 'TSE disabled by policy' });
          if (s.endProcesses) await this.endSessionProcesses(s);
        }
      }
    }
  }

  private scheduleSessionTimer(): void {
    clearTimeout(this.sessionTimer);
    const active = this.tse.activeSessions();
    if (active.length === 0) return;
    const next = Math.min(...active.map((s) => s.endsAt));
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, next - this.tse.now()));
    this.sessionTimer = setTimeout(() => void this.onSessionTimer(), delay);
  }

  private async onSessionTimer(): Promise<void> {
    for (const s of this.tse.overdueSessions()) await this.expireSession(s);
    this.scheduleSessionTimer();
  }

  private async expireSession(s: TseSession): Promise<void> {
    const ended = await this.tse.endSession(s.sessionId, 'expired');
    if (!ended) return;
    this.log('info', `TSE session ${s.sessionId} of ${s.user} expired`);
    await this.emit('session-expired', { user: s.user, passcodeId: s.passcodeId, passcodeTitle: s.passcodeTitle, sessionId: s.sessionId });
    if (s.endProcesses) await this.endSessionProcesses(s);
  }

  private async endSessionProcesses(s: TseSession): Promise<void> {
    const pids: number[] = [];
    for (const entry of this.running.values()) {
      if (entry.sessionId !== s.sessionId) continue;
      try {
        pids.push(...(await entry.running.endTree()));
      } catch (e) {
        this.log('error', `ending the processes of elevation ${entry.elevationId} failed: ${messageOf(e)}`);
      }
    }
    await this.emit('processes-ended', { user: s.user, passcodeId: s.passcodeId, sessionId: s.sessionId, processIds: pids, reason: 'session-expired' });
  }

  // ---- housekeeping

  private startHousekeeping(): void {
    const every = (ms: number, task: () => Promise<void>) => {
      const t = setInterval(() => void task().catch((e: unknown) => this.log('error', messageOf(e))), ms);
      t.unref();
      this.housekeeping.push(t);
    };
    every(Math.max(5, this.settings.ephemeral.cleanupIntervalMinutes) * 60_000, () => this.cleanupOrphans());
    every(5 * 60_000, () => this.fetchRevocations());
    // Saving the clock now and then is what notices it being set back after a quiet spell.
    every(60_000, () => this.tse.saveClock());
  }

  private async cleanupOrphans(): Promise<void> {
    const active = new Set([...this.running.keys()]);
    try {
      const report = await this.executor.cleanupOrphans(active);
      if (report.removedAccounts.length || report.removedHomes.length) {
        this.log('info', `removed orphaned ephemeral accounts: ${report.removedAccounts.join(', ') || 'none'}; homes: ${report.removedHomes.length}`);
      }
      for (const p of report.problems) this.log('warn', `cleanup: ${p}`);
    } catch (e) {
      this.log('error', `ephemeral account cleanup failed: ${messageOf(e)}`);
    }
  }

  // ---- requests

  private async handle(req: IpcRequest, ctx: IpcContext): Promise<unknown> {
    if (this.stopping) throw new AscendError('ASC_AGENT_NOT_RUNNING', 'the agent is stopping');
    // An elevated process (an ephemeral account) asks for nothing more: an elevation does not
    // beget elevations, and each ephemeral uid would otherwise bring its own connection quota.
    const ephemeral = this.opts.idRange ?? DEFAULT_ID_RANGE;
    if (ctx.peer.uid >= ephemeral.first && ctx.peer.uid <= ephemeral.last) {
      throw new AscendError('ASC_ELEVATION_DENIED', `uid ${ctx.peer.uid} is an ephemeral account of an elevation; an elevated process cannot ask the agent for another`);
    }
    const requester = await requesterOf(ctx.peer.uid, ctx.peer.gid);
    switch (req.op) {
      case 'status':
        return this.statusFor(requester);
      case 'refresh':
        return this.refreshFor(requester);
      case 'tse-status':
        return this.tseStatusFor(requester);
      case 'tse-redeem':
        return this.redeem(requester, stringParam(req, 'passcode'));
      case 'elevate':
        return this.elevate(requester, req, ctx);
      default:
        throw new AscendError('ASC_AGENT_PROTOCOL', `unknown request "${String(req.op)}"`);
    }
  }

  statusFor(requester: Pick<Requester, 'uid'>): unknown {
    const policy: PolicyStatus = this.refresher.status();
    const stats = this.spool.stats();
    return {
      computer: this.opts.computer,
      pid: process.pid,
      startedAt: new Date(this.startedAt).toISOString(),
      policy,
      rules: { count: this.rules.length, problems: this.ruleProblems.map((p) => `${p.list}/${p.name}: ${p.message}`) },
      tse: {
        enabled: this.passcodePolicy.tseEnabled,
        offlineAllowed: this.passcodePolicy.offlineAllowed,
        trustedKeys: this.verifier.trustedKeyIds,
        activeSessions: requester.uid === 0 ? this.tse.activeSessions().length : this.tse.activeSessions(requester.uid).length,
        clockBehindSeconds: Math.round(this.tse.clockBehindBy() / 1000),
      },
      collector: {
        url: this.collectorUrl,
        enrolled: this.enrollment !== null,
        agentId: this.enrollment?.agentId ?? null,
        // What the agent trusts the collector by: the pinned CA's fingerprint, or nothing (--insecure-dev).
        pinned: this.enrollment?.anchor ? showPin(pinOfCertificate(this.enrollment.anchor)) : null,
        insecure: this.opts.insecureDev === true,
        spool: stats,
        upload: this.uploader ? { ...this.uploader.status } : null,
      },
      elevationsRunning: requester.uid === 0 ? this.running.size : [...this.running.values()].filter((r) => r.uid === requester.uid).length,
    };
  }

  /** Any user may ask for a refresh (as gpupdate); others than root at most once a minute. */
  private async refreshFor(requester: Requester): Promise<unknown> {
    const last = this.lastRefreshBy.get(requester.uid) ?? 0;
    if (requester.uid !== 0 && Date.now() - last < 60_000) return { refreshed: false, reason: 'refreshed less than a minute ago', policy: this.refresher.status() };
    this.lastRefreshBy.set(requester.uid, Date.now());
    const status = await this.refresher.refresh();
    await this.fetchRevocations();
    return { refreshed: status.lastError === undefined, policy: status };
  }

  private tseStatusFor(requester: Requester): unknown {
    const now = this.tse.now();
    const view = (s: TseSession) => ({
      sessionId: s.sessionId,
      user: s.user,
      passcodeId: s.passcodeId,
      passcodeTitle: s.passcodeTitle,
      startedAt: new Date(s.startedAt).toISOString(),
      endsAt: new Date(s.endsAt).toISOString(),
      secondsLeft: s.ended === undefined ? Math.max(0, Math.round((s.endsAt - now) / 1000)) : 0,
      endProcesses: s.endProcesses,
      groups: s.groups,
      integrity: s.integrity,
      ended: s.ended ? { at: new Date(s.ended.at).toISOString(), reason: s.ended.reason } : null,
    });
    const mine = requester.uid === 0 ? this.tse.sessions() : this.tse.sessions(requester.uid);
    return { user: requester.name, active: mine.filter((s) => s.ended === undefined && s.endsAt > now).map(view), recent: mine.filter((s) => s.ended !== undefined).slice(-10).map(view) };
  }

  /** Redeems a passcode for the requester: checks, counts (durably, then domain-wide), starts the session. */
  async redeem(requester: Requester, text: string): Promise<unknown> {
    const token = tokenFromAscpass(text, 'the passcode');
    const refuse = async (reason: string, message: string, terms?: PasscodeTerms, hint?: string): Promise<never> => {
      await this.emit('passcode-refused', { user: requester.name, reason, message, ...(terms ? { passcodeId: terms.id, passcodeTitle: terms.title } : {}) });
      throw new AscendError('ASC_TSE_REFUSED', message, hint ? { hint } : undefined);
    };
    const reconnect = 'connect to the network so the collector can confirm the passcode';
    for (let attempt = 0; attempt < 5; attempt++) {
      const probe = this.verifier.check(token, this.checkContext(requester, 0));
      if (!probe.ok && probe.reason !== 'uses-exhausted') return refuse(probe.reason, probe.message, probe.terms);
      const terms = probe.terms as PasscodeTerms;
      const usesSoFar = this.tse.usesOf(terms.id);
      const result = this.verifier.check(token, this.checkContext(requester, usesSoFar));
      if (!result.ok) return refuse(result.reason, result.message, result.terms);
      // Domain-wide count, and the confirmation offline use needs when the policy forbids it.
      const mustConfirm = !this.passcodePolicy.offlineAllowed;
      if (this.client) {
        let answer: Awaited<ReturnType<AgentCollectorClient['redeemPasscode']>> | undefined;
        try {
          answer = await this.client.redeemPasscode(terms.id);
        } catch (e) {
          if (mustConfirm) return refuse('offline-not-allowed', `passcode "${terms.title}" (${terms.id}): offline passcodes are not enabled for this computer and the collector could not confirm it (${messageOf(e)})`, terms, reconnect);
          this.log('warn', `passcode ${terms.id} counted on this machine only: ${messageOf(e)}`);
        }
        if (answer && !answer.ok && (answer.reason !== 'unknown' || mustConfirm)) {
          const why =
            answer.reason === 'spent'
              ? 'its uses across the domain are spent'
              : answer.reason === 'revoked'
                ? 'the collector lists it as revoked'
                : answer.reason === 'wrong-computer'
                  ? 'the collector registered it for other computers than the one this agent is enrolled as'
                  : 'the collector does not know it (register it: ascend server passcode register FILE)';
          const reason = answer.reason === 'spent' ? 'uses-exhausted' : answer.reason === 'revoked' ? 'revoked' : answer.reason === 'wrong-computer' ? 'wrong-computer' : 'offline-not-allowed';
          return refuse(reason, `passcode "${terms.title}" (${terms.id}): ${why}`, terms);
        }
      } else if (mustConfirm) {
        return refuse('offline-not-allowed', `passcode "${terms.title}" (${terms.id}): offline passcodes are not enabled for this computer and the agent is not enrolled with a collector to confirm it`, terms, 'enroll the agent with a collector (--collector URL --enroll-token-file F)');
      }
      const now = this.tse.now();
      const session: Omit<TseSession, 'ended'> = {
        sessionId: randomUUID(),
        passcodeId: terms.id,
        passcodeTitle: terms.title,
        uid: requester.uid,
        user: requester.name,
        startedAt: now,
        endsAt: now + result.session.durationSeconds * 1000,
        endProcesses: result.session.endProcesses,
        groups: result.session.groups,
        privileges: result.session.privileges,
        integrity: result.session.integrity,
      };
      // The session starts only with the room for its passcode-redeemed event held (fail closed).
      const redeemedEvent = { user: requester.name, passcodeId: terms.id, passcodeTitle: terms.title, sessionId: session.sessionId, result: `uses left ${result.session.usesLeft}` };
      const started = await this.audit.recorded('the TSE session', 'passcode-redeemed', redeemedEvent, () => this.tse.startSession(session, usesSoFar), () => this.tse.endSession(session.sessionId, 'ended'));
      if (!started) continue; // another redemption counted meanwhile: check again
      this.scheduleSessionTimer();
      this.log('info', `TSE session ${session.sessionId} for ${requester.name} from passcode ${terms.id}`);
      return {
        sessionId: session.sessionId,
        passcodeId: terms.id,
        passcodeTitle: terms.title,
        user: requester.name,
        startedAt: new Date(session.startedAt).toISOString(),
        endsAt: new Date(session.endsAt).toISOString(),
        durationSeconds: result.session.durationSeconds,
        endProcesses: session.endProcesses,
        groups: session.groups,
        integrity: session.integrity,
        usesLeft: result.session.usesLeft,
      };
    }
    throw new AscendError('ASC_TSE_REFUSED', 'the passcode is being redeemed concurrently; try again');
  }

  private checkContext(requester: Requester, usesSoFar: number) {
    const at = new Date(this.tse.now());
    return { computer: this.opts.computer, user: requester.name, at, utcOffsetMinutes: -at.getTimezoneOffset(), usesSoFar };
  }

  /** Decides and, when allowed and every control is met, runs the program elevated. */
  private async elevate(requester: Requester, req: IpcRequest, ctx: IpcContext): Promise<unknown> {
    const argv = req.argv;
    if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== 'string')) throw new AscendError('ASC_AGENT_PROTOCOL', 'elevate needs argv, a non-empty list of strings');
    const cwd = typeof req.cwd === 'string' ? req.cwd : '/';
    const env: Record<string, string> = {};
    if (req.env && typeof req.env === 'object') for (const [k, v] of Object.entries(req.env as Record<string, unknown>)) if (PASSED_ENV.test(k) && typeof v === 'string' && PASSED_VALUE.test(v) && !v.includes('..')) env[k] = v;
    const justification = typeof req.justification === 'string' ? req.justification.trim() : undefined;
    const otp = typeof req.otp === 'string' ? req.otp.trim() : undefined;

    let redeemed: unknown;
    if (typeof req.passcode === 'string') redeemed = await this.redeem(requester, req.passcode);

    const program = await inspectProgram(argv[0] as string, { hash: this.hashRules, trustedOwners: new Set(this.opts.trustedOwners ?? []) });
    // The judged program stays open until the executor has started it from this descriptor,
    // and is closed on every way out (refusals included): closing twice is harmless.
    try {
      return await this.elevateJudged(requester, ctx, program, { argv, cwd, env, justification, otp, redeemed });
    } finally {
      await program.handle.close();
    }
  }

  /** elevate(), once the program is open and judged: decide, check controls, start it from its descriptor. */
  private async elevateJudged(
    requester: Requester,
    ctx: IpcContext,
    program: ProgramInfo,
    asked: { argv: unknown[]; cwd: string; env: Record<string, string>; justification: string | undefined; otp: string | undefined; redeemed: unknown },
  ): Promise<unknown> {
    const { argv, cwd, env, justification, otp, redeemed } = asked;
    const args = argv.slice(1) as string[];
    const commandLine = commandLineOf(args);
    const session = this.tse.activeSessions(requester.uid).sort((a, b) => b.endsAt - a.endsAt)[0];
    // Read at accept (a client that exits at once is still known); absent when unknown, which deny rules naming a parent treat as a match.
    const parent = ctx.parent.known ? ctx.parent.path : undefined;
    const decision: Decision = decide(this.index, {
      user: requester.name,
      groups: requester.groups,
      computer: this.opts.computer,
      collections: this.opts.collections ?? [],
      path: program.path,
      args: commandLine,
      ...(program.sha256 ? { sha256: program.sha256 } : {}),
      ...(parent ? { parentPath: parent } : {}),
      tseActive: session !== undefined,
    });
    const base = { user: requester.name, processPath: program.path, args: commandLine };
    if (decision.decision !== 'allow') {
      const reason = decision.decision === 'deny' ? `denied by ${decision.matchedRules.join(', ')}` : 'no elevation rule matches and no TSE session is active';
      await this.emit('elevation-denied', { ...base, reason: decision.reason, ...(decision.matchedRules.length ? { rule: decision.matchedRules.join(', ') } : {}), message: reason });
      throw new AscendError('ASC_ELEVATION_DENIED', `${program.path} is not elevated: ${reason}`, decision.decision === 'deny' ? undefined : { hint: 'redeem a passcode (ascend tse redeem FILE) or ask an admin for a rule' });
    }
    const byTse = decision.reason === 'tse';
    if (!byTse && !program.trust.trusted) {
      // A rule vouches only for a file nobody but root (or a trusted owner) can change, nor
      // any folder above it: anyone else could swap it between the check and the start, or
      // have written it for someone else to run (a path rule would vouch for anything).
      const message = `${program.path} is not elevated: ${program.trust.reason}; a rule elevates only a program that only root can change`;
      await this.emit('elevation-denied', { ...base, reason: 'program-not-trusted', message });
      throw new AscendError('ASC_ELEVATION_DENIED', message);
    }
    // A scheduler would queue work that runs later outside the elevation, where no rule applies.
    const scheduler = await schedulerOf(await program.handle.stat());
    if (scheduler) {
      const message = `${program.path} is not elevated: ${scheduler} would queue work that runs outside the elevation, where its rules are not checked`;
      await this.emit('elevation-denied', { ...base, reason: 'scheduler-outside-elevation', message });
      throw new AscendError('ASC_ELEVATION_DENIED', message);
    }
    // What the kernel runs for it (a #! interpreter chain, the program a loader is given) is
    // judged by the deny rules too: the launcher lets the judged program's own exec through.
    const chain = await judgeExec(
      this.index,
      { pid: process.pid, path: program.path, argv: [program.path, ...args], exe: parent ?? '' },
      { user: requester.name, groups: requester.groups, computer: this.opts.computer, collections: this.opts.collections ?? [], tseActive: session !== undefined },
      this.hashRules,
    );
    if (chain.verdict === 'deny') {
      const message = `${program.path} is not elevated: ${chain.reason ?? 'denied'}`;
      await this.emit('elevation-denied', { ...base, reason: 'deny-rule', ...(chain.rules?.length ? { rule: chain.rules.join(', ') } : {}), message });
      throw new AscendError('ASC_ELEVATION_DENIED', message);
    }
    const elevationId = randomUUID();
    if (!byTse) await this.satisfyControls(decision, requester, elevationId, base, justification, otp, ctx);

    if (ctx.signal.aborted) throw new AscendError('ASC_ELEVATION_CONTROL_FAILED', 'the request was abandoned before the program started');
    const groups = byTse && session ? session.groups : RULE_GROUPS;
    const integrity = byTse && session ? session.integrity : RULE_INTEGRITY;
    const elevated = {
      ...base,
      elevatedBy: byTse ? 'tse' : decision.controls.includes('approval') ? 'approval' : 'rule',
      ...(byTse && session ? { sessionId: session.sessionId, passcodeId: session.passcodeId, passcodeTitle: session.passcodeTitle } : {}),
      ...(decision.matchedRules.length ? { rule: decision.matchedRules.join(', ') } : {}),
      ...(byTse ? {} : { controls: decision.controls }),
    };
    // Fail closed: the room for process-elevated is held before the program starts, and the
    // event is committed with its pid right after (see AuditTrail.reserve and Spool.reserve).
    const record = await this.audit.reserve(`the elevation of ${program.path}`, 'process-elevated', elevated, { pid: Number.MAX_SAFE_INTEGER, data: { account: 'x'.repeat(64), groups, integrity } });
    const running = await this.executor.start({
      elevationId,
      requester: { uid: requester.uid, gid: requester.gid, name: requester.name },
      command: [program.path, ...args],
      cwd,
      env,
      groups,
      integrity,
      stdio: 'pipe',
      programFd: program.handle.fd,
      onExec: (q) => this.judgeExec(q, requester, elevationId, session !== undefined),
      holdUntilReleased: true,
    }).finally(() => program.handle.close()).catch(record.abandon);
    const entry: RunningEntry = { elevationId, uid: requester.uid, sessionId: byTse && session ? session.sessionId : null, running };
    this.running.set(elevationId, entry);
    await record.commit({ pid: running.pid, data: { account: running.account, groups, integrity } }).catch(async (e: unknown) => {
      // Only the disk failing the write itself gets here: a program not on the record does not go on.
      running.release?.(false);
      await running.endTree(0).catch(() => []);
      this.running.delete(elevationId);
      throw new AscendError('ASC_AUDIT_UNAVAILABLE', `the elevation of ${program.path} was ended: the agent could not record it (${messageOf(e)})`);
    });
    // On record: now the program may run (it waited at its first exec; see holdUntilReleased).
    running.release?.(true);
    ctx.send({ kind: 'event', status: 'started', pid: running.pid, account: running.account, elevatedBy: byTse ? 'tse' : 'rule' });
    // Output waits when the client reads slowly, and all of it is sent before the result.
    const output = Promise.all([ctx.forward(running.stdout, 'stdout'), ctx.forward(running.stderr, 'stderr')]).catch(() => undefined);
    running.stdin.on('error', () => undefined);
    // stdin is paced: while the program's stdin buffer is full, the client's socket is not read.
    ctx.onFrame((frame: Record<string, unknown>) => {
      if (frame.op === 'stdin' && typeof frame.data === 'string') return writePaced(running.stdin, Buffer.from(frame.data, 'base64'));
      if (frame.op === 'stdin-end') running.stdin.end();
      else if (frame.op === 'signal' && (frame.signal === 'SIGINT' || frame.signal === 'SIGTERM' || frame.signal === 'SIGHUP')) running.signal(frame.signal);
      return undefined;
    });
    // A client that goes away is a hang-up, as a closed terminal would be; what it sent and the program did not read is dropped.
    const hangUp = (): void => {
      running.signal('SIGHUP');
      running.stdin.destroy();
    };
    ctx.signal.addEventListener('abort', hangUp, { once: true });
    if (ctx.signal.aborted) hangUp();
    // The session may have ended while the account was being made: its processes end too.
    if (entry.sessionId !== null && session && !this.tse.activeSessions(requester.uid).some((x) => x.sessionId === entry.sessionId) && session.endProcesses) {
      void running.endTree();
    }
    try {
      const done = await running.done;
      await output;
      return {
        ...(redeemed ? { session: redeemed } : {}),
        elevationId,
        exitCode: done.code,
        signal: done.signal,
        account: running.account,
        elevatedBy: byTse ? 'tse' : 'rule',
        rules: decision.matchedRules,
        accountRemoved: done.accountRemoved,
      };
    } finally {
      this.running.delete(elevationId);
    }
  }

  /** The exec guard (Linux): a deny rule refuses every program the elevated tree starts, not only the first (./exec-guard.ts). */
  private async judgeExec(q: ExecQuestion, requester: Requester, elevationId: string, tseActive: boolean): Promise<'allow' | 'deny'> {
    const ctx = { user: requester.name, groups: requester.groups, computer: this.opts.computer, collections: this.opts.collections ?? [], tseActive };
    const judged = await judgeExec(this.index, q, ctx, this.hashRules);
    if (judged.verdict === 'deny') {
      const message = `${judged.path} was refused inside an elevation: ${judged.reason ?? 'denied'}`;
      await this.emit('elevation-denied', { user: requester.name, processPath: judged.path, args: judged.commandLine, reason: 'denied-in-elevated-tree', ...(judged.rules?.length ? { rule: judged.rules.join(', ') } : {}), message, data: { elevationId, pid: q.pid } });
    }
    return judged.verdict;
  }

  /** Spools an event of an elevation now, or throws ASC_AUDIT_UNAVAILABLE when it cannot be recorded. */
  private async recordNow(what: string, type: string, fields: Record<string, unknown>): Promise<void> {
    const pending = await this.audit.reserve(what, type, fields);
    try {
      await pending.commit();
    } finally {
      await pending.release();
    }
  }

  /** JUSTIFY (length from policy), then MFA (checked by the collector), then APPROVAL (asked once, waited for, used once). */
  private async satisfyControls(
    decision: Decision,
    requester: Requester,
    elevationId: string,
    base: { user: string; processPath: string; args: string },
    justification: string | undefined,
    otp: string | undefined,
    ctx: IpcContext,
  ): Promise<void> {
    const fail = (message: string, hint?: string): never => {
      throw new AscendError('ASC_ELEVATION_CONTROL_FAILED', message, hint ? { hint } : undefined);
    };
    const rules = decision.matchedRules.join(', ');
    if (decision.controls.includes('justify')) {
      const min = this.settings.approvals.justificationMinLength;
      if (justification === undefined || justification.length < Math.max(1, min)) {
        fail(`${rules} requires a justification of at least ${min} characters`, 'pass --justify "why you need it"');
      }
      // The reason is part of the record: when it cannot be written, nothing goes on (fail closed).
      await this.recordNow(`the elevation of ${base.processPath}`, 'justification', { ...base, justification, requestId: elevationId });
    }
    if (!this.client && (decision.controls.includes('mfa') || decision.controls.includes('approval'))) {
      fail(`${rules} requires ${decision.controls.filter((c) => c !== 'justify').join(' and ')}, which the collector checks, and this agent is not enrolled with one`);
    }
    const client = this.client as AgentCollectorClient;
    const grace = this.settings.approvals.mfaGraceMinutes * 60_000;
    const passedAt = this.mfaPassedAt.get(requester.uid);
    const inGrace = grace > 0 && passedAt !== undefined && performance.now() - passedAt < grace;
    if (decision.controls.includes('mfa') && !inGrace) {
      if (!otp) fail(`${rules} requires MFA`, 'pass --otp CODE from your authenticator app');
      let answer: { verified: boolean; reason?: string };
      try {
        answer = await client.verifyMfa(requester.name, otp as string);
      } catch (e) {
        await this.emit('mfa', { ...base, result: 'error', message: messageOf(e) });
        return fail(`MFA could not be checked: ${messageOf(e)}`);
      }
      await this.emit('mfa', { ...base, result: answer.verified ? 'verified' : (answer.reason ?? 'refused') });
      if (!answer.verified) fail(`the MFA code was refused (${answer.reason ?? 'wrong code'})`, 'use the current code; each code works once');
      this.mfaPassedAt.set(requester.uid, performance.now());
    }
    if (decision.controls.includes('approval')) {
      const filed = await client.fileApproval({ requestId: elevationId, ...base, ...(justification ? { justification } : {}) });
      await this.recordNow(`the elevation of ${base.processPath}`, 'approval-requested', { ...base, requestId: elevationId, ...(justification ? { justification } : {}) });
      ctx.send({ kind: 'event', status: 'waiting-approval', requestId: filed.requestId, message: `waiting for approval of request ${filed.requestId}` });
      const deadline = Date.now() + this.settings.approvals.requestTimeoutMinutes * 60_000;
      let view = filed;
      while (view.status === 'pending' && Date.now() < deadline && !ctx.signal.aborted && !this.stopping) {
        try {
          view = await client.pollApproval(elevationId, Math.min(50, Math.ceil((deadline - Date.now()) / 1000)));
        } catch (e) {
          if (isAscendError(e) && e.code !== 'ASC_COLLECTOR_UNREACHABLE') throw e;
          await new Promise((r) => setTimeout(r, 2000));
        }
      }
      if (ctx.signal.aborted) fail('the request was abandoned while waiting for approval');
      if (view.status === 'pending') fail(`no decision on approval request ${elevationId} within ${this.settings.approvals.requestTimeoutMinutes} minutes`);
      if (view.status !== 'approved') fail(`approval request ${elevationId} was ${view.status}${view.decidedBy ? ` by ${view.decidedBy}` : ''}`);
      // An approval runs once: the collector refuses a second use, or one past its time limit.
      // What runs is what the signed answer to this use says was approved: this elevation, used now.
      const used = await client.useApproval(elevationId);
      if (used.status !== 'approved' || used.usedAt === null || used.user !== base.user || used.processPath !== base.processPath || (used.args ?? '') !== base.args) {
        fail(`the collector's answer to using approval request ${elevationId} does not approve this elevation (${used.status}${used.usedAt === null ? ', not marked used' : ''})`);
      }
      ctx.send({ kind: 'event', status: 'approved', requestId: elevationId, message: `approved by ${used.decidedBy ?? 'an approver'}` });
    }
  }

  /** Stops accepting, ends running elevations (their accounts are removed), flushes, closes. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearTimeout(this.sessionTimer);
    for (const t of this.housekeeping) clearInterval(t);
    this.refresher.stop();
    await this.server?.close().catch(() => undefined);
    await Promise.all([...this.running.values()].map((r) => r.running.endTree(2000).catch(() => [])));
    await Promise.all([...this.running.values()].map((r) => r.running.done.catch(() => undefined)));
    await this.executor.close?.().catch(() => undefined);
    // One last upload attempt so events of the final moments leave promptly; the rest waits in the spool.
    this.uploaderStop.abort();
    await this.uploaderRun?.catch(() => undefined);
    await this.tse.saveClock().catch(() => undefined);
    // Counted repeats of denials are spooled before the spool closes.
    await this.audit.flush().catch(() => undefined);
    this.audit.close();
    await this.spool.close();
  }
}

function stringParam(req: IpcRequest, name: string): string {
  const v = req[name];
  if (typeof v !== 'string' || v === '') throw new AscendError('ASC_AGENT_PROTOCOL', `${String(req.op)} needs ${name}`);
  return v;
}

/** The state folder: created 0700, and refused when others may write it or it is not root's. */
async function prepareStateDir(dir: string): Promise<void> {
  // 0711: others may pass through (the ephemeral homes live below it by default) but not list it;
  // every file in it is 0600.
  await fs.mkdir(dir, { recursive: true, mode: 0o711 });
  const st = await fs.stat(dir);
  if (!st.isDirectory()) throw new AscendError('ASC_AGENT_CONFIG', `the state folder ${dir} is not a folder`);
  if ((st.mode & 0o022) !== 0) throw new AscendError('ASC_AGENT_CONFIG', `the state folder ${dir} may be written by others (mode ${(st.mode & 0o777).toString(8)})`, { hint: `chmod 700 ${dir}` });
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) throw new AscendError('ASC_AGENT_CONFIG', `the state folder ${dir} belongs to uid ${st.uid}, not to the agent (uid ${uid})`);
  // And every folder above it: whoever could rename one could put another state folder there.
  await checkRootOnlyFolder(dir, 'state folder');
}
