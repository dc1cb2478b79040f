/** The link table the gpo link and unlink commands print. */
import { table } from '../base-command.js';
import type { LinkInfo } from '../../../gpo-extension/admin.js';

export function linkTable(links: readonly LinkInfo[]): string {
  return table([['ORDER', 'ENFORCED', 'ENABLED', 'GPO'], ...links.map((l) => [String(l.linkOrder), l.enforced ? 'yes' : 'no', l.enabled ? 'yes' : 'no', l.gpo.guid])]);
}
