import type { PolicySnapshot } from './snapshot.js';

/** Where the agent reads its policy from: local files, the domain, or the Windows registry. */
export interface PolicySource {
  /** One line for logs and `ascend agent status` (the files, the DC, the registry key). */
  readonly description: string;
  /** Reads the policy now. Throws (an AscendError) when it cannot be read at all. */
  load(): Promise<PolicySnapshot>;
}
