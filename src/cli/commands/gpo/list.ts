import { DomainCommand } from '../../domain-command.js';
import { table } from '../../base-command.js';
import { GpoAdmin, type GpoInfo } from '../../../../gpo-extension/admin.js';
import { ASCEND_CATALOG } from '../../../catalog/index.js';

export default class GpoList extends DomainCommand<{ gpos: GpoInfo[] }> {
  static override summary = 'List the GPOs of the domain.';
  static override examples = ['<%= config.bin %> gpo list --url ldaps://dc1.corp.example.com --user admin@corp.example.com --password-file ~/.ascend-pw'];

  async run(): Promise<{ gpos: GpoInfo[] }> {
    const { flags } = await this.parse(GpoList);
    const gpos = await this.withDomain(flags, ({ dir, store }) => new GpoAdmin(dir, store, ASCEND_CATALOG).list());
    this.say(table([['GUID', 'VERSION', 'NAME'], ...gpos.map((g) => [g.guid, `${g.userVersion}/${g.machineVersion}`, g.displayName])]));
    return { gpos };
  }
}
