import { Flags } from '@oclif/core';
import { AscendCommand } from '../../base-command.js';
import { rulesDomainFlags } from '../../shared/rules-domain.js';
import { loadRules } from '../../shared/rules-source.js';
import { findingLine, lintRules, RISK_SEVERITIES, severityAtLeast, type LoadedRules, type RiskSeverity, type RuleFinding } from '../../../rules/index.js';

export interface RulesLintResult {
  policySource: string;
  states: LoadedRules['states'];
  /** How many rules were read (stored values that do not parse are findings, code RULE_INVALID). */
  rules: number;
  findings: RuleFinding[];
  /** Findings per severity. */
  counts: Record<RiskSeverity, number>;
  /** With --fail-on: whether a finding at that severity or above made the exit status 3. */
  failed: boolean;
}

/** The exit status when --fail-on finds a finding at its level (1 and 2 are errors and usage errors). */
export const LINT_FINDINGS_EXIT = 3;

export default class RulesLint extends AscendCommand<RulesLintResult> {
  static override summary = 'Flag risky elevation and blacklist rules of Registry.pol files, a GPO or the RSoP of a computer.';
  static override description =
    'Prints one line per finding, most severe first: allow rules for programs that can start a shell, write any file or run the code of their ' +
    'working folder (find, env, awk, tar, perl, git, make, npm, powershell ...) without an args pattern that pins the command line (one without * ' +
    'or ?), path patterns that reach such programs, allow rules on a publisher alone or on arguments alone, allow rules with a parent condition ' +
    '(they allow nothing on their own), deny rules on argument text (other spellings get past them), and stored values that are not valid rules. ' +
    'The rules come from exactly one of --policy FILE (repeatable, lowest precedence first), --gpo GPO or --rsop-computer NAME. ' +
    `The exit status is 0 whatever is found, unless --fail-on names a severity: then ${LINT_FINDINGS_EXIT} when a finding is at that severity ` +
    'or above (for CI). Errors (an unreadable file, an unknown GPO) exit 1, usage errors 2. ' +
    'With --json: {"policySource","states","rules","findings":[{"severity","code","rule","list","source","message","suggestion"}],"counts","failed"}.';
  static override examples = [
    '<%= config.bin %> rules lint --policy Registry.pol',
    '<%= config.bin %> rules lint --gpo "Ascend - Workstations" --fail-on high',
    '<%= config.bin %> rules lint --rsop-computer PC-042 --json',
  ];
  static override baseFlags = rulesDomainFlags;
  static override flags = {
    policy: Flags.string({ description: 'a Registry.pol (repeatable, lowest precedence first)', multiple: true, exactlyOne: ['policy', 'gpo', 'rsop-computer'] }),
    gpo: Flags.string({ description: 'a GPO: display name or {GUID}', exactlyOne: ['policy', 'gpo', 'rsop-computer'] }),
    'rsop-computer': Flags.string({ description: 'a computer account whose applying GPOs are linted (RSoP)', exactlyOne: ['policy', 'gpo', 'rsop-computer'] }),
    'fail-on': Flags.string({ description: `exit ${LINT_FINDINGS_EXIT} when a finding is at this severity or above`, options: [...RISK_SEVERITIES] }),
  };

  async run(): Promise<RulesLintResult> {
    const { flags } = await this.parse(RulesLint);
    const loaded = await loadRules(flags);
    const findings = lintRules(loaded.rules, loaded.problems);
    const counts: Record<RiskSeverity, number> = { high: 0, medium: 0, low: 0 };
    for (const f of findings) counts[f.severity]++;
    const threshold = flags['fail-on'] as RiskSeverity | undefined;
    const failed = threshold !== undefined && findings.some((f) => severityAtLeast(f.severity, threshold));
    this.say(`Rules of ${loaded.policySource}: ${loaded.rules.length} rule(s), ${findings.length} finding(s) (high ${counts.high}, medium ${counts.medium}, low ${counts.low})`);
    for (const f of findings) this.say(findingLine(f));
    if (failed) process.exitCode = LINT_FINDINGS_EXIT;
    return { policySource: loaded.policySource, states: loaded.states, rules: loaded.rules.length, findings, counts, failed };
  }
}
