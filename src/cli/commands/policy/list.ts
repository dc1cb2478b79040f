import { AscendCommand } from '../../base-command.js';
import { type JsonPolicy, policyListLines, policyToJson } from '../../shared/policy-text.js';
import { ASCEND_CATALOG } from '../../../catalog/index.js';

export interface PolicyListResult {
  policies: JsonPolicy[];
}

export default class PolicyList extends AscendCommand<PolicyListResult> {
  static override summary = "List the policies of Ascend's settings catalog.";
  static override description =
    'Every policy the ADMX shows in GPMC: its id, name and category, its registry key, and its elements (the NAME in "--value NAME=VALUE") ' +
    'with their type, range and default. "ascend policy show ID" gives one policy in full (registry values, enum items, explain text); ' +
    '--json gives the whole definition of every policy.';
  static override examples = ['<%= config.bin %> policy list', '<%= config.bin %> policy show ClientDataCollection', '<%= config.bin %> policy list --json'];

  async run(): Promise<PolicyListResult> {
    await this.parse(PolicyList);
    const policies = ASCEND_CATALOG.policies.map(policyToJson);
    this.say(ASCEND_CATALOG.policies.map((p) => policyListLines(ASCEND_CATALOG, p).join('\n')).join('\n\n'));
    return { policies };
  }
}
