/**
 * Policy from the domain (Linux agents in an AD domain): our own client-side processing of
 * the GPOs that apply to this computer, as Windows' Group Policy engine and registry
 * extension would do it (DESIGN sections 4 and 7). The agent connects with the computer's
 * own credentials; gpo-extension's one RSoP read (resolveAppliedGpos: the computer's token,
 * the GPOs that reach it through links, Block Inheritance, Enforced and security filtering,
 * and each applied GPO's Machine\Registry.pol from SYSVOL) gives the sources, in the order
 * they apply.
 */
import { AscendError } from '../../src/errors.js';
import { connectDomain, type ConnectionSettings } from '../../gpo-extension/connection.js';
import { resolveAppliedGpos } from '../../gpo-extension/rsop.js';
import { makeSnapshot, type PolicySnapshot } from './snapshot.js';
import type { PolicySource } from './source.js';

export interface DomainPolicySettings extends ConnectionSettings {
  /** The computer account's name (NAME or NAME$). */
  computer: string;
}

export class DomainPolicy implements PolicySource {
  readonly description: string;

  /**
   * `settings` are the machine's credentials (user NAME$@realm or the account's DN, a
   * password file of mode 600); `env` fills what the settings leave out, as for the CLI.
   */
  constructor(
    private readonly settings: DomainPolicySettings,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly now: () => number = Date.now,
  ) {
    if (!settings.computer || settings.computer.trim() === '') throw new AscendError('ASC_AGENT_CONFIG', 'no computer name given for the domain policy source');
    const where = settings.url ?? env.ASCEND_LDAP_URL ?? '(ASCEND_LDAP_URL)';
    this.description = `domain GPOs of computer ${settings.computer.replace(/\$$/, '')} via ${where}`;
  }

  async load(): Promise<PolicySnapshot> {
    const conn = await connectDomain(this.settings, this.env);
    try {
      const found = await resolveAppliedGpos(conn.dir, conn.store, this.settings.computer, 'computer');
      const { account, groupSids } = found;
      if (!account.sid) throw new AscendError('ASC_LDAP_ERROR', `the computer account ${account.dn} has no objectSid (the account used cannot read it)`);
      const labels: Record<string, string> = {};
      for (const gpo of found.applied) labels[gpo.guid] = gpo.displayName;
      // A damaged Registry.pol in one GPO leaves that GPO out, as Windows' registry extension
      // does with a file it cannot parse; the problem is reported. SYSVOL that cannot be
      // reached at all is no such thing: resolveAppliedGpos throws, so the agent keeps the
      // policy it has rather than apply a policy missing GPOs.
      const problems = [...found.notes, ...found.damaged.map(({ gpo, error }) => `GPO "${gpo.displayName}" ${gpo.guid} was left out: ${error.message}`)];
      return makeSnapshot({
        origin: 'domain',
        // In the order the GPOs apply, lowest precedence first: the order they fold in.
        sources: found.sources,
        labels,
        fetchedAt: this.now(),
        computer: { name: account.name, dn: account.dn, sid: account.sid, groupSids },
        problems,
      });
    } finally {
      await conn.close().catch(() => undefined);
    }
  }
}
