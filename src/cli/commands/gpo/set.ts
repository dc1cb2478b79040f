import { Args, Flags } from '@oclif/core';
import { DomainCommand } from '../../domain-command.js';
import { GpoAdmin, type SetGpoPolicyResult } from '../../../../gpo-extension/admin.js';
import { ASCEND_CATALOG, POLICY_STATES, requirePolicy } from '../../../catalog/index.js';
import { parseValueArgs } from '../../../policy/index.js';

export default class GpoSet extends DomainCommand<SetGpoPolicyResult> {
  static override summary = 'Set a policy Enabled, Disabled or Not Configured in a GPO, as GPMC does.';
  static override description =
    'Rewrites Machine\\Registry.pol in SYSVOL atomically (other products\' entries untouched), bumps the computer half of GPT.INI Version and the ' +
    'AD versionNumber together, and registers the registry extension in gPCMachineExtensionNames. If another admin changed the GPO meanwhile, ' +
    'nothing is written and the command fails with ASC_GPO_CONFLICT. Values are taken as in "ascend pol set".';
  static override examples = [
    '<%= config.bin %> gpo set "Ascend - Workstations" ClientDataCollection --state enabled --value CollectorHost=collector.corp.example.com',
    '<%= config.bin %> gpo set "Ascend - Workstations" TemporarySessionElevation --state not-configured',
  ];
  static override args = {
    gpo: Args.string({ description: 'display name or {GUID}', required: true }),
    policy: Args.string({ description: 'policy id from "ascend policy list"', required: true }),
  };
  static override flags = {
    state: Flags.string({ description: 'the policy state', options: [...POLICY_STATES], required: true }),
    value: Flags.string({ description: 'an element value NAME=VALUE (repeatable)', multiple: true, default: [] }),
  };

  async run(): Promise<SetGpoPolicyResult> {
    const { args, flags } = await this.parse(GpoSet);
    const policy = requirePolicy(ASCEND_CATALOG, args.policy);
    const values = parseValueArgs(policy, flags.value);
    const result = await this.withDomain(flags, ({ dir, store }) => new GpoAdmin(dir, store, ASCEND_CATALOG).setPolicy(args.gpo, policy.id, flags.state, values));
    this.say(
      result.changed
        ? `GPO "${result.gpo.displayName}": ${result.policy} is ${result.state} (version ${result.versionBefore} -> ${result.versionAfter})`
        : `GPO "${result.gpo.displayName}": ${result.policy} was already ${result.state}; nothing written`,
    );
    return result;
  }
}
