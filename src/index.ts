/**
 * The public surface of the core, for a library user: the settings catalog, the byte-exact
 * codecs (Registry.pol, GPT.INI, ADMX/ADML), the policy fold (Registry.pol files to effective
 * policy), the elevation rules and their decision engine, TSE passcode verification, and the
 * error catalogue. Everything here is pure: no file, network, process or database I/O (a test
 * checks the import graph). The edges live elsewhere: gpo-extension/ (the domain and SYSVOL),
 * agent/ (the endpoint agent), src/collector/ (the server).
 *
 * Each part is a namespace (`rules.decide`, `passcode.checkPasscode`); the names most users
 * need are also exported directly.
 */
export { AscendError, isAscendError, ERROR_CODES, type ErrorCode } from './errors.js';

export * as catalog from './catalog/index.js';
export * as registryPol from './formats/registry-pol/index.js';
export * as gptIni from './formats/gpt-ini/index.js';
export * as admx from './formats/admx/index.js';
export * as policy from './policy/index.js';
export * as rules from './rules/index.js';
export * as passcode from './passcode/index.js';

export { ASCEND_CATALOG, findPolicy, requirePolicy, type PolicyCatalog, type PolicyDefinition } from './catalog/index.js';
export { readRegistryPol, writeRegistryPol, RegistryPolError, type PolEntry } from './formats/registry-pol/index.js';
export { encodePolicyState, foldRegistryPol, resolveEffectivePolicies, type EffectivePolicy, type PolSource } from './policy/index.js';
export { compileRules, decide, rulesFromSources, rulesFromSettings, type Decision, type DecisionRequest, type Rule, type RuleIndex } from './rules/index.js';
export { checkPasscode, parsePasscode, PasscodeVerifier, type CheckContext, type CheckResult, type PasscodePolicy } from './passcode/index.js';
