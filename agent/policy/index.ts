export { effectiveOf, foldSnapshot, digestSources, makeSnapshot, MACHINE_CATALOG, type PolicySnapshot, type PolicyOrigin, type FoldedPolicy } from './snapshot.js';
export type { PolicySource } from './source.js';
export { LocalPolicyFiles } from './local.js';
export { checkRootOnlyFolder, openRootOnlyFile, rootOnlyFault, type ComponentStat } from './root-only.js';
export { DomainPolicy, type DomainPolicySettings } from './domain.js';
export { WindowsRegistryPolicy, parseRegQuery, runReg, REGISTRY_SOURCE, type RegRunner } from './windows-registry.js';
export { PolicyCache, POLICY_CACHE_FILE, type PolicyCacheRead } from './cache.js';
export {
  PolicyRefresher,
  DEFAULT_REFRESH_BASE_MS,
  DEFAULT_REFRESH_JITTER_MS,
  type PolicyRefresherOptions,
  type PolicyStatus,
  type PolicyChangeInfo,
  type PolicyLogLevel,
} from './refresher.js';
