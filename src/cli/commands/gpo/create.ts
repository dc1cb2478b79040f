import { Args } from '@oclif/core';
import { DomainCommand } from '../../domain-command.js';
import { GpoAdmin, type GpoInfo } from '../../../../gpo-extension/admin.js';
import { ASCEND_CATALOG } from '../../../catalog/index.js';

export default class GpoCreate extends DomainCommand<{ gpo: GpoInfo }> {
  static override summary = 'Create a GPO (AD container, Machine and User halves, SYSVOL folder with GPT.INI), unlinked.';
  static override examples = ['<%= config.bin %> gpo create "Ascend - Workstations"', '<%= config.bin %> gpo create "Ascend - Servers" --json'];
  static override args = { name: Args.string({ description: 'display name', required: true }) };

  async run(): Promise<{ gpo: GpoInfo }> {
    const { args, flags } = await this.parse(GpoCreate);
    const gpo = await this.withDomain(flags, ({ dir, store }) => new GpoAdmin(dir, store, ASCEND_CATALOG).create(args.name));
    this.say(`Created GPO "${gpo.displayName}" ${gpo.guid}; link it with "ascend gpo link ${gpo.guid} OU_DN"`);
    return { gpo };
  }
}
