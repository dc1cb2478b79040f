import { AscendCommand, table } from '../../base-command.js';
import { ASCEND_CATALOG, type PolicyDefinition, type PolicyElement, type RegistryValueSpec } from '../../../catalog/index.js';

/** A catalog policy as JSON (64-bit values as decimal strings). */
export type JsonPolicy = ReturnType<typeof policyToJson>;

export interface PolicyListResult {
  policies: JsonPolicy[];
}

function specToJson(spec: RegistryValueSpec | undefined): unknown {
  if (!spec) return undefined;
  return spec.kind === 'longDecimal' ? { kind: spec.kind, value: spec.value.toString() } : spec;
}

function elementToJson(e: PolicyElement): Record<string, unknown> {
  if (e.type === 'enum') return { ...e, items: e.items.map((i) => ({ ...i, value: specToJson(i.value) })) };
  if (e.type === 'boolean') return { ...e, trueValue: specToJson(e.trueValue), falseValue: specToJson(e.falseValue) };
  return { ...e };
}

export function policyToJson(p: PolicyDefinition) {
  const category = ASCEND_CATALOG.categories.find((c) => c.id === p.category);
  return {
    id: p.id,
    displayName: p.displayName,
    category: category?.displayName ?? p.category,
    class: p.class,
    key: p.key,
    valueName: p.valueName,
    enabledValue: specToJson(p.enabledValue),
    disabledValue: specToJson(p.disabledValue),
    elements: p.elements.map(elementToJson),
    help: p.help,
  };
}

export default class PolicyList extends AscendCommand<PolicyListResult> {
  static override summary = "List the policies of Ascend's settings catalog.";
  static override description =
    'Every policy the ADMX shows in GPMC, with its registry key and its elements (the NAME in "--value NAME=VALUE"). ' +
    'With --json the whole definition, including help text, defaults and ranges.';
  static override examples = ['<%= config.bin %> policy list', '<%= config.bin %> policy list --json'];

  async run(): Promise<PolicyListResult> {
    await this.parse(PolicyList);
    const policies = ASCEND_CATALOG.policies.map(policyToJson);
    this.say(
      table([
        ['POLICY', 'CATEGORY', 'ELEMENTS'],
        ...ASCEND_CATALOG.policies.map((p) => [p.id, policyToJson(p).category, p.elements.map((e) => `${e.id} (${e.type})`).join(', ')]),
      ]),
    );
    return { policies };
  }
}
