/**
 * The policy as the agent holds it: one fold per policy change (agent/policy), and what is
 * read from that fold: the agent's settings, the rules compiled for decisions, and the
 * passcode policy with its verifier (the collector's revocations added to the policy's own).
 */
import { compileRules, findingLine, lintRules, type Rule, type RuleIndex } from '../../src/rules/index.js';
import { isDebPublisher } from '../../src/rules/model.js';
import { systemDpkg } from '../../src/deb/dpkg-db.js';
import type { RuleProblem } from '../../src/rules/policy.js';
import { PasscodeVerifier, passcodePolicyFromEffective, type PasscodePolicy } from '../../src/passcode/index.js';
import { foldSnapshot, type PolicySnapshot } from '../policy/snapshot.js';
import { agentSettingsOf, type AgentSettings } from './settings.js';
import { denyRuleGroups, groupMembership } from './deny-groups.js';
import { NameServiceTimeout } from '../executor/nss.js';
import type { LogFn } from './options.js';
import type { EventFields, EventType } from '../../src/collector-api/events.js';

export interface PolicyHooks {
  log: LogFn;
  /** Spools an event (AuditTrail.emit). */
  emit: (type: EventType, fields: EventFields) => Promise<void>;
  /** The passcode ids the collector lists as revoked. */
  collectorRevoked: () => ReadonlySet<string>;
  /** Called once a policy is applied, after its policy-applied event was handed to the spool. */
  applied: () => void;
  /**
   * True when this policy (its digest) was applied and announced by an earlier start (an agent
   * on demand starts every few minutes): what is said once per policy (skipped rules, rule
   * risks, the deny rules' groups checked) is not said again.
   */
  known?: (digest: string) => boolean;
}

/** Deny rules' groups looked up at a policy change, at most (each lookup may take up to 5 s). */
const MAX_CHECKED_DENY_GROUPS = 200;
/** And for this long in all (it asks in process only while no request's lookup is out, else forks getent). */
const DENY_GROUP_CHECK_BUDGET_MS = 60_000;

/** The current policy; its fields are replaced together by apply() and only read elsewhere. */
export class PolicyState {
  /** The policy's own passcode settings (the fold is not kept: rebuildVerifier needs only these). */
  private passcodeBase: PasscodePolicy | undefined;
  /** How many rules the policy has (the rules themselves live on compiled, in index, only). */
  ruleCount = 0;
  ruleProblems: RuleProblem[] = [];
  index: RuleIndex = compileRules([]);
  /** Whether a rule matches by hash (then programs are hashed before they are judged). */
  hashRules = false;
  /** Whether a rule names a Debian package publisher (deb:): then programs' packages are resolved (src/deb/dpkg-db.ts). */
  debRules = false;
  /** The groups deny rules name: asked of the name service by name when one would deny a request (./deny-groups.ts). */
  denyGroups: string[] = [];
  /** Unset until the first policy is applied. */
  settings!: AgentSettings;
  passcodePolicy!: PasscodePolicy;
  verifier!: PasscodeVerifier;

  /** The deny rules' groups last checked at a policy change (checkDenyGroups): asked again only when they change. */
  private checkedDenyGroups = '';

  /** Checks of the deny rules' groups underway (an agent on demand does not rest before they end: a later start skips a policy it knows). */
  denyGroupChecks = 0;

  constructor(private readonly hooks: PolicyHooks) {}

  apply(snapshot: PolicySnapshot, fromCache: boolean): void {
    // One fold per policy change: the settings and the rules are both read from it.
    const { effective, rules: loaded } = foldSnapshot(snapshot);
    const labelled = loaded.rules.map((r) => (r.source !== undefined && snapshot.labels[r.source] ? { ...r, source: snapshot.labels[r.source] } : r));
    this.ruleCount = labelled.length;
    this.ruleProblems = loaded.problems;
    this.index = compileRules(labelled);
    this.hashRules = labelled.some((r) => r.match.sha256 !== undefined);
    this.debRules = labelled.some((r) => r.match.publisher !== undefined && isDebPublisher(r.match.publisher));
    this.denyGroups = denyRuleGroups(labelled);
    // dpkg's database is read now, not during the first elevation that needs it.
    if (this.debRules) void systemDpkg.warm();
    this.settings = agentSettingsOf(effective);
    this.passcodeBase = passcodePolicyFromEffective(effective);
    this.rebuildVerifier();
    if (this.hooks.known?.(snapshot.digest) !== true) {
      for (const p of loaded.problems) this.hooks.log('warn', `rule ${p.name} in ${p.list} skipped: ${p.message}`);
      for (const f of lintRules(labelled)) this.hooks.log('warn', `rule risk: ${findingLine(f)}`);
      this.denyGroupChecks++;
      this.checkDenyGroups(labelled)
        .catch((e: unknown) => this.hooks.log('error', `deny rule groups not checked: ${e instanceof Error ? e.message : String(e)}`))
        .finally(() => this.denyGroupChecks--);
    }
    const gpos = snapshot.sources.map((s) => snapshot.labels[s.source] ?? s.source);
    this.hooks.emit('policy-applied', { policy: snapshot.digest.slice(0, 16), message: `${snapshot.origin}${fromCache ? ' (cached)' : ''}: ${gpos.join(', ') || 'no GPO'}; ${labelled.length} rules` });
    this.hooks.applied();
  }

  /**
   * Tells the admin, at a policy change, of each deny rule's group the name service does not
   * know or cannot read: what such a rule would deny is refused to everyone (fail closed, see
   * ./deny-groups.ts), which a typo or a name form the source does not answer (a bare name where
   * sssd wants name@domain) would otherwise show only as users' refusals. One lookup at a time,
   * in the background; the decisions do not wait for it. (The log line escapes what it shows.)
   */
  private async checkDenyGroups(rules: readonly Rule[]): Promise<void> {
    const groups = this.denyGroups;
    const key = groups.join('\n').toLowerCase();
    if (process.platform !== 'linux' || key === this.checkedDenyGroups) return;
    this.checkedDenyGroups = key;
    const budgetEnds = Date.now() + DENY_GROUP_CHECK_BUDGET_MS;
    for (const [i, group] of groups.slice(0, MAX_CHECKED_DENY_GROUPS).entries()) {
      if (this.checkedDenyGroups !== key) return; // a policy with other deny groups came meanwhile: it checks its own
      if (Date.now() > budgetEnds) {
        this.hooks.log('info', `deny rule groups: ${i} of ${groups.length} were checked against the name service within ${DENY_GROUP_CHECK_BUDGET_MS / 1000} s; the others were not`);
        return;
      }
      let problem: string | undefined;
      try {
        // Only whether the group is there counts (the member asked is any name).
        if ((await groupMembership(group, 'root', undefined, true)) === null) problem = 'is not known to the name service';
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        problem = `could not be read from the name service (${why})`;
        // A name service that does not answer is not asked again and again: a hung lookup keeps its slot until it returns.
        if (e instanceof NameServiceTimeout) {
          this.hooks.log('warn', `deny rule group ${group} ${problem}; the other deny rule groups were not checked`);
          return;
        }
      }
      if (problem === undefined) continue;
      const lower = group.toLowerCase();
      const naming = rules.filter((r) => r.action === 'deny' && (r.target.groups ?? []).some((g) => g.trim().toLowerCase() === lower)).map((r) => r.name);
      this.hooks.log('warn', `deny rule group ${group} ${problem}: what ${naming.join(', ') || 'its rules'} would deny is refused to everyone until it is (check the group's name and its form: CORP\\name, name@corp, or the bare name the name service answers)`);
    }
    if (groups.length > MAX_CHECKED_DENY_GROUPS) this.hooks.log('info', `deny rule groups: the first ${MAX_CHECKED_DENY_GROUPS} of ${groups.length} were checked against the name service`);
  }

  /** The passcode policy and its verifier, again: after a policy change, or when the collector's revocations change. */
  rebuildVerifier(): void {
    const base = this.passcodeBase ?? passcodePolicyFromEffective([]);
    this.passcodePolicy = { ...base, revoked: new Set([...base.revoked, ...this.hooks.collectorRevoked()]) };
    this.verifier = new PasscodeVerifier({ ...this.passcodePolicy, offlineAllowed: true });
  }
}
