/**
 * Webhook secrets at rest. The collector must keep each secret to sign with it, so it can not
 * keep only a hash; it keeps it sealed with AES-256-GCM under a key derived (HKDF-SHA256)
 * from the collector's grant-signing key, which lives in the data folder (mode 0600), not in
 * the database. A copy of the database (a backup, a PostgreSQL reader) does not reveal the
 * secrets. The webhook's id is the associated data: a sealed secret moved to another row does
 * not open. Collectors sharing one PostgreSQL database share the grant key already (agents
 * verify grants with it), so each can open what another sealed.
 */
import { createCipheriv, createDecipheriv, hkdfSync, type KeyObject, randomBytes } from 'node:crypto';

const VERSION = 'v1';

export class SecretBox {
  private readonly key: Buffer;

  constructor(grantKey: KeyObject) {
    const material = grantKey.export({ type: 'pkcs8', format: 'der' });
    this.key = Buffer.from(hkdfSync('sha256', material, 'ascend-collector', 'webhook secrets v1', 32));
  }

  seal(secret: string, webhookId: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(webhookId, 'utf8'));
    const ct = Buffer.concat([c.update(secret, 'utf8'), c.final()]);
    return [VERSION, iv.toString('base64url'), ct.toString('base64url'), c.getAuthTag().toString('base64url')].join('.');
  }

  /** The secret, or undefined when it was sealed under another key or altered. */
  open(sealed: string, webhookId: string): string | undefined {
    const [v, iv, ct, tag] = sealed.split('.');
    if (v !== VERSION || iv === undefined || ct === undefined || tag === undefined) return undefined;
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      d.setAAD(Buffer.from(webhookId, 'utf8'));
      d.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}

/**
 * What is sealed per webhook: the signing secret and the full URL (an incoming-webhook URL
 * of Slack or Teams is itself a credential); the database shows only redactedUrl's form.
 */
export interface SealedTarget {
  secret: string;
  url: string;
}

export function sealTarget(box: SecretBox, t: SealedTarget, webhookId: string): string {
  return box.seal(JSON.stringify({ secret: t.secret, url: t.url }), webhookId);
}

export function openTarget(box: SecretBox, h: { id: string; secretSealed: string }): SealedTarget | undefined {
  const text = box.open(h.secretSealed, h.id);
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as Partial<SealedTarget>;
    return typeof v.secret === 'string' && typeof v.url === 'string' ? { secret: v.secret, url: v.url } : undefined;
  } catch {
    return undefined;
  }
}

/** A URL as lists show it: scheme, host, port and the first path segment; the rest (often a token) hidden. */
export function redactedUrl(u: URL): string {
  const first = u.pathname.split('/').filter((x) => x !== '')[0];
  const more = u.pathname.split('/').filter((x) => x !== '').length > 1 || u.search !== '';
  return `${u.origin}/${first === undefined ? '' : first}${more ? (first === undefined ? '…' : '/…') : ''}`;
}
