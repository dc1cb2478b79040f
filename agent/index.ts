/**
 * The endpoint agent, the public surface (DESIGN §7): the agent itself (AscendAgent), its
 * policy sources (a local Registry.pol, the domain's GPOs, the Windows registry), the executor
 * that runs an elevation as an ephemeral account, and the socket client the `ascend` client
 * commands use. Each part is also a namespace (`executor`, `policy`, `ipc`).
 */
export { AscendAgent, type AgentOptions, type LogFn } from './daemon/agent.js';

export * as executor from './executor/index.js';
export * as policy from './policy/index.js';
export * as ipc from './ipc/index.js';

export { createExecutor, LinuxExecutor, WindowsExecutor, type Executor, type ExecutorOptions, type ElevationSpec, type RunningElevation } from './executor/index.js';
export { DomainPolicy, LocalPolicyFiles, WindowsRegistryPolicy, PolicyRefresher, PolicyCache, type PolicySource, type PolicySnapshot } from './policy/index.js';
export { ipcCall, type IpcCallOptions } from './ipc/index.js';
