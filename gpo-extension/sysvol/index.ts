export { checkPath, checkSegment, type SysvolStore } from './store.js';
export { FsSysvolStore } from './fs-store.js';
export { buildSmbclientInvocation, SmbSysvolStore, type SmbclientInvocation, type SmbSysvolOptions } from './smb-store.js';
export { openSysvolStore, type SysvolCredentials } from './open.js';
