import { Args, Flags } from '@oclif/core';
import { AscendError } from '../../../errors.js';
import { AscendCommand } from '../../base-command.js';
import { ASCEND_CATALOG, POLICY_STATES, requirePolicy } from '../../../catalog/index.js';
import { setPolicyInFile, type SetPolicyResult } from '../../../local-policy/index.js';
import { parseValueArgs } from '../../../policy/index.js';

export default class PolSet extends AscendCommand<SetPolicyResult> {
  static override summary = 'Set a policy Enabled, Disabled or Not Configured in a Registry.pol file.';
  static override description =
    'Writes the entries GPMC would write for the policy and state, replacing what the policy wrote before and keeping every other entry. ' +
    'The file is created when missing and replaced atomically. Values (only with --state enabled) are NAME=VALUE, one --value each. ' +
    'As GPMC opens an Enabled policy with its values filled in, a policy that is Enabled already keeps every value not given (a list given is ' +
    'replaced whole); --reset, or a policy not Enabled yet, starts from the defaults instead. Every invalid or missing value is reported at once. A list element takes NAME=a,b,c or the --value repeated (\\, is a comma inside an item); ' +
    'an explicit-value list takes NAME=name=value items. See "ascend policy list" for the policies and their elements.';
  static override examples = [
    '<%= config.bin %> pol set Registry.pol ClientDataCollection --state enabled --value CollectorHost=collector.corp.example --value CollectorPort=8003',
    '<%= config.bin %> pol set Registry.pol TemporarySessionElevation --state enabled --value "Groups=S-1-5-32-544,CORP\\Helpdesk" --value IntegrityLevel=High',
    '<%= config.bin %> pol set Registry.pol ClientDataCollection --state enabled --value CollectorPort=9000',
    '<%= config.bin %> pol set Registry.pol ClientDataCollection --state enabled --reset --value CollectorHost=collector.corp.example',
    '<%= config.bin %> pol set Registry.pol TemporarySessionElevation --state not-configured',
  ];
  static override args = {
    file: Args.string({ description: 'Registry.pol file (created when missing)', required: true }),
    policy: Args.string({ description: 'policy id from "ascend policy list"', required: true }),
  };
  static override flags = {
    state: Flags.string({ description: 'the policy state', options: [...POLICY_STATES], required: true }),
    value: Flags.string({ description: 'an element value NAME=VALUE (repeatable)', multiple: true }),
    reset: Flags.boolean({ description: 'start from the defaults: values not given take their defaults, not the values the Enabled policy has now', default: false }),
  };

  async run(): Promise<SetPolicyResult> {
    const { args, flags } = await this.parse(PolSet);
    const policy = requirePolicy(ASCEND_CATALOG, args.policy);
    if (flags.reset && flags.state !== 'enabled') throw new AscendError('ASC_USAGE', '--reset goes with --state enabled');
    const values = parseValueArgs(policy, flags.value ?? []);
    const result = await setPolicyInFile(ASCEND_CATALOG, args.file, policy.id, flags.state, values, { base: flags.reset ? 'defaults' : 'current' });
    this.say(`${result.created ? 'Created' : 'Updated'} ${result.file}: ${result.policy} is ${result.state} (${result.entries} entries in the file)`);
    if (result.kept.length > 0) this.say(`  kept as they were: ${result.kept.join(', ')}`);
    return result;
  }
}
