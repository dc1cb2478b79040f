export { readPolFile, writeFileAtomic, setPolicyInFile, effectiveFromFiles, type SetPolicyResult } from './pol-file.js';
