/**
 * What the client commands that talk to the local agent share (`ascend elevate`, `ascend tse
 * ...`, `ascend agent status|refresh`): the --socket flag and one call over the socket. The
 * socket and the call live in client/socket.ts, which the lean client shares.
 */
import { Flags } from '@oclif/core';
import { AGENT_SOCKET_ENV, DEFAULT_AGENT_SOCKET } from './client/socket.js';

export { AGENT_SOCKET_ENV, callAgent, DEFAULT_AGENT_SOCKET, socketPath } from './client/socket.js';

export const socketFlags = {
  socket: Flags.string({ description: `the agent's socket (default $${AGENT_SOCKET_ENV} or ${DEFAULT_AGENT_SOCKET})` }),
};
