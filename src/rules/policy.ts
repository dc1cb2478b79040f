/**
 * Rules from Group Policy, and rule edits as policy values (pure: callers do the I/O).
 *
 * Rules live in two additive list policies of the catalog, ElevationRules and
 * BlacklistRules: one value per rule, the value name is the rule's name and the data its
 * JSON (model.ts). Additive lists are written without `**delvals.`, so when Registry.pol
 * files (GPOs) are folded in precedence order the rules of every applying GPO stack; a
 * rule name is a registry value name, so the same name in two GPOs is one value and the
 * GPO of higher precedence wins it. A list policy Disabled in a GPO clears the rules of
 * the GPOs below it.
 */
import { AscendError } from '../errors.js';
import { ASCEND_CATALOG, requirePolicy, elementKey, type ElementValue, type NamedValue, type PolicyState } from '../catalog/index.js';
import { decodeSz, RegType } from '../formats/registry-pol/index.js';
import { foldRegistryPol, readPolicyState, type PolSource, type VirtualRegistry } from '../policy/index.js';
import { BLACKLIST_RULES_POLICY, ELEVATION_RULES_POLICY, formatRule, parseRule, RuleParseError, type Rule, type RuleList } from './model.js';

export const RULE_LISTS: readonly RuleList[] = [ELEVATION_RULES_POLICY, BLACKLIST_RULES_POLICY];

/** A stored rule value that does not parse: skipped, and reported. */
export interface RuleProblem {
  name: string;
  list: RuleList;
  source?: string;
  message: string;
}

export interface LoadedRules {
  /** Every rule that parses, ElevationRules first, in the order the fold left them. */
  rules: Rule[];
  problems: RuleProblem[];
  /** The state of each list policy after the fold. */
  states: Record<RuleList, PolicyState>;
}

/** A policy as a file, a GPO or an RSoP shows it. */
export interface PolicySetting {
  readonly id: string;
  readonly state: PolicyState;
  readonly values: Readonly<Record<string, ElementValue>>;
}

function namedValues(value: ElementValue | undefined): NamedValue[] {
  if (!Array.isArray(value)) return [];
  return (value as readonly unknown[])
    .filter((v): v is NamedValue => typeof v === 'object' && v !== null && typeof (v as NamedValue).name === 'string' && typeof (v as NamedValue).value === 'string')
    .map((v) => ({ name: v.name, value: v.value }));
}

function collect(out: LoadedRules, list: RuleList, name: string, json: string, source: string | undefined): void {
  try {
    out.rules.push(parseRule(name, json, list, source));
  } catch (e) {
    if (!(e instanceof RuleParseError)) throw e;
    out.problems.push({ name, list, ...(source !== undefined ? { source } : {}), message: e.message });
  }
}

/**
 * The rules of settings already resolved (one GPO's `gpo show`, an RSoP, `pol effective`):
 * the Rules values of ElevationRules and BlacklistRules when Enabled. `source` names
 * where they came from; a rule that does not parse is reported, not used.
 */
export function rulesFromSettings(settings: readonly PolicySetting[], source?: string): LoadedRules {
  const out: LoadedRules = { rules: [], problems: [], states: { ElevationRules: 'not-configured', BlacklistRules: 'not-configured' } };
  for (const list of RULE_LISTS) {
    const s = settings.find((x) => x.id === list);
    if (!s) continue;
    out.states[list] = s.state;
    if (s.state !== 'enabled') continue;
    for (const v of namedValues(s.values.Rules)) collect(out, list, v.name, v.value, source);
  }
  return out;
}

/**
 * The rules of Registry.pol files folded lowest precedence first (as Windows applies
 * GPOs), each rule with the file that wrote it.
 */
export function rulesFromSources(sources: readonly PolSource[]): LoadedRules {
  return rulesFromRegistry(foldRegistryPol(sources));
}

/**
 * The rules of a registry folded already (the agent folds its policy once and reads both its
 * settings and its rules from that fold), each rule with the file that wrote it.
 */
export function rulesFromRegistry(registry: VirtualRegistry): LoadedRules {
  const out: LoadedRules = { rules: [], problems: [], states: { ElevationRules: 'not-configured', BlacklistRules: 'not-configured' } };
  for (const list of RULE_LISTS) {
    const policy = requirePolicy(ASCEND_CATALOG, list);
    const state = readPolicyState(registry, policy);
    out.states[list] = state.state;
    if (state.state !== 'enabled') continue;
    for (const element of policy.elements) {
      if (element.type !== 'list') continue;
      for (const v of registry.values(elementKey(policy, element))) {
        if (v.type !== RegType.REG_SZ && v.type !== RegType.REG_EXPAND_SZ) continue;
        collect(out, list, v.name, decodeSz(v.data), v.source);
      }
    }
  }
  return out;
}

/** The list a new rule goes to: deny rules to BlacklistRules, allow rules to ElevationRules. */
export function listFor(rule: Pick<Rule, 'action'>): RuleList {
  return rule.action === 'deny' ? BLACKLIST_RULES_POLICY : ELEVATION_RULES_POLICY;
}

function findName(values: readonly NamedValue[], name: string): NamedValue | undefined {
  const lower = name.toLowerCase();
  return values.find((v) => v.name.toLowerCase() === lower);
}

/**
 * Checks that a rule can be added where both list policies are as given (one file or
 * GPO): its name is in neither list, and its list policy is not Disabled there.
 */
export function checkAddRule(elevation: PolicySetting, blacklist: PolicySetting, rule: Rule, where: string): void {
  for (const s of [elevation, blacklist]) {
    if (s.state === 'enabled' && findName(namedValues(s.values.Rules), rule.name)) {
      throw new AscendError('ASC_RULE_EXISTS', `${where} has a rule named "${rule.name}" already (in ${s.id}); nothing was written`, {
        hint: `remove it first: ascend rules remove --name "${rule.name}"`,
      });
    }
  }
  const target = listFor(rule) === ELEVATION_RULES_POLICY ? elevation : blacklist;
  if (target.state === 'disabled') throw disabledError(target.id, where);
}

function disabledError(policyId: string, where: string): AscendError {
  return new AscendError(
    'ASC_RULE_POLICY_DISABLED',
    `${policyId} is Disabled in ${where}, which clears the rules of lower-precedence GPOs; adding a rule would enable it and bring those back, so nothing was written`,
    { hint: `set ${policyId} to not-configured (or enabled) there first` },
  );
}

/**
 * The Rules values of a list policy with one rule added (the policy as this file or GPO
 * sets it: Not Configured becomes Enabled; the other values stay in their order).
 */
export function valuesWithRule(current: PolicySetting, rule: Rule, where: string): { Rules: NamedValue[] } {
  if (current.state === 'disabled') throw disabledError(current.id, where);
  const existing = current.state === 'enabled' ? namedValues(current.values.Rules) : [];
  if (findName(existing, rule.name)) {
    throw new AscendError('ASC_RULE_EXISTS', `${where} has a rule named "${rule.name}" already (in ${current.id}); nothing was written`, {
      hint: `remove it first: ascend rules remove --name "${rule.name}"`,
    });
  }
  return { Rules: [...existing, { name: rule.name, value: formatRule(rule) }] };
}

/** Which list of a file or GPO holds a rule name; ASC_RULE_NOT_FOUND when neither does. */
export function listHolding(elevation: PolicySetting, blacklist: PolicySetting, name: string, where: string): RuleList {
  for (const s of [elevation, blacklist]) {
    if (s.state === 'enabled' && findName(namedValues(s.values.Rules), name)) return s.id as RuleList;
  }
  const names = [elevation, blacklist].flatMap((s) => (s.state === 'enabled' ? namedValues(s.values.Rules).map((v) => v.name) : []));
  throw new AscendError('ASC_RULE_NOT_FOUND', `${where} has no rule named "${name}"`, { hint: names.length ? `its rules: ${names.join(', ')}` : 'it holds no rules' });
}

/**
 * The Rules values without one rule. When none is left the list writes nothing, so the
 * policy reads as Not Configured there afterwards.
 */
export function valuesWithoutRule(current: PolicySetting, name: string, where: string): { Rules: NamedValue[] } {
  const existing = current.state === 'enabled' ? namedValues(current.values.Rules) : [];
  const kept = existing.filter((v) => v.name.toLowerCase() !== name.toLowerCase());
  if (kept.length === existing.length) throw new AscendError('ASC_RULE_NOT_FOUND', `${where} has no rule named "${name}" in ${current.id}`);
  return { Rules: kept };
}
