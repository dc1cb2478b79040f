import { Args } from '@oclif/core';
import { AscendCommand, table } from '../../base-command.js';
import { ASCEND_CATALOG } from '../../../catalog/index.js';
import { effectiveFromFiles } from '../../../local-policy/index.js';
import type { EffectivePolicy } from '../../../policy/index.js';

export interface PolEffectiveResult {
  policies: EffectivePolicy[];
}

export default class PolEffective extends AscendCommand<PolEffectiveResult> {
  static override summary = 'Show the effective Ascend settings of Registry.pol files applied in order.';
  static override description =
    'Applies the files as Windows applies GPOs, lowest precedence first (list the domain GPO before an OU GPO), and shows for every policy ' +
    'its state, its values and the file that won. With --json: {"policies":[{"id","state","values","source"}]}.';
  static override examples = ['<%= config.bin %> pol effective domain.pol ou.pol', '<%= config.bin %> pol effective Registry.pol --json'];
  static override strict = false;
  static override args = { files: Args.string({ description: 'Registry.pol files, lowest precedence first', required: true }) };

  async run(): Promise<PolEffectiveResult> {
    const { argv } = await this.parse(PolEffective);
    const policies = await effectiveFromFiles(ASCEND_CATALOG, argv as string[]);
    this.say(
      table([
        ['POLICY', 'STATE', 'SOURCE', 'VALUES'],
        ...policies.map((p) => [p.id, p.state, p.source ?? '-', Object.keys(p.values).length ? JSON.stringify(p.values) : '']),
      ]),
    );
    return { policies };
  }
}
