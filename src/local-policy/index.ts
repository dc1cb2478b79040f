export { readPolFile, writeFileAtomic, setPolicyInFile, effectiveFromFiles, type SetPolicyResult, type ReadPolOptions } from './pol-file.js';
export { fileTarget } from './target.js';
