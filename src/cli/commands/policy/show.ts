import { Args } from '@oclif/core';
import { AscendCommand } from '../../base-command.js';
import { ASCEND_CATALOG, requirePolicy } from '../../../catalog/index.js';
import { type JsonPolicy, policyShowLines, policyToJson } from '../../shared/policy-text.js';

export interface PolicyShowResult {
  policy: JsonPolicy;
}

export default class PolicyShow extends AscendCommand<PolicyShowResult> {
  static override summary = 'Show one policy of the settings catalog in full.';
  static override description =
    'Its name, category and registry key, how Enabled and Disabled are written, every element (the NAME in "--value NAME=VALUE") with its type, ' +
    'range, default and registry value, the items of an enum, how a list is stored, and the explain text GPMC shows. --json: the whole definition.';
  static override examples = ['<%= config.bin %> policy show ClientDataCollection', '<%= config.bin %> policy show TemporarySessionElevation --json'];
  static override args = {
    policy: Args.string({ description: 'policy id from "ascend policy list" (any case)', required: true }),
  };

  async run(): Promise<PolicyShowResult> {
    const { args } = await this.parse(PolicyShow);
    const policy = requirePolicy(ASCEND_CATALOG, args.policy);
    this.say(policyShowLines(ASCEND_CATALOG, policy).join('\n'));
    return { policy: policyToJson(policy) };
  }
}
