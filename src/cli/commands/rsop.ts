import { Flags } from '@oclif/core';
import cliProgress from 'cli-progress';
import { DomainCommand } from '../domain-command.js';
import { table } from '../base-command.js';
import { AscendError } from '../../errors.js';
import { ASCEND_CATALOG } from '../../catalog/index.js';
import { resolveRsop, resolveRsopForComputersIn, type RsopResult } from '../../../gpo-extension/rsop.js';

export type RsopCommandResult = RsopResult | { results: RsopResult[] };

export default class Rsop extends DomainCommand<RsopCommandResult> {
  static override summary = 'Resultant set of policy: which GPOs apply to an account, why others do not, and every Ascend setting with the GPO that won.';
  static override description =
    'Like gpresult, from the directory and SYSVOL: links from the domain down to the account, link order, Block Inheritance, Enforced, disabled links, ' +
    'GPO status, security filtering (Read and Apply Group Policy for the account and its groups) and empty halves. WMI filters are not evaluated (reported). ' +
    '--computers-in resolves every computer under an OU from a few bulk reads.';
  static override examples = [
    '<%= config.bin %> rsop --computer WS0042',
    '<%= config.bin %> rsop --user alice --json',
    '<%= config.bin %> rsop --computers-in OU=Workstations,DC=corp,DC=example,DC=com --json',
  ];
  static override flags = {
    computer: Flags.string({ description: 'computer name (with or without $)', exactlyOne: ['computer', 'user', 'computers-in'] }),
    user: Flags.string({ description: 'user sAMAccountName (the LDAP bind account is then ASCEND_LDAP_USER)', exactlyOne: ['computer', 'user', 'computers-in'] }),
    'computers-in': Flags.string({ description: 'DN of an OU: every computer under it', exactlyOne: ['computer', 'user', 'computers-in'] }),
  };

  async run(): Promise<RsopCommandResult> {
    const { flags } = await this.parse(Rsop);
    // --user here names the account whose RSoP is wanted, not the LDAP bind account (it shadows the
    // connection flag of the same name): the bind account comes from ASCEND_LDAP_USER.
    return this.withDomain({ ...flags, user: undefined }, async ({ dir, store }) => {
      if (flags['computers-in']) {
        const bar = process.stderr.isTTY && !this.jsonEnabled() ? new cliProgress.SingleBar({ format: 'RSoP {bar} {value}/{total} computers', stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
        let started = false;
        const results = await resolveRsopForComputersIn(dir, store, ASCEND_CATALOG, flags['computers-in'], (done, total) => {
          if (!bar) return;
          if (!started) bar.start(total, 0);
          started = true;
          bar.update(done);
        });
        bar?.stop();
        this.say(table([['COMPUTER', 'APPLIED GPOS'], ...results.map((r) => [r.account.name, r.applied.map((g) => g.displayName).join(', ')])]));
        return { results };
      }
      const name = flags.computer ?? flags.user;
      if (!name) throw new AscendError('ASC_USAGE', 'give --computer, --user or --computers-in');
      const result = await resolveRsop(dir, store, ASCEND_CATALOG, name, flags.computer ? 'computer' : 'user');
      this.printOne(result);
      return result;
    });
  }

  private printOne(r: RsopResult): void {
    this.say(`RSoP for ${r.account.kind} ${r.account.name} (${r.account.dn})`);
    this.say('\nApplied GPOs (highest precedence first):');
    this.say(table([['PRECEDENCE', 'GPO', 'LINKED TO', 'ENFORCED'], ...[...r.applied].reverse().map((g) => [String(g.precedence), g.displayName, g.linkedTo, g.enforced ? 'yes' : 'no'])]));
    if (r.notApplied.length) {
      this.say('\nGPOs not applied:');
      this.say(table([['GPO', 'LINKED TO', 'REASON'], ...r.notApplied.map((g) => [g.displayName, g.linkedTo, g.reason])]));
    }
    this.say('\nAscend settings:');
    this.say(table([['POLICY', 'STATE', 'WINNING GPO', 'VALUES'], ...r.settings.map((s) => [s.id, s.state, s.source?.displayName ?? '-', Object.keys(s.values).length ? JSON.stringify(s.values) : ''])]));
    for (const n of r.notes) this.say(`note: ${n}`);
  }
}
