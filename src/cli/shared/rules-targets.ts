/** The file or GPO whose rule lists the rules commands edit (rules add, rules remove). */
import type { DomainConnection } from '../../../gpo-extension/connection.js';
import { gpoTarget } from '../../../gpo-extension/target.js';
import type { ElementValues } from '../../catalog/index.js';
import { fileTarget } from '../../local-policy/index.js';
import type { EffectivePolicy, PolicyTarget } from '../../policy/index.js';
import { BLACKLIST_RULES_POLICY, ELEVATION_RULES_POLICY, type PolicySetting, type RuleList } from '../../rules/index.js';

/** One file or GPO whose rule lists are edited. */
export interface RulesEditTarget {
  readonly description: string;
  /** Both list policies as this file or GPO sets them. */
  read(): Promise<{ elevation: PolicySetting; blacklist: PolicySetting }>;
  /** One read-modify-write of a list policy (see PolicyTarget.update). */
  update(policyId: RuleList, decide: (current: EffectivePolicy) => ElementValues | undefined): Promise<void>;
}

const notConfigured = (id: string): PolicySetting => ({ id, state: 'not-configured', values: {} });

function pick(settings: readonly EffectivePolicy[]): { elevation: PolicySetting; blacklist: PolicySetting } {
  return {
    elevation: settings.find((s) => s.id === ELEVATION_RULES_POLICY) ?? notConfigured(ELEVATION_RULES_POLICY),
    blacklist: settings.find((s) => s.id === BLACKLIST_RULES_POLICY) ?? notConfigured(BLACKLIST_RULES_POLICY),
  };
}

/** The rule lists of any policy target (a file or a GPO). */
export function rulesTarget(target: PolicyTarget): RulesEditTarget {
  return {
    get description() {
      return target.description;
    },
    read: async () => pick(await target.read()),
    update: (policyId, decide) => target.update(policyId, decide),
  };
}

/** A local Registry.pol (created by the first edit when missing). */
export function fileRulesTarget(file: string): RulesEditTarget {
  return rulesTarget(fileTarget(file));
}

/** A GPO, edited through GpoAdmin.updatePolicy (conflict-safe, versions bumped as GPMC does). */
export function gpoRulesTarget(connection: DomainConnection, gpo: string): RulesEditTarget {
  return rulesTarget(gpoTarget(connection, gpo));
}
