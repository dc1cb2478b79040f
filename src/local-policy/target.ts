/** The file policy target: edits go to a local Registry.pol, created by the first edit when missing. */
import { isAscendError } from '../errors.js';
import { ASCEND_CATALOG, type PolicyCatalog } from '../catalog/index.js';
import { resolveEffectivePolicies, type EffectivePolicy, type PolicyTarget } from '../policy/index.js';
import { readPolFile, setPolicyInFile } from './pol-file.js';

/** The policies as one file sets them; a file that does not exist yet sets none. */
async function readFileSettings(catalog: PolicyCatalog, file: string): Promise<EffectivePolicy[]> {
  try {
    return resolveEffectivePolicies(catalog, [{ source: file, entries: await readPolFile(file) }]);
  } catch (e) {
    if (isAscendError(e) && e.code === 'ASC_FILE_NOT_FOUND') return resolveEffectivePolicies(catalog, []);
    throw e;
  }
}

export function fileTarget(file: string, catalog: PolicyCatalog = ASCEND_CATALOG): PolicyTarget {
  return {
    description: `file ${file}`,
    read: () => readFileSettings(catalog, file),
    async update(policyId, decide) {
      const policies = await readFileSettings(catalog, file);
      const values = decide(policies.find((p) => p.id === policyId) ?? { id: policyId, state: 'not-configured', values: {}, source: null });
      if (values) await setPolicyInFile(catalog, file, policyId, 'enabled', values);
    },
  };
}
