import { Flags } from '@oclif/core';
import { AscendCommand, table } from '../../base-command.js';
import { rulesDomainFlags, withRulesDomain } from './add.js';
import { GpoAdmin } from '../../../../gpo-extension/admin.js';
import { resolveRsop } from '../../../../gpo-extension/rsop.js';
import { ASCEND_CATALOG } from '../../../catalog/index.js';
import { readPolFile } from '../../../local-policy/index.js';
import { ruleFindings, rulesFromSettings, rulesFromSources, type LoadedRules, type Rule, type RuleFinding } from '../../../rules/index.js';

/** Where rules are read from: Registry.pol files folded, one GPO, or the RSoP of a computer. */
export interface RuleSourceFlags {
  policy?: string[] | undefined;
  gpo?: string | undefined;
  'rsop-computer'?: string | undefined;
}

/** The rules of the files, GPO or RSoP the flags name, and a description of that source. */
export async function loadRules(flags: RuleSourceFlags & Record<string, unknown>): Promise<LoadedRules & { policySource: string }> {
  if (flags.policy !== undefined) {
    const sources = [];
    for (const file of flags.policy) sources.push({ source: file, entries: await readPolFile(file) });
    return { ...rulesFromSources(sources), policySource: `Registry.pol ${flags.policy.join(', ')} (lowest precedence first)` };
  }
  return withRulesDomain(flags, async ({ dir, store }) => {
    if (flags['rsop-computer'] !== undefined) {
      const rsop = await resolveRsop(dir, store, ASCEND_CATALOG, flags['rsop-computer'], 'computer');
      const source = `RSoP of computer ${rsop.account.name}`;
      return { ...rulesFromSettings(rsop.settings, source), policySource: `${source} (${rsop.applied.map((g) => g.displayName).join(', ') || 'no GPO applies'})` };
    }
    const shown = await new GpoAdmin(dir, store, ASCEND_CATALOG).show(flags.gpo as string);
    const source = `GPO "${shown.gpo.displayName}"`;
    return { ...rulesFromSettings(shown.settings, source), policySource: `${source} ${shown.gpo.guid}` };
  });
}

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
