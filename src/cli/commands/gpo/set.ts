import { Args, Flags } from '@oclif/core';
import { AscendError } from '../../../errors.js';
import { DomainCommand } from '../../domain-command.js';
import { GpoAdmin, type SetGpoPolicyResult } from '../../../../gpo-extension/admin.js';
import { ASCEND_CATALOG, POLICY_STATES, requirePolicy } from '../../../catalog/index.js';
import { parseValueArgs } from '../../../policy/index.js';

export default class GpoSet extends DomainCommand<SetGpoPolicyResult> {
  static override summary = 'Set a policy Enabled, Disabled or Not Configured in a GPO, as GPMC does.';
  static override description =
    'Rewrites Machine\\Registry.pol in SYSVOL atomically (other products\' entries untouched), bumps the computer half of GPT.INI Version and the ' +
    'AD versionNumber together, and registers the registry extension in gPCMachineExtensionNames. If another admin changed the GPO meanwhile, ' +
    'nothing is written and the command fails with ASC_GPO_CONFLICT. Values are taken as in "ascend pol set": a policy that is Enabled ' +
    'already keeps every value not given (as GPMC opens it with its values filled in), --reset starts from the defaults.';
  static override examples = [
    '<%= config.bin %> gpo set "Ascend - Workstations" ClientDataCollection --state enabled --value CollectorHost=collector.corp.example.com',
    '<%= config.bin %> gpo set "Ascend - Workstations" ClientDataCollection --state enabled --value CollectorPort=9000',
    '<%= config.bin %> gpo set "Ascend - Workstations" TemporarySessionElevation --state not-configured',
  ];
  static override args = {
    gpo: Args.string({ description: 'display name or {GUID}', required: true }),
    policy: Args.string({ description: 'policy id from "ascend policy list"', required: true }),
  };
  static override flags = {
    state: Flags.string({ description: 'the policy state', options: [...POLICY_STATES], required: true }),
    value: Flags.string({ description: 'an element value NAME=VALUE (repeatable)', multiple: true }),
    reset: Flags.boolean({ description: 'start from the defaults: values not given take their defaults, not the values the Enabled policy has now', default: false }),
  };

  async run(): Promise<SetGpoPolicyResult> {
    const { args, flags } = await this.parse(GpoSet);
    const policy = requirePolicy(ASCEND_CATALOG, args.policy);
    if (flags.reset && flags.state !== 'enabled') throw new AscendError('ASC_USAGE', '--reset goes with --state enabled');
    const values = parseValueArgs(policy, flags.value ?? []);
    const base = flags.reset ? 'defaults' : 'current';
    const result = await this.withDomain(flags, ({ dir, store }) => new GpoAdmin(dir, store, ASCEND_CATALOG).setPolicy(args.gpo, policy.id, flags.state, values, { base }));
    this.say(
      result.changed
        ? `GPO "${result.gpo.displayName}": ${result.policy} is ${result.state} (version ${result.versionBefore} -> ${result.versionAfter})`
        : `GPO "${result.gpo.displayName}": ${result.policy} was already ${result.state}; nothing written`,
    );
    if (result.kept?.length) this.say(`  kept as they were: ${result.kept.join(', ')}`);
    return result;
  }
}
