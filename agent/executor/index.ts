/** The executor of the endpoint agent: runs an allowed elevation as an ephemeral account (or root / SYSTEM). */
import { AscendError } from '../../src/errors.js';
import type { Executor, ExecutorOptions } from './contract.js';
import { LinuxExecutor } from './linux.js';
import { WindowsExecutor, type PowerShellHost } from './windows.js';

export type {
  CleanupReport,
  ElevationExit,
  ElevationSpec,
  Executor,
  ExecutorOptions,
  RunningElevation,
  TreeTracking,
} from './contract.js';
export { LinuxExecutor, DEFAULT_HOME_ROOT, LINUX_MAX_NAME, findCgroup2Mount } from './linux.js';
export { WindowsExecutor, WINDOWS_MAX_NAME, WINDOWS_MARKER, powershellExe, randomPassword, type PowerShellHost } from './windows.js';
export * as powershell from './powershell.js';
export {
  ADMINISTRATORS_SID,
  ADMINISTRATORS_NAME,
  SAFE_PATH,
  accountNameFor,
  filterClientEnv,
  mapGroups,
  markerFor,
  parseMarker,
} from './common.js';

/** The executor for a platform: 'linux' or 'win32' (others are refused with ASC_AGENT_CONFIG). */
export function createExecutor(platform: NodeJS.Platform | 'linux' | 'win32', options: ExecutorOptions, host?: PowerShellHost): Executor {
  if (platform === 'linux') return new LinuxExecutor(options);
  if (platform === 'win32') return new WindowsExecutor(options, host);
  throw new AscendError('ASC_AGENT_CONFIG', `No executor for platform ${platform}; Linux and Windows are supported.`);
}
