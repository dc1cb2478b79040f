export { encodePolicyState, applyPolicyState, policyOwnsEntry, checkState, specEntry } from './encode.js';
export { readPolicyState, readElement, resolveEffectivePolicies, effectiveFromRegistry, matchesSpec, type EffectivePolicy } from './decode.js';
export { VirtualRegistry, foldRegistryPol, type PolSource, type FoldedValue, type Deletion } from './virtual-registry.js';
export { resolveEnabledValues, startingValues, allProblems, findElement, findEnumItem, enumItemValue, type ValueBase } from './values.js';
export { parseValueArgs, splitListItems } from './value-args.js';
export type { PolicyTarget } from './target.js';
