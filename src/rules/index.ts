export {
  RULE_ACTIONS,
  RULE_CONTROLS,
  ELEVATION_RULES_POLICY,
  BLACKLIST_RULES_POLICY,
  RuleParseError,
  parseRule,
  ruleFromJson,
  formatRule,
  checkRuleName,
  sortControls,
  type Rule,
  type RuleAction,
  type RuleControl,
  type RuleList,
  type AppMatch,
  type RuleTarget,
} from './model.js';
export { compileWildcard, matchWildcard, hasWildcard, type Wildcard } from './wildcard.js';
export { normalizePath, normalizePathPattern, normalizeArgs, normalizeRequest, type DecisionRequest, type NormalizedRequest } from './normalize.js';
export { compileRules, compileRule, decide, compiledRuleMatches, type Decision, type DecisionKind, type DecisionReason, type RuleIndex, type Bucket, type IndexStats, type CompiledRule } from './engine.js';
export { linearDecide, ruleMatches, plainWildcard } from './linear.js';
export {
  RULE_LISTS,
  rulesFromSettings,
  rulesFromSources,
  rulesFromRegistry,
  listFor,
  checkAddRule,
  valuesWithRule,
  listHolding,
  valuesWithoutRule,
  type LoadedRules,
  type RuleProblem,
  type PolicySetting,
} from './policy.js';
export { RISK_KINDS, RISKY_PROGRAMS, riskyProgram, baseNames, type RiskKind, type RiskyProgram, type RiskWhen } from './risk-catalog.js';
export {
  RISK_SEVERITIES,
  RISK_CODES,
  ruleFindings,
  lintRules,
  problemFinding,
  severityAtLeast,
  findingLine,
  escapeControls,
  type RiskSeverity,
  type RiskCode,
  type RuleFinding,
} from './risk.js';
