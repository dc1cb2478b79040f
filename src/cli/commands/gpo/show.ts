import { Args } from '@oclif/core';
import { DomainCommand } from '../../domain-command.js';
import { table } from '../../base-command.js';
import { GpoAdmin, type GpoInfo } from '../../../../gpo-extension/admin.js';
import { ASCEND_CATALOG } from '../../../catalog/index.js';
import type { EffectivePolicy } from '../../../policy/index.js';

export interface GpoShowResult {
  gpo: GpoInfo;
  settings: { id: string; state: EffectivePolicy['state']; values: EffectivePolicy['values'] }[];
}

export default class GpoShow extends DomainCommand<GpoShowResult> {
  static override summary = 'Show every Ascend setting of a GPO with its state and values.';
  static override examples = ['<%= config.bin %> gpo show "Ascend - Workstations"', '<%= config.bin %> gpo show {31B2F340-016D-11D2-945F-00C04FB984F9} --json'];
  static override args = { gpo: Args.string({ description: 'display name or {GUID}', required: true }) };

  async run(): Promise<GpoShowResult> {
    const { args, flags } = await this.parse(GpoShow);
    const { gpo, settings } = await this.withDomain(flags, ({ dir, store }) => new GpoAdmin(dir, store, ASCEND_CATALOG).show(args.gpo));
    this.say(`GPO "${gpo.displayName}" ${gpo.guid}, version ${gpo.userVersion} (user) / ${gpo.machineVersion} (computer)`);
    this.say(table([['POLICY', 'STATE', 'VALUES'], ...settings.map((s) => [s.id, s.state, Object.keys(s.values).length ? JSON.stringify(s.values) : ''])]));
    return { gpo, settings: settings.map(({ id, state, values }) => ({ id, state, values })) };
  }
}
