import { Flags } from '@oclif/core';
import { AscendCommand, table } from '../../base-command.js';
import { rulesDomainFlags } from '../../shared/rules-domain.js';
import { loadRules } from '../../shared/rules-source.js';
import { ruleFindings, type LoadedRules, type Rule, type RuleFinding } from '../../../rules/index.js';

export interface ListedRule {
  name: string;
  list: Rule['list'];
  action: Rule['action'];
  match: Rule['match'];
  target: Rule['target'];
  controls: Rule['controls'];
  description?: string;
  source: string | null;
  /** What `ascend rules lint` flags in this rule (empty when nothing). */
  findings: RuleFinding[];
}

export interface RulesListResult {
  policySource: string;
  states: LoadedRules['states'];
  rules: ListedRule[];
  /** Stored values that are not valid rules (agents skip them). */
  problems: LoadedRules['problems'];
}

const summary = (o: object): string =>
  Object.entries(o)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
    .join(' ');

export default class RulesList extends AscendCommand<RulesListResult> {
  static override summary = 'List the elevation and blacklist rules of Registry.pol files or a GPO.';
  static override description =
    'With several --policy files they are folded as Windows applies GPOs, lowest precedence first (as "ascend pol effective" takes them): the lists ' +
    'are additive, so the rules of every file stack, a Disabled list clears those of the files before it, and a rule name written by two files is ' +
    'the later file\'s. Stored values that are not valid rules are listed as problems (agents skip them). ' +
    'The RISK column marks rules "ascend rules lint" flags (the most severe finding and its code; lint prints them in full). ' +
    'With --json: {"policySource","states","rules":[{"name","list","action","match","target","controls","source","findings"}],"problems"}.';
  static override examples = ['<%= config.bin %> rules list --policy domain.pol --policy ou.pol', '<%= config.bin %> rules list --gpo "Ascend - Workstations" --json'];
  static override baseFlags = rulesDomainFlags;
  static override flags = {
    policy: Flags.string({ description: 'a Registry.pol (repeatable, lowest precedence first)', multiple: true, exactlyOne: ['policy', 'gpo'] }),
    gpo: Flags.string({ description: 'a GPO: display name or {GUID}', exactlyOne: ['policy', 'gpo'] }),
  };

  async run(): Promise<RulesListResult> {
    const { flags } = await this.parse(RulesList);
    const loaded = await loadRules(flags);
    const rules = loaded.rules.map(
      (r): ListedRule => ({
        name: r.name,
        list: r.list,
        action: r.action,
        match: r.match,
        target: r.target,
        controls: r.controls,
        ...(r.description !== undefined ? { description: r.description } : {}),
        source: r.source ?? null,
        findings: ruleFindings(r),
      }),
    );
    const risk = (r: ListedRule): string => {
      const f = r.findings[0];
      if (f === undefined) return '-';
      const worst = r.findings.filter((x) => x.severity === f.severity);
      return `${f.severity}:${worst.map((x) => x.code).join(',')}`;
    };
    this.say(`Rules of ${loaded.policySource}: ElevationRules ${loaded.states.ElevationRules}, BlacklistRules ${loaded.states.BlacklistRules}`);
    if (rules.length) {
      this.say(table([['NAME', 'ACTION', 'MATCH', 'TARGET', 'CONTROLS', 'RISK', 'SOURCE'], ...rules.map((r) => [r.name, r.action, summary(r.match), summary(r.target) || 'everyone', r.controls.join(',') || '-', risk(r), r.source ?? '-'])]));
      const flagged = rules.filter((r) => r.findings.length > 0).length;
      if (flagged > 0) this.say(`${flagged} rule(s) flagged: see "ascend rules lint" for the findings and what to do`);
    } else {
      this.say('no rules');
    }
    for (const p of loaded.problems) process.stderr.write(`Warning: ${p.list} ${p.source ? `in ${p.source} ` : ''}${p.message}; agents skip it\n`);
    return { policySource: loaded.policySource, states: loaded.states, rules, problems: loaded.problems };
  }
}
