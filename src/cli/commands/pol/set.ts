import { Args, Flags } from '@oclif/core';
import { AscendCommand } from '../../base-command.js';
import { ASCEND_CATALOG, POLICY_STATES, requirePolicy } from '../../../catalog/index.js';
import { setPolicyInFile, type SetPolicyResult } from '../../../local-policy/index.js';
import { parseValueArgs } from '../../../policy/index.js';

export default class PolSet extends AscendCommand<SetPolicyResult> {
  static override summary = 'Set a policy Enabled, Disabled or Not Configured in a Registry.pol file.';
  static override description =
    'Writes the entries GPMC would write for the policy and state, replacing what the policy wrote before and keeping every other entry. ' +
    'The file is created when missing and replaced atomically. Values (only with --state enabled) are NAME=VALUE, one --value each; ' +
    'elements left out take their defaults. A list element takes NAME=a,b,c or the --value repeated (\\, is a comma inside an item); ' +
    'an explicit-value list takes NAME=name=value items. See "ascend policy list" for the policies and their elements.';
  static override examples = [
    '<%= config.bin %> pol set Registry.pol ClientDataCollection --state enabled --value CollectorHost=collector.corp.example --value CollectorPort=8003',
    '<%= config.bin %> pol set Registry.pol TemporarySessionElevation --state enabled --value Groups=S-1-5-32-544,CORP\\Helpdesk --value IntegrityLevel=High',
    '<%= config.bin %> pol set Registry.pol TemporarySessionElevation --state not-configured',
  ];
  static override args = {
    file: Args.string({ description: 'Registry.pol file (created when missing)', required: true }),
    policy: Args.string({ description: 'policy id from "ascend policy list"', required: true }),
  };
  static override flags = {
    state: Flags.string({ description: 'the policy state', options: [...POLICY_STATES], required: true }),
    value: Flags.string({ description: 'an element value NAME=VALUE (repeatable)', multiple: true, default: [] }),
  };

  async run(): Promise<SetPolicyResult> {
    const { args, flags } = await this.parse(PolSet);
    const policy = requirePolicy(ASCEND_CATALOG, args.policy);
    const values = parseValueArgs(policy, flags.value);
    const result = await setPolicyInFile(ASCEND_CATALOG, args.file, policy.id, flags.state, values);
    this.say(`${result.created ? 'Created' : 'Updated'} ${result.file}: ${result.policy} is ${result.state} (${result.entries} entries in the file)`);
    return result;
  }
}
