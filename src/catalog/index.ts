export * from './model.js';
export { ASCEND_CATALOG, POLICY_ROOT, DEFAULT_COLLECTOR_PORT, BUILTIN_ADMINISTRATORS } from './settings.js';
export { findPolicy, requirePolicy, checkCatalog } from './lookup.js';
