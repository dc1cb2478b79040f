import { AscendError } from '../errors.js';
import { elementKey, type PolicyCatalog, type PolicyDefinition } from './model.js';

/** The policy with this id (case-insensitive), or undefined. */
export function findPolicy(catalog: PolicyCatalog, id: string): PolicyDefinition | undefined {
  const lower = id.toLowerCase();
  return catalog.policies.find((p) => p.id.toLowerCase() === lower);
}

/** The policy with this id, or an ASC_POLICY_UNKNOWN error that lists the ids there are. */
export function requirePolicy(catalog: PolicyCatalog, id: string): PolicyDefinition {
  const policy = findPolicy(catalog, id);
  if (policy) return policy;
  throw new AscendError('ASC_POLICY_UNKNOWN', `no policy "${id}" in the catalog`, {
    hint: `known policies: ${catalog.policies.map((p) => p.id).join(', ')} (see "ascend policy list")`,
  });
}

/**
 * Problems that would make a catalog ambiguous: duplicate ids, unknown categories, two
 * elements writing one registry value, a list sharing its key with other values.
 * Returns one line per problem; an empty array means the catalog is sound.
 */
export function checkCatalog(catalog: PolicyCatalog): string[] {
  const problems: string[] = [];
  const categoryIds = new Set(catalog.categories.map((c) => c.id));
  const supported = new Set(catalog.supportedOn.map((s) => s.id));
  const policyIds = new Set<string>();
  const values = new Map<string, string>(); // lower-case key\value -> owner
  const listKeys = new Map<string, string>();
  const claim = (k: string, v: string, owner: string): void => {
    const id = `${k}\\${v}`.toLowerCase();
    const prior = values.get(id);
    if (prior) problems.push(`${owner} and ${prior} both write ${k}\\${v}`);
    else values.set(id, owner);
  };
  for (const c of catalog.categories) {
    if (c.parent !== undefined && !categoryIds.has(c.parent)) problems.push(`category ${c.id} has unknown parent ${c.parent}`);
  }
  for (const p of catalog.policies) {
    if (policyIds.has(p.id.toLowerCase())) problems.push(`policy id ${p.id} is used twice`);
    policyIds.add(p.id.toLowerCase());
    if (!categoryIds.has(p.category)) problems.push(`policy ${p.id} has unknown category ${p.category}`);
    if (p.supportedOn !== undefined && !supported.has(p.supportedOn)) problems.push(`policy ${p.id} has unknown supportedOn ${p.supportedOn}`);
    if (p.valueName !== undefined) claim(p.key, p.valueName, p.id);
    const elementIds = new Set<string>();
    for (const e of p.elements) {
      if (elementIds.has(e.id.toLowerCase())) problems.push(`policy ${p.id} has element id ${e.id} twice`);
      elementIds.add(e.id.toLowerCase());
      if (e.type === 'list') {
        const lk = elementKey(p, e).toLowerCase();
        const prior = listKeys.get(lk);
        if (prior) problems.push(`${p.id}.${e.id} and ${prior} share list key ${elementKey(p, e)}`);
        listKeys.set(lk, `${p.id}.${e.id}`);
      } else {
        claim(elementKey(p, e), e.valueName, `${p.id}.${e.id}`);
        if (e.type === 'decimal' && (e.minValue > e.maxValue || (e.default !== undefined && (e.default < e.minValue || e.default > e.maxValue)))) {
          problems.push(`${p.id}.${e.id} has a default or range that does not fit`);
        }
      }
    }
  }
  for (const [id, owner] of values) {
    const k = id.slice(0, id.lastIndexOf('\\'));
    const list = listKeys.get(k);
    if (list) problems.push(`${owner} writes a value into ${list}'s list key`);
  }
  return problems;
}
