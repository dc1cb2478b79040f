/** Where the rules commands read rules from (rules list, lint, test). */
import { withRulesDomain } from './rules-domain.js';
import { GpoAdmin } from '../../../gpo-extension/admin.js';
import { resolveRsop } from '../../../gpo-extension/rsop.js';
import { ASCEND_CATALOG } from '../../catalog/index.js';
import { readPolFile } from '../../local-policy/index.js';
import { rulesFromSettings, rulesFromSources, type LoadedRules } from '../../rules/index.js';

/** Where rules are read from: Registry.pol files folded, one GPO, or the RSoP of a computer. */
export interface RuleSourceFlags {
  policy?: string[] | undefined;
  gpo?: string | undefined;
  'rsop-computer'?: string | undefined;
}

/** The rules of the files, GPO or RSoP the flags name, and a description of that source. */
export async function loadRules(flags: RuleSourceFlags & Record<string, unknown>): Promise<LoadedRules & { policySource: string }> {
  if (flags.policy !== undefined) {
    const sources = [];
    for (const file of flags.policy) sources.push({ source: file, entries: await readPolFile(file) });
    return { ...rulesFromSources(sources), policySource: `Registry.pol ${flags.policy.join(', ')} (lowest precedence first)` };
  }
  return withRulesDomain(flags, async ({ dir, store }) => {
    if (flags['rsop-computer'] !== undefined) {
      const rsop = await resolveRsop(dir, store, ASCEND_CATALOG, flags['rsop-computer'], 'computer');
      const source = `RSoP of computer ${rsop.account.name}`;
      return { ...rulesFromSettings(rsop.settings, source), policySource: `${source} (${rsop.applied.map((g) => g.displayName).join(', ') || 'no GPO applies'})` };
    }
    const shown = await new GpoAdmin(dir, store, ASCEND_CATALOG).show(flags.gpo as string);
    const source = `GPO "${shown.gpo.displayName}"`;
    return { ...rulesFromSettings(shown.settings, source), policySource: `${source} ${shown.gpo.guid}` };
  });
}
