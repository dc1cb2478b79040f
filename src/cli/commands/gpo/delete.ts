import { Args } from '@oclif/core';
import { DomainCommand } from '../../domain-command.js';
import { GpoAdmin } from '../../../../gpo-extension/admin.js';
import { ASCEND_CATALOG } from '../../../catalog/index.js';

export interface GpoDeleteResult {
  guid: string;
  displayName: string;
  unlinkedFrom: string[];
}

export default class GpoDelete extends DomainCommand<GpoDeleteResult> {
  static override summary = 'Delete a GPO: its links everywhere, its AD objects and its SYSVOL folder.';
  static override examples = ['<%= config.bin %> gpo delete "Ascend - Old"'];
  static override args = { gpo: Args.string({ description: 'display name or {GUID}', required: true }) };

  async run(): Promise<GpoDeleteResult> {
    const { args, flags } = await this.parse(GpoDelete);
    const result = await this.withDomain(flags, ({ dir, store }) => new GpoAdmin(dir, store, ASCEND_CATALOG).delete(args.gpo));
    this.say(`Deleted GPO "${result.displayName}" ${result.guid}${result.unlinkedFrom.length ? `, unlinked from ${result.unlinkedFrom.join('; ')}` : ''}`);
    return result;
  }
}
