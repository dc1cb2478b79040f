import { Args } from '@oclif/core';
import { DomainCommand } from '../../domain-command.js';
import { GpoAdmin, type LinkInfo } from '../../../../gpo-extension/admin.js';
import { ASCEND_CATALOG } from '../../../catalog/index.js';
import { linkTable } from '../../shared/gpo-links.js';

export default class GpoUnlink extends DomainCommand<{ container: string; links: LinkInfo[] }> {
  static override summary = 'Remove the link of a GPO from the domain or an OU.';
  static override examples = ['<%= config.bin %> gpo unlink "Ascend - Workstations" OU=Workstations,DC=corp,DC=example,DC=com'];
  static override args = {
    gpo: Args.string({ description: 'display name or {GUID}', required: true }),
    container: Args.string({ description: 'DN of the domain or an OU', required: true }),
  };

  async run(): Promise<{ container: string; links: LinkInfo[] }> {
    const { args, flags } = await this.parse(GpoUnlink);
    const links = await this.withDomain(flags, ({ dir, store }) => new GpoAdmin(dir, store, ASCEND_CATALOG).unlink(args.gpo, args.container));
    this.say(`Links of ${args.container}:\n${linkTable(links)}`);
    return { container: args.container, links };
  }
}
