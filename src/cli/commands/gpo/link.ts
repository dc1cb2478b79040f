import { Args, Flags } from '@oclif/core';
import { DomainCommand } from '../../domain-command.js';
import { GpoAdmin, type LinkInfo, type LinkOptions } from '../../../../gpo-extension/admin.js';
import { ASCEND_CATALOG } from '../../../catalog/index.js';
import { linkTable } from '../../shared/gpo-links.js';

export default class GpoLink extends DomainCommand<{ container: string; links: LinkInfo[] }> {
  static override summary = 'Link a GPO to the domain or an OU, or change a link (--update): Enforced, enabled, link order.';
  static override description = 'A new link gets the lowest precedence in the container (the highest link order), as in GPMC; --order 1 makes it the first.';
  static override examples = [
    '<%= config.bin %> gpo link "Ascend - Workstations" OU=Workstations,DC=corp,DC=example,DC=com',
    '<%= config.bin %> gpo link "Ascend - Baseline" DC=corp,DC=example,DC=com --enforced',
    '<%= config.bin %> gpo link "Ascend - Workstations" OU=Workstations,DC=corp,DC=example,DC=com --update --disabled',
  ];
  static override args = {
    gpo: Args.string({ description: 'display name or {GUID}', required: true }),
    container: Args.string({ description: 'DN of the domain or an OU', required: true }),
  };
  static override flags = {
    enforced: Flags.boolean({ description: 'Enforced: the link passes Block Inheritance and wins over links below', allowNo: true }),
    disabled: Flags.boolean({ description: 'the link is disabled (the GPO does not apply through it)', allowNo: true }),
    order: Flags.integer({ description: 'link order to place it at (1 = highest precedence)', min: 1 }),
    update: Flags.boolean({ description: 'change an existing link instead of adding one', default: false }),
  };

  async run(): Promise<{ container: string; links: LinkInfo[] }> {
    const { args, flags } = await this.parse(GpoLink);
    const options: LinkOptions = {
      ...(flags.enforced !== undefined ? { enforced: flags.enforced } : {}),
      ...(flags.disabled !== undefined ? { disabled: flags.disabled } : {}),
      ...(flags.order !== undefined ? { order: flags.order } : {}),
    };
    const links = await this.withDomain(flags, ({ dir, store }) => {
      const admin = new GpoAdmin(dir, store, ASCEND_CATALOG);
      return flags.update ? admin.updateLink(args.gpo, args.container, options) : admin.link(args.gpo, args.container, options);
    });
    this.say(`Links of ${args.container}:\n${linkTable(links)}`);
    return { container: args.container, links };
  }
}
