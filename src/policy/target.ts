/**
 * Where a policy edit goes ("where do I write this policy"): a local Registry.pol or a GPO.
 * The interface only; the file target is src/local-policy (fileTarget), the GPO target
 * gpo-extension (gpoTarget). Code that edits policies (passcode keys, rules) takes a
 * PolicyTarget and never knows which one it has.
 */
import type { ElementValues } from '../catalog/index.js';
import type { EffectivePolicy } from './decode.js';

export interface PolicyTarget {
  /** `file Registry.pol` or `GPO "name"`, for messages. */
  readonly description: string;
  /**
   * Every policy of the catalog as this file / GPO sets it (not the effective policy of a
   * machine); a file that does not exist yet reads as all Not Configured.
   */
  read(): Promise<EffectivePolicy[]>;
  /**
   * One read-modify-write of a policy as this file / GPO sets it: `decide` gets the current
   * setting and returns the values to set the policy Enabled with, or undefined to write
   * nothing. On a GPO a concurrent edit makes the call fail with ASC_GPO_CONFLICT rather
   * than be lost.
   */
  update(policyId: string, decide: (current: EffectivePolicy) => ElementValues | undefined): Promise<void>;
}
