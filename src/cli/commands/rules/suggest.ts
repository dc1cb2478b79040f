import { createInterface } from 'node:readline/promises';
import { Flags } from '@oclif/core';
import { AscendError } from '../../../errors.js';
import { AscendCommand } from '../../base-command.js';
import { serverFlags, serverToken, trustOptions } from '../../server-command.js';
import { callServerText } from '../../../collector/server/client-text.js';
import { REPORT_PAGE_MAX } from '../../../collector-api/reports.js';
import { parseReportTime } from '../../shared/time-flags.js';
import { rulesDomainFlags, withRulesDomain } from '../../shared/rules-domain.js';
import { fileRulesTarget, gpoRulesTarget, type RulesEditTarget } from '../../shared/rules-targets.js';
import { renderTable, terminalSafe } from '../../table.js';
import { parseReportJson } from '../../shared/report-json.js';
import { checkAddRule, ELEVATION_RULES_POLICY, findingLine, ruleFromJson, valuesWithRule, type PolicySetting, type Rule } from '../../../rules/index.js';
import { RuleSuggester, type DiscoveredRun, type Suggestion, type SuggestResult } from '../../../rules/suggest.js';

export interface RulesSuggestResult extends SuggestResult {
  server: string;
  /** The start of the window read (ISO 8601). */
  since: string;
  /** What --apply wrote: the file or GPO and the rule names, in order (absent without --apply). */
  applied?: { target: string; rules: string[] };
}

const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** A Discovery report row as a run for the core (anything not a string is left out). */
function runOf(row: Record<string, unknown>): DiscoveredRun {
  return {
    time: text(row.time),
    computer: text(row.computer),
    user: text(row.user),
    processPath: text(row.processPath),
    args: text(row.args),
    result: text(row.result),
    publisher: text(row.publisher),
    sha256: text(row.sha256),
  };
}

/**
 * The suggestions --select names (1-based indexes or rule names, comma-separated or repeated);
 * without --select every one that is not risky. A risky one is only ever taken by name or index.
 */
export function selectSuggestions(all: readonly Suggestion[], select: readonly string[] | undefined): Suggestion[] {
  if (select === undefined || select.length === 0) return all.filter((s) => !s.risky);
  const out: Suggestion[] = [];
  for (const item of select.flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '')) {
    const hit = /^\d+$/.test(item) ? all.find((s) => s.index === Number(item)) : all.find((s) => s.rule.name.toLowerCase() === item.toLowerCase());
    if (hit === undefined) throw new AscendError('ASC_USAGE', `--select: no suggestion ${JSON.stringify(item)} (give an index of the table or a rule name)`);
    if (!out.includes(hit)) out.push(hit);
  }
  return out;
}

export default class RulesSuggest extends AscendCommand<RulesSuggestResult> {
  static override summary = 'Suggest elevation rules from what users ran with sudo (the collector\'s Discovery report), and optionally write them.';
  static override description =
    'Reads every elevation-discovered event since --since from the collector (GET /api/v1/reports/discovery, following its cursors; an API token of ' +
    'the viewer role or above from --token-file or ASCEND_TOKEN_FILE) and proposes one allow rule per program and subcommand: the full path, pinned by ' +
    'its Debian package (publisher deb:PKG, which the agent reports only when dpkg\'s checksum matched the file) when every run says so, else by the ' +
    'SHA-256 of its latest run; arguments that varied between runs become * (never across a subcommand: "restart x" and "mask x" give two rules; ' +
    'options before the first word are kept literally). Command lines the rules the agent had already allowed every time are left out ' +
    '(--include-covered keeps them). A rule "ascend rules lint" flags high (a program that starts a shell or writes any file, not pinned) is marked risky, and so is every generalised one (its * matches any words, options included). ' +
    '--apply writes the chosen rules into --gpo or --policy (as "rules add" does): those --select names (indexes or names), else every one that is ' +
    'not risky; a risky rule is only written when --select names it. It shows them first and asks on a terminal; without one it refuses unless --yes.';
  static override examples = [
    '<%= config.bin %> rules suggest --server https://collector.corp.example --since 30d --min-users 2',
    '<%= config.bin %> rules suggest --server https://collector.corp.example --computer "WEB-*" --json',
    '<%= config.bin %> rules suggest --server https://collector.corp.example --apply --gpo "Ascend - Servers" --select 1,3',
    '<%= config.bin %> rules suggest --server https://collector.corp.example --apply --policy Registry.pol --yes',
  ];
  static override baseFlags = (() => {
    // The collector's --ca-file is this command's; the DC's is --ldap-ca-file here.
    const { 'ca-file': ldapCa, ...rest } = rulesDomainFlags;
    return { ...rest, 'ldap-ca-file': Flags.string({ description: "with --gpo, the PEM file of the CA that signed the DC's certificate (env ASCEND_LDAP_CA_FILE)", helpGroup: ldapCa.helpGroup }) };
  })();
  static override flags = {
    ...serverFlags,
    since: Flags.string({ description: 'read runs from this time on: ISO 8601, milliseconds, or a duration back from now (30m, 24h, 7d)', default: '30d' }),
    'min-users': Flags.integer({ description: 'only rules that at least this many users ran', default: 1, min: 1 }),
    computer: Flags.string({ description: 'only runs on computers matching this pattern (* ?)' }),
    'include-covered': Flags.boolean({ description: 'also command lines the current rules already allowed every time', default: false }),
    'max-width': Flags.integer({ description: 'table: longest cell, in characters', default: 48, min: 4 }),
    apply: Flags.boolean({ description: 'write the chosen rules into --gpo or --policy', default: false }),
    gpo: Flags.string({ description: 'with --apply: the GPO to write to (display name or {GUID})', exclusive: ['policy'] }),
    policy: Flags.string({ description: 'with --apply: a local Registry.pol to write to (created when missing)', exclusive: ['gpo'] }),
    select: Flags.string({ description: 'with --apply: the suggestions to write, by index or rule name (comma-separated or repeated); default: every one not risky', multiple: true }),
    yes: Flags.boolean({ description: 'with --apply: write without asking', default: false }),
  };

  async run(): Promise<RulesSuggestResult> {
    const { flags } = await this.parse(RulesSuggest);
    if (flags.apply && flags.gpo === undefined && flags.policy === undefined) throw new AscendError('ASC_USAGE', '--apply needs --gpo or --policy: where to write the rules');
    // With --json neither the table nor the list of chosen rules is shown: a question would be asked about rules nobody saw.
    if (flags.apply && !flags.yes && this.jsonEnabled()) throw new AscendError('ASC_USAGE', '--json with --apply shows no rules before writing them: review them without --apply, then add --yes');
    if (!flags.apply && (flags.gpo !== undefined || flags.policy !== undefined || flags.select !== undefined || flags.yes)) {
      throw new AscendError('ASC_USAGE', '--gpo, --policy, --select and --yes go with --apply');
    }
    const token = serverToken(flags);
    const since = parseReportTime(flags.since, '--since');
    const origin = new URL(flags.server).origin;

    // Every page of the Discovery report, following its cursors; each page is counted and let go.
    const suggester = new RuleSuggester({ minUsers: flags['min-users'], includeCovered: flags['include-covered'], ...(flags.computer !== undefined ? { computer: flags.computer } : {}) });
    const query = new URLSearchParams({ from: since, format: 'json', limit: String(REPORT_PAGE_MAX) });
    const seen = new Set<string>();
    for (;;) {
      const answer = await callServerText(flags.server, token, `api/v1/reports/discovery?${query.toString()}`, 'application/json', trustOptions(flags));
      const page = parseReportJson(answer.text, 'discovery', origin);
      for (const r of page.rows) suggester.add(runOf(r));
      if (page.nextCursor === null) break;
      if (seen.has(page.nextCursor)) throw new AscendError('ASC_COLLECTOR_UNREACHABLE', `${origin} gave the same report cursor twice`);
      seen.add(page.nextCursor);
      query.set('cursor', page.nextCursor);
    }

    const result: RulesSuggestResult = {
      server: origin,
      since,
      ...suggester.finish(),
    };
    this.show(result, flags['max-width']);
    if (!flags.apply) return result;

    const chosen = selectSuggestions(result.suggestions, flags.select);
    if (chosen.length === 0) {
      this.say('Nothing to write: no suggestion was chosen (risky ones are written only when --select names them).');
      return { ...result, applied: { target: flags.gpo ?? (flags.policy as string), rules: [] } };
    }
    const rules = chosen.map((s) => ruleFromJson(s.rule.name, { action: 'allow', match: s.rule.match, description: s.rule.description }, ELEVATION_RULES_POLICY));
    const where = flags.gpo !== undefined ? `GPO ${JSON.stringify(flags.gpo)}` : (flags.policy as string);
    this.say(`To write into ${where}: ${chosen.map((s) => `${s.index} ${s.rule.name}${s.risky ? ' (RISKY)' : ''}`).join(', ')}`);
    if (!flags.yes) await this.confirm(`Write ${rules.length} rule${rules.length === 1 ? '' : 's'} into ${where}? [y/N] `);
    const write = (target: RulesEditTarget): Promise<string> => writeRules(target, rules);
    const target =
      flags.policy !== undefined
        ? await write(fileRulesTarget(flags.policy))
        : await withRulesDomain({ ...flags, 'ca-file': flags['ldap-ca-file'] }, (c) => write(gpoRulesTarget(c, flags.gpo as string)));
    this.say(`${target}: added ${rules.length} rule${rules.length === 1 ? '' : 's'} to ${ELEVATION_RULES_POLICY}: ${rules.map((r) => r.name).join(', ')}`);
    for (const s of chosen) for (const f of s.findings) process.stderr.write(`Warning: ${findingLine(f)}\n`);
    return { ...result, applied: { target, rules: rules.map((r) => r.name) } };
  }

  /** The table (not with --json). */
  private show(result: RulesSuggestResult, maxWidth: number): void {
    if (this.jsonEnabled()) return;
    const rows = result.suggestions.map((s) => ({
      index: s.index,
      name: s.rule.name,
      program: s.program,
      args: s.rule.match.args ?? '',
      basis: s.basis === 'publisher' ? (s.rule.match.publisher as string) : s.basis === 'sha256' ? `sha256${s.hashes > 1 ? ` (${s.hashes} seen)` : ''}` : 'path only',
      runs: s.runs,
      users: s.users,
      computers: s.computers,
      risk: s.risky ? `RISKY: ${s.riskKinds.join(', ') || 'see findings'}` : '',
    }));
    const labels = { index: '#', name: 'Rule', program: 'Program', args: 'Arguments', basis: 'Pinned by', runs: 'Runs', users: 'Users', computers: 'Computers', risk: 'Risk' };
    this.say(renderTable(Object.keys(labels), rows, { labels, maxCellWidth: maxWidth, empty: '(no suggestions)' }));
    this.say(`(${result.runs} run${result.runs === 1 ? '' : 's'} since ${result.since}; ${result.suggestions.length} suggestion${result.suggestions.length === 1 ? '' : 's'}, ${result.suggestions.filter((s) => s.risky).length} risky; left out: ${result.skippedCovered} already allowed by the rules the agents had, ${result.skippedMinUsers} with too few users, ${result.skippedRuns} runs without a usable program)`);
    for (const s of result.suggestions) for (const n of s.notes) this.say(terminalSafe(`  ${s.index} ${s.rule.name}: ${n}`));
  }

  /** Asks on the terminal; refuses to go on without one (or on anything but yes). */
  private async confirm(question: string): Promise<void> {
    if (!process.stdin.isTTY || !process.stdout.isTTY) {
      throw new AscendError('ASC_USAGE', 'refusing to write rules without a terminal to confirm on: check the list above and add --yes');
    }
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    try {
      const answer = (await rl.question(question)).trim().toLowerCase();
      if (answer !== 'y' && answer !== 'yes') throw new AscendError('ASC_USAGE', 'nothing was written (not confirmed)');
    } finally {
      rl.close();
    }
  }
}

/** Adds every rule in one read-modify-write of ElevationRules (names checked against both lists first); returns the target's description. */
async function writeRules(target: RulesEditTarget, rules: readonly Rule[]): Promise<string> {
  const { elevation, blacklist } = await target.read();
  for (const rule of rules) checkAddRule(elevation, blacklist, rule, target.description);
  await target.update(ELEVATION_RULES_POLICY, (current) => {
    let setting: PolicySetting = current;
    let values: { Rules: { name: string; value: string }[] } | undefined;
    for (const rule of rules) {
      values = valuesWithRule(setting, rule, target.description);
      setting = { id: current.id, state: 'enabled', values };
    }
    return values;
  });
  return target.description;
}
