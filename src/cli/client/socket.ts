/**
 * The agent socket as the client commands find it (`ascend elevate`, `ascend tse ...`, `ascend
 * agent status|refresh`), and one call over it. Shared by the oclif commands and the lean
 * client (src/cli/client/main.ts), so it imports no oclif and nothing the client does not need.
 * The agent learns who is asking from the kernel, so nothing here says who the user is.
 */
import { ipcCall } from '../../../agent/ipc/client.js';

export const DEFAULT_AGENT_SOCKET = '/run/ascend/agent.sock';
export const AGENT_SOCKET_ENV = 'ASCEND_AGENT_SOCKET';

export interface SocketOption {
  socket?: string | undefined;
}

/** --socket, else $ASCEND_AGENT_SOCKET when set and not empty, else the default. */
export function socketPath(flags: SocketOption): string {
  return flags.socket ?? (process.env[AGENT_SOCKET_ENV] || DEFAULT_AGENT_SOCKET);
}

/** One request to the agent; `onEvent` sees its progress frames (waiting for approval ...). */
export async function callAgent<T>(flags: SocketOption, request: Record<string, unknown>, onEvent?: (frame: Record<string, unknown>) => void): Promise<T> {
  return (await ipcCall(socketPath(flags), request as never, onEvent ? { onEvent } : {})) as T;
}
