/** The Unix-socket IPC between the `ascend` client commands and the root agent (DESIGN section 7). */
export { ipcCall, type IpcCallOptions } from './client.js';
export { addonPath, parseProcStat, peerCredentials, peerCredentialsAvailable, peerCredentialsOfFd, type PeerCredentials, type PeerParent, readPeerParent } from './peer.js';
export { writePaced } from './pace.js';
export {
  type ClientFrame,
  encodeFrame,
  type Frame,
  FrameDecoder,
  type IpcErrorBody,
  type IpcRequest,
  MAX_CHUNK_BYTES,
  MAX_FRAME_BYTES,
  parseFrame,
  type ResultFrame,
} from './protocol.js';
export { type IpcContext, type IpcHandler, type IpcLog, type IpcLogLevel, IpcServer, type IpcServerOptions } from './server.js';
