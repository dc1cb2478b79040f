/**
 * Where the SIEM feed goes: `--syslog tcp://host:port` or `tls://host:port`, parsed and checked
 * before the collector starts (a bad value is one clear line, not a failure at the first event).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { AscendError } from '../../errors.js';
import { DEFAULT_MAX_MESSAGE_BYTES, MIN_MAX_MESSAGE_BYTES, SIEM_FORMATS, type SiemFormat } from './format.js';

export interface SyslogTarget {
  tls: boolean;
  host: string;
  port: number;
  /** PEM CA bundle the receiver's certificate must chain to (tls only); default: the system's. */
  ca?: string;
  format: SiemFormat;
  /** The longest message the receiver takes (bytes, framing excluded). */
  maxBytes: number;
}

export function parseSyslogTarget(url: string, opts: { format?: string | undefined; caFile?: string | undefined; maxBytes?: number | undefined } = {}): SyslogTarget {
  const m = /^(tcp|tls):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(url.trim());
  if (m === null) throw new AscendError('ASC_USAGE', `--syslog must be tcp://HOST:PORT or tls://HOST:PORT: ${url}`);
  const [, scheme, rawHost = '', portText = ''] = m;
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  if (rawHost.startsWith('[') && isIP(host) !== 6) throw new AscendError('ASC_USAGE', `--syslog has a malformed IPv6 address: ${url}`);
  const port = Number(portText);
  if (port < 1 || port > 65535) throw new AscendError('ASC_USAGE', `--syslog port must be 1 to 65535: ${url}`);
  const format = (opts.format ?? 'json') as SiemFormat;
  if (!SIEM_FORMATS.includes(format)) throw new AscendError('ASC_USAGE', `--syslog-format must be ${SIEM_FORMATS.join(' or ')}: ${opts.format}`);
  const tls = scheme === 'tls';
  let ca: string | undefined;
  if (opts.caFile !== undefined) {
    if (!tls) throw new AscendError('ASC_USAGE', '--syslog-ca goes with a tls:// --syslog target');
    try {
      ca = readFileSync(opts.caFile, 'utf8');
    } catch (e) {
      throw new AscendError('ASC_USAGE', `cannot read --syslog-ca ${opts.caFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new AscendError('ASC_USAGE', `--syslog-ca ${opts.caFile} holds no PEM certificate`);
  }
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (!Number.isInteger(maxBytes) || maxBytes < MIN_MAX_MESSAGE_BYTES || maxBytes > 16 * 1024 * 1024) {
    throw new AscendError('ASC_USAGE', `--syslog-max-size must be ${MIN_MAX_MESSAGE_BYTES} to ${16 * 1024 * 1024} bytes: ${opts.maxBytes}`);
  }
  return { tls, host, port, format, maxBytes, ...(ca === undefined ? {} : { ca }) };
}
