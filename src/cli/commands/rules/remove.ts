import { Flags } from '@oclif/core';
import { AscendCommand } from '../../base-command.js';
import { rulesDomainFlags, withRulesDomain } from '../../shared/rules-domain.js';
import { fileRulesTarget, gpoRulesTarget, type RulesEditTarget } from '../../shared/rules-targets.js';
import { listHolding, valuesWithoutRule, type RuleList } from '../../../rules/index.js';

export interface RulesRemoveResult {
  target: string;
  name: string;
  /** The list policy the rule was in. */
  policy: RuleList;
  /** How many rules that list holds in the target afterwards (none: the policy reads as Not Configured there). */
  remaining: number;
}

export default class RulesRemove extends AscendCommand<RulesRemoveResult> {
  static override summary = 'Remove a rule by name from the ElevationRules or Blacklist list of a Registry.pol or a GPO.';
  static override description =
    'The other rules are kept. When the last rule of a list goes, the list writes nothing, so the policy reads as Not Configured in that file or GPO ' +
    '(lower-precedence GPOs then decide for it, as before the first rule was added).';
  static override examples = ['<%= config.bin %> rules remove --policy Registry.pol --name net-user', '<%= config.bin %> rules remove --gpo "Ascend - Workstations" --name tools'];
  static override baseFlags = rulesDomainFlags;
  static override flags = {
    policy: Flags.string({ description: 'a local Registry.pol to edit', exactlyOne: ['policy', 'gpo'] }),
    gpo: Flags.string({ description: 'the GPO to edit: display name or {GUID}', exactlyOne: ['policy', 'gpo'] }),
    name: Flags.string({ description: 'the rule name', required: true }),
  };

  async run(): Promise<RulesRemoveResult> {
    const { flags } = await this.parse(RulesRemove);
    const edit = async (target: RulesEditTarget): Promise<RulesRemoveResult> => {
      const { elevation, blacklist } = await target.read();
      const list = listHolding(elevation, blacklist, flags.name, target.description);
      let remaining = 0;
      await target.update(list, (current) => {
        const values = valuesWithoutRule(current, flags.name, target.description);
        remaining = values.Rules.length;
        return values;
      });
      return { target: target.description, name: flags.name, policy: list, remaining };
    };
    const result = flags.policy !== undefined ? await edit(fileRulesTarget(flags.policy)) : await withRulesDomain(flags, (c) => edit(gpoRulesTarget(c, flags.gpo as string)));
    this.say(`${result.target}: removed rule "${result.name}" from ${result.policy} (${result.remaining} left there)`);
    return result;
  }
}
