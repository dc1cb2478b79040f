import { Args, Flags } from '@oclif/core';
import { DomainCommand } from '../../domain-command.js';
import { GpoAdmin } from '../../../../gpo-extension/admin.js';
import { ASCEND_CATALOG } from '../../../catalog/index.js';

export default class GpoBlockInheritance extends DomainCommand<{ container: string; blockInheritance: boolean }> {
  static override summary = 'Set Block Inheritance on an OU (or clear it with --off): links from above stop applying, unless Enforced.';
  static override examples = ['<%= config.bin %> gpo block-inheritance OU=Lab,DC=corp,DC=example,DC=com', '<%= config.bin %> gpo block-inheritance OU=Lab,DC=corp,DC=example,DC=com --off'];
  static override args = { container: Args.string({ description: 'DN of an OU (or the domain)', required: true }) };
  static override flags = { off: Flags.boolean({ description: 'clear Block Inheritance', default: false }) };

  async run(): Promise<{ container: string; blockInheritance: boolean }> {
    const { args, flags } = await this.parse(GpoBlockInheritance);
    const result = await this.withDomain(flags, ({ dir, store }) => new GpoAdmin(dir, store, ASCEND_CATALOG).setBlockInheritance(args.container, !flags.off));
    this.say(`${result.container}: Block Inheritance ${result.blockInheritance ? 'on' : 'off'}`);
    return result;
  }
}
