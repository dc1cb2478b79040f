export { RegType, regTypeName, regTypeFromName, isStringType, type PolEntry, type RegTypeName } from './types.js';
export { RegistryPolError } from './errors.js';
export { RegistryPolReader, readRegistryPol, DEFAULT_MAX_POL_BYTES, type RegistryPolReadOptions } from './reader.js';
export { RegistryPolWriter, writeRegistryPol } from './writer.js';
export { classifyValueName, type ValueNameMeaning } from './markers.js';
export * from './values.js';
