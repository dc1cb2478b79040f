export { writeAdmx } from './writer.js';
export { readAdmx } from './reader.js';
export { ADMX_XMLNS } from './schema.js';
