/**
 * What the client commands that talk to the local agent share (`ascend elevate`, `ascend tse
 * ...`, `ascend agent status|refresh`): the --socket flag and one call over the socket. The
 * agent learns who is asking from the kernel, so nothing here says who the user is.
 */
import { Flags } from '@oclif/core';
import { ipcCall } from '../../agent/ipc/index.js';

export const DEFAULT_AGENT_SOCKET = '/run/ascend/agent.sock';
export const AGENT_SOCKET_ENV = 'ASCEND_AGENT_SOCKET';

export const socketFlags = {
  socket: Flags.string({ description: `the agent's socket (default $${AGENT_SOCKET_ENV} or ${DEFAULT_AGENT_SOCKET})` }),
};

export function socketPath(flags: { socket?: string | undefined }): string {
  return flags.socket ?? (process.env[AGENT_SOCKET_ENV] || DEFAULT_AGENT_SOCKET);
}

/** One request to the agent; `onEvent` sees its progress frames (waiting for approval ...). */
export async function callAgent<T>(flags: { socket?: string | undefined }, request: Record<string, unknown>, onEvent?: (frame: Record<string, unknown>) => void): Promise<T> {
  return (await ipcCall(socketPath(flags), request as never, onEvent ? { onEvent } : {})) as T;
}
