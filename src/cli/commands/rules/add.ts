import { Flags } from '@oclif/core';
import { AscendCommand } from '../../base-command.js';
import { rulesDomainFlags, withRulesDomain } from '../../shared/rules-domain.js';
import { fileRulesTarget, gpoRulesTarget, type RulesEditTarget } from '../../shared/rules-targets.js';
import { AscendError } from '../../../errors.js';
import {
  BLACKLIST_RULES_POLICY,
  checkAddRule,
  ELEVATION_RULES_POLICY,
  findingLine,
  formatRule,
  listFor,
  RULE_CONTROLS,
  RuleParseError,
  ruleFindings,
  ruleFromJson,
  valuesWithRule,
  type Rule,
  type RuleFinding,
  type RuleList,
} from '../../../rules/index.js';

export interface RulesAddResult {
  target: string;
  /** The list policy the rule went to. */
  policy: RuleList;
  /** That policy's state in the target before the edit. */
  stateBefore: string;
  rule: { name: string; action: Rule['action']; match: Rule['match']; target: Rule['target']; controls: Rule['controls']; description?: string };
  /** The JSON stored as the list value. */
  value: string;
  /** What `ascend rules lint` flags in the rule (it is added all the same; see the README, Elevation rules). */
  findings: RuleFinding[];
}

const FLAG_OF_FIELD: Record<string, string> = {
  'match.path': '--path',
  'match.sha256': '--sha256',
  'match.publisher': '--publisher',
  'match.args': '--args',
  'match.parent': '--parent',
  'target.users': '--user',
  'target.groups': '--group',
  'target.computers': '--computer',
  'target.collections': '--collection',
  controls: '--control',
  description: '--description',
  name: '--name',
};

/** A rule from flags; a value the rule model refuses is a usage error naming the flag. */
export function ruleFromFlags(flags: {
  name: string;
  action: string;
  path?: string | undefined;
  sha256?: string | undefined;
  publisher?: string | undefined;
  args?: string | undefined;
  parent?: string | undefined;
  user?: string[] | undefined;
  group?: string[] | undefined;
  computer?: string[] | undefined;
  collection?: string[] | undefined;
  control?: string[] | undefined;
  description?: string | undefined;
}): Rule {
  const match: Record<string, string> = {};
  for (const k of ['path', 'sha256', 'publisher', 'args', 'parent'] as const) {
    const v = flags[k];
    if (v !== undefined) match[k] = v;
  }
  if (Object.keys(match).length === 0) throw new AscendError('ASC_USAGE', 'a rule needs at least one application matcher: --path, --sha256, --publisher, --args or --parent');
  const target: Record<string, string[]> = {};
  if (flags.user?.length) target.users = flags.user;
  if (flags.group?.length) target.groups = flags.group;
  if (flags.computer?.length) target.computers = flags.computer;
  if (flags.collection?.length) target.collections = flags.collection;
  const json = {
    action: flags.action,
    match,
    ...(Object.keys(target).length ? { target } : {}),
    ...(flags.control?.length ? { controls: flags.control } : {}),
    ...(flags.description !== undefined ? { description: flags.description } : {}),
  };
  try {
    return ruleFromJson(flags.name, json, flags.action === 'deny' ? BLACKLIST_RULES_POLICY : ELEVATION_RULES_POLICY);
  } catch (e) {
    if (!(e instanceof RuleParseError)) throw e;
    const field = e.field.replace(/\[\d+\]$/, '');
    const flag = FLAG_OF_FIELD[field];
    throw new AscendError('ASC_USAGE', flag ? `${flag}: ${e.message.replace(/^rule "[^"]*": [^:]+: /, '')}` : e.message);
  }
}

export default class RulesAdd extends AscendCommand<RulesAddResult> {
  static override summary = 'Add an elevation rule (allow) or a blacklist rule (deny) to a Registry.pol or a GPO.';
  static override description =
    'An allow rule goes to the ElevationRules list, a deny rule to the Blacklist (BlacklistRules); both lists are additive, so the rules of every ' +
    'applying GPO stack. The rule is stored as one list value: its name is the value name, its JSON the data. A rule name is unique in the file or ' +
    'GPO across both lists (remove a rule first to change it). At least one application matcher is needed. The other rules are kept; a list that ' +
    'is Not Configured becomes Enabled; a list that is Disabled there (it clears the rules of lower-precedence GPOs) is refused, and nothing is written. ' +
    'Patterns take * and ? (case-insensitive); a path without a backslash matches the file name anywhere. --args is matched against the whole ' +
    'command line after the program, split as Windows splits it (give a value that starts with "-" as --args=-x). The rule is added even when ' +
    '"ascend rules lint" would flag it (a shell, an editor, a build tool, an unpinned command line, a parent condition, a deny on argument text): ' +
    'each finding is printed as a warning line on stderr, and listed under "findings" with --json.';
  static override examples = [
    '<%= config.bin %> rules add --policy Registry.pol --name net-user --action allow --path net.exe --args "user *" --group "CORP\\Helpdesk" --control mfa',
    '<%= config.bin %> rules add --policy Registry.pol --name no-admin-group --action deny --path "C:\\Windows\\System32\\net.exe" --args "localgroup administrators*"',
    '<%= config.bin %> rules add --gpo "Ascend - Workstations" --name tools --action allow --path "C:\\Tools\\*" --computer "PC-*" --control approval --control justify',
  ];
  static override baseFlags = rulesDomainFlags;
  static override flags = {
    policy: Flags.string({ description: 'a local Registry.pol to edit (created when missing)', exactlyOne: ['policy', 'gpo'] }),
    gpo: Flags.string({ description: 'the GPO to edit: display name or {GUID}', exactlyOne: ['policy', 'gpo'] }),
    name: Flags.string({ description: 'the rule name (unique in the file or GPO)', required: true }),
    action: Flags.string({ description: 'allow (ElevationRules) or deny (Blacklist)', options: ['allow', 'deny'], required: true }),
    path: Flags.string({ description: 'program path pattern (* ?); without a backslash: the file name' }),
    sha256: Flags.string({ description: "SHA-256 of the program file (64 hex digits)" }),
    publisher: Flags.string({ description: "publisher (signer) pattern" }),
    args: Flags.string({ description: 'pattern over the whole command line after the program ("" for none)' }),
    parent: Flags.string({ description: 'parent process path pattern' }),
    user: Flags.string({ description: 'a user: DOMAIN\\name, name or SID (repeatable)', multiple: true }),
    group: Flags.string({ description: 'a group: DOMAIN\\name, name or SID (repeatable)', multiple: true }),
    computer: Flags.string({ description: 'a computer name pattern (repeatable)', multiple: true }),
    collection: Flags.string({ description: 'a collection name (repeatable)', multiple: true }),
    control: Flags.string({ description: 'a control the user must satisfy (repeatable; allow rules only)', options: [...RULE_CONTROLS], multiple: true }),
    description: Flags.string({ description: 'a note stored with the rule' }),
  };

  async run(): Promise<RulesAddResult> {
    const { flags } = await this.parse(RulesAdd);
    const rule = ruleFromFlags(flags);
    const list = listFor(rule);
    const edit = (target: RulesEditTarget): Promise<RulesAddResult> => addRule(target, rule, list);
    const result = flags.policy !== undefined ? await edit(fileRulesTarget(flags.policy)) : await withRulesDomain(flags, (c) => edit(gpoRulesTarget(c, flags.gpo as string)));
    this.say(`${result.target}: added ${rule.action} rule "${rule.name}" to ${list}${result.stateBefore === 'enabled' ? '' : ` (the policy was ${result.stateBefore}; it is Enabled now)`}`);
    for (const f of result.findings) process.stderr.write(`Warning: ${findingLine(f)}\n`);
    return result;
  }
}

async function addRule(target: RulesEditTarget, rule: Rule, list: RuleList): Promise<RulesAddResult> {
  const { elevation, blacklist } = await target.read();
  checkAddRule(elevation, blacklist, rule, target.description);
  let stateBefore = 'not-configured';
  // The update re-reads the list policy, so a rule added meanwhile is not lost (and a GPO edited meanwhile is refused).
  await target.update(list, (current) => {
    stateBefore = current.state;
    return valuesWithRule(current, rule, target.description);
  });
  return {
    target: target.description,
    policy: list,
    stateBefore,
    rule: {
      name: rule.name,
      action: rule.action,
      match: rule.match,
      target: rule.target,
      controls: rule.controls,
      ...(rule.description !== undefined ? { description: rule.description } : {}),
    },
    value: formatRule(rule),
    findings: ruleFindings(rule),
  };
}
