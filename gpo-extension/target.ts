/**
 * The GPO policy target: edits go to a GPO's Machine\Registry.pol through GpoAdmin, so each
 * read-modify-write is one GPMC-style edit (versions bumped, extension names kept) and a
 * concurrent edit is refused (ASC_GPO_CONFLICT) rather than lost.
 */
import { ASCEND_CATALOG, type PolicyCatalog } from '../src/catalog/index.js';
import type { PolicyTarget } from '../src/policy/index.js';
import { GpoAdmin } from './admin.js';
import type { DomainConnection } from './connection.js';

/** A GPO by display name or {GUID}; `description` names it by display name once an edit found it. */
export function gpoTarget(connection: Pick<DomainConnection, 'dir' | 'store'>, gpo: string, catalog: PolicyCatalog = ASCEND_CATALOG): PolicyTarget {
  const admin = new GpoAdmin(connection.dir, connection.store, catalog);
  let name = gpo;
  return {
    get description() {
      return `GPO "${name}"`;
    },
    async read() {
      return (await admin.show(gpo)).settings;
    },
    async update(policyId, decide) {
      const result = await admin.updatePolicy(gpo, policyId, (current) => {
        const values = decide(current);
        return values ? { state: 'enabled', values } : undefined;
      });
      name = result.gpo.displayName;
    },
  };
}
