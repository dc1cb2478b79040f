/**
 * An elevation: the request is read (argv, cwd, the environment a client may pass), the
 * program opened and judged (decision, trust of the file, schedulers, what the kernel runs
 * for it), the controls met (./controls.ts), its event's room held, and the program started
 * by the executor from the judged descriptor; output and stdin are paced through the socket,
 * and the exec guard judges every later exec of the elevated tree.
 */
import { randomUUID } from 'node:crypto';
import { AscendError } from '../../src/errors.js';
import { decide, type Decision, type DecisionRequest, type RuleIndex } from '../../src/rules/index.js';
import type { TseStore } from '../tse/store.js';
import { type IpcContext, type IpcRequest, writePaced } from '../ipc/index.js';
import type { Executor, RunningElevation } from '../executor/index.js';
import { schedulerOf } from '../executor/schedulers.js';
import { PhaseClock } from '../executor/phases.js';
import type { AuditTrail } from './audit.js';
import type { EventFields } from '../../src/collector-api/events.js';
import type { Requester } from './identity.js';
import { commandLineOf, inspectProgram, sha256Of, type ProgramInfo } from './program.js';
import { shownPath } from './trust.js';
import { confirmDenyGroups, type GroupAnswers } from './deny-groups.js';
import { debPublisherOf } from '../../src/deb/dpkg-db.js';
import { judgeExec, type ExecQuestion } from './exec-guard.js';
import type { PolicyState } from './policy-state.js';
import type { ElevationControls } from './controls.js';
import type { Redemption } from './redeem.js';
import { type AgentOptions, messageOf } from './options.js';

/** The policy one elevation is decided by, read once, and the deny rules' group lookups it made (kept for the exec guard). */
interface DecisionPolicy {
  index: RuleIndex;
  denyGroups: readonly string[];
  hashRules: boolean;
  debRules: boolean;
  answers: GroupAnswers;
}

/** An elevation whose program runs now. */
export interface RunningEntry {
  elevationId: string;
  uid: number;
  sessionId: string | null;
  running: RunningElevation;
}

/** The elevated token for rule and approval elevations: BUILTIN\Administrators at High integrity. */
const RULE_GROUPS = ['S-1-5-32-544'];
const RULE_INTEGRITY = 'High';
/** Elevations one user (other than root) may have running at once. */
const MAX_RUNNING_PER_USER = 16;
/** Environment variables a client may pass into the elevated process. */
const PASSED_ENV = /^(TERM|LANG|LC_[A-Z]+|TZ|COLUMNS|LINES)$/;
/** Their values: names, never paths (TZ=/home/x/zone would make the elevated program read a user's file). */
const PASSED_VALUE = /^[A-Za-z0-9_.@+:-]{0,64}$/;

export class Elevations {
  constructor(
    private readonly opts: Pick<AgentOptions, 'computer' | 'collections' | 'trustedOwners'>,
    private readonly policy: Pick<PolicyState, 'index' | 'hashRules' | 'debRules' | 'denyGroups'>,
    private readonly tse: TseStore,
    private readonly audit: Pick<AuditTrail, 'emit' | 'reserve'>,
    private readonly executor: Executor,
    /** The elevations running now: added at start, removed when done. */
    private readonly running: Map<string, RunningEntry>,
    private readonly controls: Pick<ElevationControls, 'satisfy'>,
    /** A passcode sent with the request is redeemed once the program is open and the deny rules do not refuse it. */
    private readonly redemption: Pick<Redemption, 'precheck' | 'redeem'>,
  ) {}

  /** Decides and, when allowed and every control is met, runs the program elevated. */
  async elevate(requester: Requester, req: IpcRequest, ctx: IpcContext): Promise<unknown> {
    const phases = new PhaseClock();
    const argv = req.argv;
    if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== 'string')) throw new AscendError('ASC_AGENT_PROTOCOL', 'elevate needs argv, a non-empty list of strings');
    const cwd = typeof req.cwd === 'string' ? req.cwd : '/';
    const env: Record<string, string> = {};
    if (req.env && typeof req.env === 'object') for (const [k, v] of Object.entries(req.env as Record<string, unknown>)) if (PASSED_ENV.test(k) && typeof v === 'string' && PASSED_VALUE.test(v) && !v.includes('..')) env[k] = v;
    const justification = typeof req.justification === 'string' ? req.justification.trim() : undefined;
    const otp = typeof req.otp === 'string' ? req.otp.trim() : undefined;
    // Fail closed: rules name users and groups, so an identity the name service could not give
    // in full (a deny rule on one of its groups could not be checked) is refused before anything
    // is redeemed, opened or decided.
    // The program is not opened yet: the name it was asked by, escaped, stands for it.
    if (requester.unresolved !== undefined) await this.refuseUnresolved(requester, shownPath(String(argv[0])), commandLineOf(argv.slice(1) as string[]));
    // An elevation outlives its client (a program that ignores the hang-up): one user's running
    // elevations, each an account, a home and a cgroup, are bounded as their connections are.
    // Counted from here to the end of this call, which lasts as long as the program's tree runs
    // (whether or not its client is still there): requests side by side count as soon as they come.
    if (requester.uid !== 0 && (this.underway.get(requester.uid) ?? 0) >= MAX_RUNNING_PER_USER) {
      throw new AscendError('ASC_ELEVATION_DENIED', `${shownPath(String(argv[0]))} is not elevated: ${MAX_RUNNING_PER_USER} elevations of yours are running already`, { hint: 'wait for one to end, or end one (its programs end with it)' });
    }
    this.underway.set(requester.uid, (this.underway.get(requester.uid) ?? 0) + 1);
    try {
      return await this.elevateCounted(requester, req, ctx, phases, argv, cwd, env, justification, otp);
    } finally {
      const left = (this.underway.get(requester.uid) ?? 1) - 1;
      if (left > 0) this.underway.set(requester.uid, left);
      else this.underway.delete(requester.uid);
    }
  }

  /** Elevations of each uid from their check against MAX_RUNNING_PER_USER to the end of elevate(): being decided, or running. */
  private readonly underway = new Map<number, number>();

  /** Elevations being decided or running, of every user. */
  get underwayCount(): number {
    let n = 0;
    for (const c of this.underway.values()) n += c;
    return n;
  }

  /** elevate(), once the request is counted against its user's bound. */
  private async elevateCounted(
    requester: Requester,
    req: IpcRequest,
    ctx: IpcContext,
    phases: PhaseClock,
    argv: unknown[],
    cwd: string,
    env: Record<string, string>,
    justification: string | undefined,
    otp: string | undefined,
  ): Promise<unknown> {

    // The policy of this elevation, read once: a refresh during the lookups or a redemption does not mix two.
    let policy = this.snapshot(new Map());
    const program = await inspectProgram(argv[0] as string, { hash: policy.hashRules, trustedOwners: new Set(this.opts.trustedOwners ?? []) });
    // The judged program stays open until the executor has started it from this descriptor,
    // and is closed on every way out (refusals included): closing twice is harmless.
    try {
      phases.mark('inspect');
      // The package the judged file (read through its descriptor) verifiably came from, when a rule could use it.
      let debPublisher = policy.debRules ? await debPublisherOf(program.path, program.handle) : undefined;
      if (policy.debRules) phases.mark('publisher');
      // A passcode sent along is redeemed once the program is open and what deny rules refuse
      // even within a session is refused: no use is spent on a program that is not there, or
      // that the deny rules (their groups asked) refuse anyway.
      let redeemed: unknown;
      if (typeof req.passcode === 'string') {
        // A passcode that would be refused is refused first: the checks below answer only for one that may be used.
        await this.redemption.precheck(requester, req.passcode);
        const { confirmed } = await this.refuseDenied(requester, ctx, program, argv, debPublisher, policy, true);
        // What an allowed elevation is refused for whatever the session (a scheduler, a denied
        // #! interpreter) is refused before the use is spent too.
        await this.refuseWhatItRuns(confirmed, ctx, program, argv, policy, true);
        redeemed = await this.redemption.redeem(requester, req.passcode);
        // A policy that came while the collector counted the use decides instead (an admin's
        // urgent deny rule included); the program is hashed or its package read if it asks for that.
        if (this.policy.index !== policy.index) {
          policy = this.snapshot(policy.answers);
          if (policy.hashRules && program.sha256 === undefined) program.sha256 = await sha256Of(program.handle, (await program.handle.stat()).size, shownPath(program.path));
          if (policy.debRules && debPublisher === undefined) debPublisher = await debPublisherOf(program.path, program.handle);
        }
      }
      return await this.elevateJudged(requester, ctx, program, { argv, cwd, env, justification, otp, redeemed, debPublisher }, policy, phases);
    } finally {
      await program.handle.close();
    }
  }

  /** The policy in force now, read at once; `answers`, the deny rules' group lookups of this elevation (kept across a new policy: membership does not depend on it). */
  private snapshot(answers: GroupAnswers): DecisionPolicy {
    const { index, denyGroups, hashRules, debRules } = this.policy;
    return { index, denyGroups, hashRules, debRules, answers };
  }

  /** The request the rules decide: this requester and program, with or without a TSE session. */
  private decisionRequest(requester: Requester, ctx: IpcContext, program: ProgramInfo, commandLine: string, debPublisher: string | undefined, tseActive: boolean): DecisionRequest {
    // Read at accept (a client that exits at once is still known); absent when unknown, which deny rules naming a parent treat as a match.
    const parent = ctx.parent.known ? ctx.parent.path : undefined;
    return {
      user: requester.name,
      groups: requester.groups,
      computer: this.opts.computer,
      collections: this.opts.collections ?? [],
      path: program.path,
      args: commandLine,
      ...(program.sha256 ? { sha256: program.sha256 } : {}),
      ...(debPublisher !== undefined ? { debPublisher } : {}),
      ...(parent ? { parentPath: parent } : {}),
      tseActive,
    };
  }

  /**
   * Decides the request with the deny rules' groups asked (./deny-groups.ts): refuses it, with
   * its event, when the identity is then unresolved or a deny rule denies it; else answers the
   * confirmed requester and the decision.
   */
  private async refuseDenied(
    requester: Requester,
    ctx: IpcContext,
    program: ProgramInfo,
    argv: unknown[],
    debPublisher: string | undefined,
    policy: DecisionPolicy,
    tseActive: boolean,
  ): Promise<{ confirmed: Requester; decision: Decision }> {
    const commandLine = commandLineOf(argv.slice(1) as string[]);
    const request = this.decisionRequest(requester, ctx, program, commandLine, debPublisher, tseActive);
    // A deny rule's group that would deny this request is asked of the name service by name
    // (./deny-groups.ts): the account's group list may lack a directory group without saying so.
    const confirmed = await confirmDenyGroups(policy.index, request, requester, policy.denyGroups, { answers: policy.answers, signal: ctx.signal });
    if (confirmed.unresolved !== undefined) await this.refuseUnresolved(confirmed, program.path, commandLine);
    const decision: Decision = decide(policy.index, { ...request, groups: confirmed.groups });
    if (decision.decision === 'deny') {
      const reason = `denied by ${decision.matchedRules.join(', ')}`;
      await this.audit.emit('elevation-denied', { user: confirmed.name, processPath: program.path, args: commandLine, reason: decision.reason, ...(decision.matchedRules.length ? { rule: decision.matchedRules.join(', ') } : {}), message: reason });
      throw new AscendError('ASC_ELEVATION_DENIED', `${program.path} is not elevated: ${reason}`);
    }
    return { confirmed, decision };
  }

  /**
   * Refuses, with its event, an allowed program that would run what the rules do not see: a
   * scheduler (its queued work runs later, outside the elevation), or a #! interpreter chain or a
   * program a loader is given that a deny rule denies (the launcher lets the judged program's own
   * exec through, so these are judged here; later execs by the exec guard).
   */
  private async refuseWhatItRuns(requester: Requester, ctx: IpcContext, program: ProgramInfo, argv: unknown[], policy: DecisionPolicy, tseActive: boolean): Promise<void> {
    const args = argv.slice(1) as string[];
    const base = { user: requester.name, processPath: program.path, args: commandLineOf(args) };
    const scheduler = await schedulerOf(await program.handle.stat());
    if (scheduler) {
      const message = `${program.path} is not elevated: ${scheduler} would queue work that runs outside the elevation, where its rules are not checked`;
      await this.audit.emit('elevation-denied', { ...base, reason: 'scheduler-outside-elevation', message });
      throw new AscendError('ASC_ELEVATION_DENIED', message);
    }
    const { index, denyGroups, answers } = policy;
    const chain = await judgeExec(
      index,
      { pid: process.pid, path: program.path, argv: [program.path, ...args], exe: (ctx.parent.known ? ctx.parent.path : undefined) ?? '', folderUnknown: true },
      {
        user: requester.name,
        groups: requester.groups,
        computer: this.opts.computer,
        collections: this.opts.collections ?? [],
        tseActive,
        confirmGroups: (r) => confirmedGroups(index, r, requester, denyGroups, answers),
      },
      policy.hashRules,
      policy.debRules,
    );
    if (chain.verdict === 'deny') {
      const message = `${program.path} is not elevated: ${chain.reason ?? 'denied'}`;
      await this.audit.emit('elevation-denied', { ...base, reason: 'deny-rule', ...(chain.rules?.length ? { rule: chain.rules.join(', ') } : {}), message });
      throw new AscendError('ASC_ELEVATION_DENIED', message);
    }
  }

  /** Refuses the request of a requester the name service could not give in full (Requester.unresolved), with its event; `program` as the event records it, shown escaped. */
  private async refuseUnresolved(requester: Requester, program: string, commandLine: string): Promise<never> {
    const message = `${shownPath(program)} is not elevated: ${requester.unresolved ?? 'the requester is unknown'}, so the rules that name users and groups cannot be checked`;
    await this.audit.emit('elevation-denied', { user: requester.name, processPath: program, args: commandLine, reason: 'identity-unresolved', message });
    throw new AscendError('ASC_ELEVATION_DENIED', message, { hint: 'try again; if it persists, an administrator should check the name service: sssd, winbind, /etc/group' });
  }

  /** elevate(), once the program is open and judged: decide, check controls, start it from its descriptor. */
  private async elevateJudged(
    asker: Requester,
    ctx: IpcContext,
    program: ProgramInfo,
    asked: { argv: unknown[]; cwd: string; env: Record<string, string>; justification: string | undefined; otp: string | undefined; redeemed: unknown; debPublisher?: string | undefined },
    policy: DecisionPolicy,
    phases = new PhaseClock(),
  ): Promise<unknown> {
    const { argv, cwd, env, justification, otp, redeemed, debPublisher } = asked;
    const args = argv.slice(1) as string[];
    const commandLine = commandLineOf(args);
    const session = this.tse.activeSessions(asker.uid).sort((a, b) => b.endsAt - a.endsAt)[0];
    // The policy of this decision, read once (policy): a refresh during the lookups does not mix two.
    const { confirmed: requester, decision } = await this.refuseDenied(asker, ctx, program, argv, debPublisher, policy, session !== undefined);
    const base = { user: requester.name, processPath: program.path, args: commandLine };
    if (decision.decision !== 'allow') {
      const reason = 'no elevation rule matches and no TSE session is active';
      await this.audit.emit('elevation-denied', { ...base, reason: decision.reason, ...(decision.matchedRules.length ? { rule: decision.matchedRules.join(', ') } : {}), message: reason });
      throw new AscendError('ASC_ELEVATION_DENIED', `${program.path} is not elevated: ${reason}`, { hint: 'redeem a passcode (ascend tse redeem FILE) or ask an admin for a rule' });
    }
    const byTse = decision.reason === 'tse';
    if (!byTse && !program.trust.trusted) {
      // A rule vouches only for a file nobody but root (or a trusted owner) can change, nor
      // any folder above it: anyone else could swap it between the check and the start, or
      // have written it for someone else to run (a path rule would vouch for anything).
      const message = `${program.path} is not elevated: ${program.trust.reason}; a rule elevates only a program that only root can change`;
      await this.audit.emit('elevation-denied', { ...base, reason: 'program-not-trusted', message });
      throw new AscendError('ASC_ELEVATION_DENIED', message);
    }
    await this.refuseWhatItRuns(requester, ctx, program, argv, policy, session !== undefined);
    const elevationId = randomUUID();
    phases.mark('decide');
    if (!byTse) await this.controls.satisfy(decision, requester, elevationId, base, justification, otp, ctx);

    if (ctx.signal.aborted) throw new AscendError('ASC_ELEVATION_CONTROL_FAILED', 'the request was abandoned before the program started');
    const groups = byTse && session ? session.groups : RULE_GROUPS;
    const integrity = byTse && session ? session.integrity : RULE_INTEGRITY;
    const elevated: EventFields = {
      ...base,
      elevatedBy: byTse ? 'tse' : decision.controls.includes('approval') ? 'approval' : 'rule',
      ...(byTse && session ? { sessionId: session.sessionId, passcodeId: session.passcodeId, passcodeTitle: session.passcodeTitle } : {}),
      ...(decision.matchedRules.length ? { rule: decision.matchedRules.join(', ') } : {}),
      ...(byTse ? {} : { controls: decision.controls }),
    };
    // Fail closed: the room for process-elevated is held before the program starts, and the
    // event is committed with its pid right after (see AuditTrail.reserve and Spool.reserve).
    phases.mark('controls');
    const record = await this.audit.reserve(`the elevation of ${program.path}`, 'process-elevated', elevated, { pid: Number.MAX_SAFE_INTEGER, data: { account: 'x'.repeat(64), groups, integrity } });
    phases.mark('event-reserve');
    const running = await this.executor.start({
      elevationId,
      requester: { uid: requester.uid, gid: requester.gid, name: requester.name, gids: requester.gids },
      command: [program.path, ...args],
      cwd,
      env,
      groups,
      integrity,
      stdio: 'pipe',
      programFd: program.handle.fd,
      onExec: (q) => this.judgeExec(q, requester, elevationId, session !== undefined, policy.answers),
      holdUntilReleased: true,
      phases,
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
    phases.mark('event-commit');
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
      // The result goes out once the program's whole tree has ended and its output is sent; the
      // removal of the account, its home and cgroup goes on after it (LinuxExecutor.finish).
      const done = await (running.treeEnded ?? running.done);
      await output;
      return {
        ...(redeemed ? { session: redeemed } : {}),
        elevationId,
        exitCode: done.code,
        signal: done.signal,
        account: running.account,
        elevatedBy: byTse ? 'tse' : 'rule',
        rules: decision.matchedRules,
      };
    } finally {
      this.running.delete(elevationId);
    }
  }

  /** The exec guard (Linux): a deny rule refuses every program the elevated tree starts, not only the first (./exec-guard.ts). */
  private async judgeExec(q: ExecQuestion, requester: Requester, elevationId: string, tseActive: boolean, answers: GroupAnswers): Promise<'allow' | 'deny'> {
    // Each exec is decided by the policy in force now; the groups its deny rules name are asked as for the first program (answers kept for the elevation).
    const { index, denyGroups } = this.policy;
    const ctx = {
      user: requester.name,
      groups: requester.groups,
      computer: this.opts.computer,
      collections: this.opts.collections ?? [],
      tseActive,
      confirmGroups: (r: DecisionRequest) => confirmedGroups(index, r, requester, denyGroups, answers),
    };
    const judged = await judgeExec(index, q, ctx, this.policy.hashRules, this.policy.debRules);
    if (judged.verdict === 'deny') {
      const message = `${judged.path} was refused inside an elevation: ${judged.reason ?? 'denied'}`;
      await this.audit.emit('elevation-denied', { user: requester.name, processPath: judged.path, args: judged.commandLine, reason: 'denied-in-elevated-tree', ...(judged.rules?.length ? { rule: judged.rules.join(', ') } : {}), message, data: { elevationId, pid: q.pid } });
    }
    return judged.verdict;
  }
}

/** The groups to decide one program with (ExecContext.confirmGroups): the requester's, with the deny rules' groups asked for it. */
async function confirmedGroups(index: RuleIndex, request: DecisionRequest, requester: Requester, denyGroups: readonly string[], answers: GroupAnswers): Promise<readonly string[] | { unresolved: string }> {
  const r = await confirmDenyGroups(index, request, requester, denyGroups, { answers });
  return r.unresolved !== undefined ? { unresolved: r.unresolved } : r.groups;
}
