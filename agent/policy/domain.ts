/**
 * Policy from the domain (Linux agents in an AD domain): our own client-side processing of
 * the GPOs that apply to this computer, as Windows' Group Policy engine and registry
 * extension would do it (DESIGN sections 4 and 7). The agent connects with the computer's
 * own credentials, finds its account, works out its token (tokenGroups) and the GPOs that
 * reach it (links, Block Inheritance, Enforced, security filtering: selectGpos), and reads
 * each applied GPO's Machine\Registry.pol from SYSVOL.
 */
import { AscendError, isAscendError } from '../../src/errors.js';
import { sidToString } from '../../src/directory/index.js';
import type { PolSource } from '../../src/policy/index.js';
import { connectDomain, type ConnectionSettings } from '../../gpo-extension/connection.js';
import { findAccount, PolicyFileCache, readAccountSnapshot, selectGpos, type AccountToken } from '../../gpo-extension/rsop.js';
import { makeSnapshot, type PolicySnapshot } from './snapshot.js';
import type { PolicySource } from './source.js';

/** SIDs every authenticated token holds besides the account's and its groups' (as rsop.ts adds them). */
const TOKEN_SIDS = ['S-1-1-0' /* Everyone */, 'S-1-5-11' /* Authenticated Users */];

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
      const { dir, store } = conn;
      const entry = await findAccount(dir, this.settings.computer, 'computer');
      const sidBytes = entry.binary.objectsid?.[0];
      if (!sidBytes) throw new AscendError('ASC_LDAP_ERROR', `the computer account ${entry.dn} has no objectSid (the account used cannot read it)`);
      const account = { name: entry.attrs.samaccountname?.[0] ?? this.settings.computer, kind: 'computer' as const, dn: entry.dn, sid: sidToString(sidBytes) };
      const [groupSids, domain] = await Promise.all([dir.tokenGroups(entry.dn), readAccountSnapshot(dir, entry.dn)]);
      const token: AccountToken = { account, sids: new Set([account.sid, ...groupSids, ...TOKEN_SIDS]) };
      // selectGpos lists the applied GPOs in the order they apply, lowest precedence first,
      // which is the order resolveEffectivePolicies folds them in.
      const { applied, notes } = selectGpos(token, domain);
      const files = new PolicyFileCache(store, dir.dnsDomain);
      const problems = [...notes];
      const sources: PolSource[] = [];
      const labels: Record<string, string> = {};
      for (const gpo of applied) {
        labels[gpo.guid] = gpo.displayName;
        try {
          sources.push({ source: gpo.guid, entries: await files.entries(gpo, 'computer') });
        } catch (e) {
          // A damaged Registry.pol in one GPO leaves that GPO out, as Windows' registry
          // extension does with a file it cannot parse; the problem is reported. SYSVOL that
          // cannot be reached at all is no such thing: the whole read fails, so the agent
          // keeps the policy it has rather than apply a policy missing GPOs.
          if (isAscendError(e) && e.code.startsWith('ASC_POL_')) problems.push(`GPO "${gpo.displayName}" ${gpo.guid} was left out: ${e.message}`);
          else throw e;
        }
      }
      return makeSnapshot({
        origin: 'domain',
        sources,
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
