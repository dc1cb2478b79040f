/**
 * The agent: one root process per machine that holds the policy, decides elevation
 * requests that arrive on its Unix socket, redeems passcodes into TSE sessions, runs
 * elevated programs through the executor, and reports every step through the spool.
 *
 * This file composes the agent's parts and is its socket front (requests routed to them):
 *   ./policy-state.ts    the policy, folded once per change: settings, rules, passcode verifier
 *   ./collector-link.ts  enrollment, the uploader of the spool, the collector's revocations
 *   ./redeem.ts          a passcode becomes a TSE session
 *   ./sessions.ts        TSE sessions end (expiry, revocation, policy) with their processes
 *   ./elevation.ts       an elevation: judged, its controls met (./controls.ts), run, recorded
 *   ./audit.ts           every event, on its way to the spool
 * The parts underneath are built elsewhere: policy source and cache (../policy), the decision
 * engine (src/rules), passcode checks (src/passcode), the TSE state (../tse), the executor
 * (../executor), the socket (../ipc), the spool and its uploader (../spool), and the
 * collector's agent API (../collector).
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { replaceFileAtomically } from '../../src/atomic-file.js';
import { AscendError } from '../../src/errors.js';
import { pinOfCertificate, showPin } from '../../src/collector-api/pin.js';
// The modules themselves, not ../policy/index.js: that barrel loads the domain source (LDAP, SYSVOL).
import { PolicyCache } from '../policy/cache.js';
import { PolicyRefresher, type PolicyStatus } from '../policy/refresher.js';
import type { PolicySnapshot } from '../policy/snapshot.js';
import { TseStore } from '../tse/store.js';
import { Spool } from '../spool/spool.js';
import { IpcServer, type IpcContext, type IpcRequest } from '../ipc/index.js';
import { createExecutor, type Executor } from '../executor/index.js';
import { DEFAULT_ID_RANGE } from '../executor/ids.js';
import { eventClass } from './settings.js';
import { requesterOf, type Requester } from './identity.js';
import { AuditTrail } from './audit.js';
import { type AgentOptions, type LogFn, messageOf } from './options.js';
import { prepareStateDir } from './state-dir.js';
import { PolicyState } from './policy-state.js';
import { CollectorLink } from './collector-link.js';
import { Sessions } from './sessions.js';
import { Redemption } from './redeem.js';
import { ElevationControls } from './controls.js';
import { Elevations, type RunningEntry } from './elevation.js';
import { Discovery } from '../discovery/discovery.js';

export type { AgentOptions, LogFn } from './options.js';

export class AscendAgent {
  readonly startedAt = Date.now();
  private readonly policy: PolicyState;
  private readonly collector: CollectorLink;
  private readonly sessions: Sessions;
  private readonly redemption: Redemption;
  private readonly controls: ElevationControls;
  /** Made once the executor is (see start). */
  private elevations!: Elevations;
  /** Made once the first policy is applied (see start); follows sudo's records while the Discovery policy is on. */
  private discovery: Discovery | undefined;
  private readonly running = new Map<string, RunningEntry>();
  private housekeeping: NodeJS.Timeout[] = [];
  private server: IpcServer | null = null;
  private lastRefreshBy = new Map<number, number>();
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
      collects: (type) => !this.policy.settings || this.policy.settings.collector.collect[eventClass(type)],
      onSpooled: () => this.collector.uploader?.nudge(),
      log: (level, message) => this.log(level, message),
      ...(opts.repeatWindowMs !== undefined ? { repeatWindowMs: opts.repeatWindowMs } : {}),
    });
    // The parts, each given only what it uses of the others.
    this.policy = new PolicyState({
      log: this.log,
      emit: (type, fields) => this.emitPolicyEvent(type, fields),
      known: (digest) => this.announced !== undefined && this.announced.startsWith(JSON.stringify([digest.slice(0, 16)]).slice(0, -1)),
      collectorRevoked: () => this.collector.revoked,
      applied: () => {
        void this.inBackground(() => this.sessions.enforce());
        this.discovery?.configure(this.policy.settings.discovery);
        opts.policyApplied?.();
      },
    });
    this.collector = new CollectorLink(opts, spool, () => this.policy.settings, this.log, async () => {
      // Saved or fetched, revocations count at once: the verifier is rebuilt, revoked sessions end.
      this.policy.rebuildVerifier();
      await this.sessions.enforce();
    });
    this.sessions = new Sessions(tse, this.policy, this.audit, this.running, this.log);
    this.redemption = new Redemption(opts, tse, this.policy, () => this.collector.client, this.audit, this.sessions, this.log);
    this.controls = new ElevationControls(this.policy, () => this.collector.client, this.audit, () => this.stopping);
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
      onChange: (snapshot: PolicySnapshot, info: { fromCache: boolean; changed: boolean }) => agent?.policy.apply(snapshot, info.fromCache),
      // What the agent enforces is folded from the entries once; the raw entries are not kept.
      keepEntries: false,
      // On demand, a start after the first does not ask the DC again within the refresh interval.
      ...(opts.onDemand?.domainPolicy && opts.onDemand.startedFor !== 'boot' ? { reuseFreshCache: 'domain' as const } : {}),
      ...(opts.onDemand?.domainPolicy ? { recordReads: true } : {}),
      log: (level: string, msg: string) => (opts.log ?? (() => undefined))(level === 'error' ? 'error' : level === 'warn' ? 'warn' : 'info', msg),
      ...(opts.random ? { random: opts.random } : {}),
    });
    // The executor is built once the first policy names the account prefix.
    agent = new AscendAgent(opts, tse, spool, refresher, opts.executor as Executor);
    if (opts.onDemand) agent.announced = await readAnnounced(opts.stateDir);
    await refresher.start();
    const current = refresher.current();
    if (!current) throw new AscendError('ASC_AGENT_POLICY_UNAVAILABLE', 'no policy could be read');
    if (!agent.policy.settings) agent.policy.apply(current, refresher.status().fromCache);
    agent.executor ??= createExecutor(process.platform === 'win32' ? 'win32' : 'linux', {
      accountPrefix: agent.policy.settings.ephemeral.accountPrefix,
      maxLifetimeMs: agent.policy.settings.ephemeral.maxLifetimeMinutes * 60_000,
      stateDir: opts.stateDir,
      ...(opts.idRange ? { idRange: opts.idRange } : {}),
      ...(opts.groupMap ? { groupMap: opts.groupMap } : {}),
      log: agent.log,
    });
    agent.elevations = new Elevations(opts, agent.policy, tse, agent.audit, agent.executor, agent.running, agent.controls, agent.redemption);
    const policy = agent.policy;
    agent.discovery = new Discovery({
      spoolDir: path.join(opts.stateDir, 'spool'),
      computer: opts.computer,
      collections: opts.collections ?? [],
      rules: () => policy.index,
      denyGroups: () => policy.denyGroups,
      record: (fields, id, time) => agent.audit.emitWithId('elevation-discovered', fields, id, time),
      log: agent.log,
    });
    agent.discovery.configure(policy.settings.discovery);
    await agent.collector.start();
    await agent.cleanupOrphans();
    await agent.sessions.catchUp();
    agent.startHousekeeping();
    agent.server = new IpcServer({
      path: opts.socketPath,
      handler: (req, ctx) => agent.handle(req, ctx),
      log: agent.log,
      refusePeer: (peer) => agent.ephemeralPeer(peer.uid),
      ...opts.connectionLimits,
      ...(opts.onDemand ? { listenFd: opts.onDemand.listenFd } : {}),
    });
    await agent.server.listen();
    agent.log('info', `agent listening on ${opts.socketPath}`, { computer: opts.computer, policy: opts.policySource.description });
    return agent;
  }

  /**
   * On demand: the last policy-applied event spooled (its policy digest and words), kept in the
   * state folder, so that each start (every few minutes) does not announce the same policy
   * again; a change is announced. Undefined for a resident agent, which announces each start.
   */
  private announced: string | undefined;

  private emitPolicyEvent(type: Parameters<AuditTrail['emit']>[0], fields: Parameters<AuditTrail['emit']>[1]): Promise<void> {
    if (type !== 'policy-applied' || this.announced === undefined) return this.audit.emit(type, fields);
    const key = JSON.stringify([fields.policy, fields.message]);
    if (key === this.announced) return Promise.resolve();
    this.announced = key;
    // Saved once the event is in the spool: a crash between the two, or an event the spool did
    // not take, announces it again at the next start, never not at all.
    return this.audit.emitWithId(type, fields, randomUUID()).then(async (stored) => {
      if (!stored) {
        this.announced = '';
        return;
      }
      await replaceFileAtomically(path.join(this.opts.stateDir, ANNOUNCED_FILE), Buffer.from(`${key}\n`), 0o600).catch((e: unknown) => this.log('warn', `cannot save the policy announced: ${messageOf(e)}`));
    });
  }

  /** Redeems a passcode for the requester (see ./redeem.ts). */
  redeem(requester: Requester, text: string): Promise<unknown> {
    return this.redemption.redeem(requester, text);
  }

  // ---- housekeeping

  private startHousekeeping(): void {
    const every = (ms: number, task: () => Promise<void>) => {
      const t = setInterval(() => void this.inBackground(task), ms);
      t.unref();
      this.housekeeping.push(t);
    };
    every(Math.max(5, this.policy.settings.ephemeral.cleanupIntervalMinutes) * 60_000, () => this.cleanupOrphans());
    every(5 * 60_000, () => this.collector.fetchRevocations());
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

  /**
   * An elevated process (an ephemeral account) asks for nothing more: an elevation does not
   * beget elevations. Refused when it connects, before its connection counts: each ephemeral
   * uid would otherwise bring its own connection quota, and one user's elevations could hold
   * every slot.
   */
  private ephemeralPeer(uid: number): AscendError | undefined {
    const range = this.opts.idRange ?? DEFAULT_ID_RANGE;
    if (uid < range.first || uid > range.last) return undefined;
    return new AscendError('ASC_ELEVATION_DENIED', `uid ${uid} is an ephemeral account of an elevation; an elevated process cannot ask the agent for another`);
  }

  private async handle(req: IpcRequest, ctx: IpcContext): Promise<unknown> {
    if (this.stopping) throw new AscendError('ASC_AGENT_NOT_RUNNING', 'the agent is stopping');
    // Refused at accept already (ephemeralPeer); asked again here, where the request is served.
    const ephemeral = this.ephemeralPeer(ctx.peer.uid);
    if (ephemeral) throw ephemeral;
    const requester = await requesterOf(ctx.peer.uid, ctx.peer.gid);
    switch (req.op) {
      case 'status':
        return this.statusFor(requester);
      case 'refresh':
        return this.refreshFor(requester);
      case 'tse-status':
        return this.sessions.statusFor(requester);
      case 'tse-redeem':
        return this.redemption.redeem(requester, stringParam(req, 'passcode'));
      case 'elevate':
        return this.elevations.elevate(requester, req, ctx);
      default:
        throw new AscendError('ASC_AGENT_PROTOCOL', `unknown request "${String(req.op)}"`);
    }
  }

  /** status: the agent, its policy, TSE and collector; a user other than root sees the counts of their own sessions and elevations. */
  statusFor(requester: Pick<Requester, 'uid'>): unknown {
    const policy: PolicyStatus = this.refresher.status();
    const stats = this.spool.stats();
    return {
      computer: this.opts.computer,
      pid: process.pid,
      startedAt: new Date(this.startedAt).toISOString(),
      policy,
      rules: { count: this.policy.ruleCount, problems: this.policy.ruleProblems.map((p) => `${p.list}/${p.name}: ${p.message}`) },
      tse: {
        enabled: this.policy.passcodePolicy.tseEnabled,
        offlineAllowed: this.policy.passcodePolicy.offlineAllowed,
        trustedKeys: this.policy.verifier.trustedKeyIds,
        activeSessions: requester.uid === 0 ? this.tse.activeSessions().length : this.tse.activeSessions(requester.uid).length,
        clockBehindSeconds: Math.round(this.tse.clockBehindBy() / 1000),
      },
      collector: {
        url: this.collector.url,
        enrolled: this.collector.enrollment !== null,
        agentId: this.collector.enrollment?.agentId ?? null,
        // What the agent trusts the collector by: the pinned CA's fingerprint, or nothing (--insecure-dev).
        pinned: this.collector.enrollment?.anchor ? showPin(pinOfCertificate(this.collector.enrollment.anchor)) : null,
        insecure: this.opts.insecureDev === true,
        spool: stats,
        upload: this.collector.uploader ? { ...this.collector.uploader.status } : null,
      },
      elevationsRunning: requester.uid === 0 ? this.running.size : [...this.running.values()].filter((r) => r.uid === requester.uid).length,
    };
  }

  /** Any user may ask for a refresh (as gpupdate); others than root at most once a minute. */
  private async refreshFor(requester: Requester): Promise<unknown> {
    const last = this.lastRefreshBy.get(requester.uid) ?? 0;
    // The source's last read counts too: an agent on demand forgets lastRefreshBy at each rest,
    // and reads (or records a read of) the domain's policy at its start.
    const lastRead = this.refresher.status().lastAttemptAt ?? 0;
    if (requester.uid !== 0 && (Date.now() - last < 60_000 || Math.abs(Date.now() - lastRead) < 60_000)) {
      return { refreshed: false, reason: 'refreshed less than a minute ago', policy: this.refresher.status() };
    }
    this.lastRefreshBy.set(requester.uid, Date.now());
    const status = await this.refresher.refresh();
    await this.collector.fetchRevocations();
    return { refreshed: status.lastError === undefined, policy: status };
  }

  /**
   * Nothing to do but wait (the agent may rest, `agent run --idle-exit`): no connection open,
   * no elevation underway or running, no TSE session active (its end must be kept), no removal
   * or set-id sweep underway or due, no housekeeping, policy read or revocation fetch underway,
   * discovery off (it follows logs as they are written), no upload underway; a request's handler
   * counts until it settles, also after its client left.
   */
  idle(): boolean {
    if (this.stopping || !this.server) return false;
    if (this.server.connectionCount > 0 || this.server.handlersInFlight > 0 || this.running.size > 0 || this.elevations.underwayCount > 0) return false;
    if (this.tse.activeSessions().length > 0 || this.executor.busy?.() === true || this.backgroundTasks > 0 || this.refresher.busy || this.policy.denyGroupChecks > 0) return false;
    if (this.policy.settings.discovery.enabled) return false;
    return this.collector.settled;
  }

  /** When (performance.now()) a client last connected or a request last ended. */
  get lastActivityAt(): number {
    return this.server?.lastActivityAt ?? 0;
  }

  /** Housekeeping tasks underway (an orphan cleanup ending processes, the TSE sessions enforced after a policy change). */
  private backgroundTasks = 0;

  /** Runs a task counted in backgroundTasks; its failure is logged. */
  private async inBackground(task: () => Promise<void>): Promise<void> {
    this.backgroundTasks++;
    try {
      await task();
    } catch (e) {
      this.log('error', messageOf(e));
    } finally {
      this.backgroundTasks--;
    }
  }

  /**
   * Stops as stop() does when idle() holds, and answers true; else changes nothing and answers
   * false. The check and the end of accepting are one synchronous step: a client that connects
   * after it waits in the socket's queue for the next start (the socket is ascend-agentd's).
   */
  async rest(): Promise<boolean> {
    if (!this.idle()) return false;
    await this.stop();
    return true;
  }

  /** Stops accepting, ends running elevations (their accounts are removed), flushes, closes. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.sessions.stop();
    for (const t of this.housekeeping) clearInterval(t);
    this.refresher.stop();
    await this.server?.close().catch(() => undefined);
    await Promise.all([...this.running.values()].map((r) => r.running.endTree(2000).catch(() => [])));
    await Promise.all([...this.running.values()].map((r) => r.running.done.catch(() => undefined)));
    await this.executor.close?.().catch(() => undefined);
    // One last upload attempt so events of the final moments leave promptly; the rest waits in the spool.
    await this.collector.stop();
    await this.tse.saveClock().catch(() => undefined);
    // Discovery's last batch is in the spool (or read again at the next start) before it closes.
    await this.discovery?.stop().catch(() => undefined);
    // Counted repeats of denials are spooled before the spool closes.
    await this.audit.flush().catch(() => undefined);
    this.audit.close();
    await this.spool.close();
  }
}

/** The state folder's record of the last policy-applied event of an agent on demand. */
const ANNOUNCED_FILE = 'policy-announced';

/** The last announced policy's key, or '' (none, or unreadable: announced again). */
async function readAnnounced(stateDir: string): Promise<string> {
  try {
    const text = await readFile(path.join(stateDir, ANNOUNCED_FILE), 'utf8');
    return text.length <= 64 * 1024 ? text.replace(/\n$/, '') : '';
  } catch {
    return '';
  }
}

function stringParam(req: IpcRequest, name: string): string {
  const v = req[name];
  if (typeof v !== 'string' || v === '') throw new AscendError('ASC_AGENT_PROTOCOL', `${String(req.op)} needs ${name}`);
  return v;
}
