import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { Flags } from '@oclif/core';
import { AscendError } from '../../../errors.js';
import { AscendCommand } from '../../base-command.js';
import { durationMs } from '../../duration.js';
import { isLoopback } from '../../../collector/server/client.js';
import { buildServer, DEFAULT_RATE_LIMIT, ensureBootstrapToken } from '../../../collector/server/index.js';
import { AdSignIn } from '../../../collector/server/ad-sign-in.js';
import { type CollectorStore, PostgresStore, SqliteStore } from '../../../collector/storage/index.js';

export interface ServerStartResult {
  url: string;
  port: number;
  storage: 'sqlite' | 'postgres';
  bootstrapTokenFile: string;
  stoppedBy: string;
}


/** "90s", "30m", "4h", "7d" → milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const ms = durationMs(text);
  if (ms === undefined || ms <= 0) throw new AscendError('ASC_USAGE', `${flag} must be a duration such as 30m, 4h or 7d: ${text}`);
  return ms;
}

export default class ServerStart extends AscendCommand<ServerStartResult> {
  static override summary = 'Run the data-collection server (port 8003) until SIGINT or SIGTERM.';
  static override description =
    'Listens for agents (enrollment, events) and admins (API tokens, reports). Storage is SQLite in --data (collector.db) ' +
    'unless --database names a PostgreSQL URL. On the first start an admin API token is written to DATA/bootstrap-admin-token (mode 0600). ' +
    'A non-loopback --host needs --tls-cert and --tls-key, or --insecure-http. --port 0 picks a free port (printed).';
  static override examples = [
    '<%= config.bin %> server start',
    '<%= config.bin %> server start --host 0.0.0.0 --tls-cert collector.crt --tls-key collector.key',
    '<%= config.bin %> server start --database postgres://ascend@db.corp.example/ascend --data /var/lib/ascend',
    '<%= config.bin %> server start --host 0.0.0.0 --tls-cert c.crt --tls-key c.key --ad-url ldaps://dc1.corp.example --ad-ca-file corp-ca.pem --ad-approver-group "Ascend Approvers" --ad-viewer-group "Helpdesk"',
  ];
  static override flags = {
    host: Flags.string({ description: 'address to listen on', default: '127.0.0.1' }),
    port: Flags.integer({ description: 'TCP port (0 = any free port)', default: 8003, min: 0, max: 65535 }),
    data: Flags.string({ description: 'data folder (SQLite database, bootstrap token)', default: './ascend-data' }),
    database: Flags.string({ description: 'PostgreSQL URL (postgres://...) instead of the embedded SQLite' }),
    'tls-cert': Flags.string({ description: 'PEM certificate file for HTTPS', dependsOn: ['tls-key'] }),
    'tls-key': Flags.string({ description: 'PEM private key file for HTTPS', dependsOn: ['tls-cert'] }),
    'insecure-http': Flags.boolean({ description: 'allow plain HTTP on a non-loopback address (not recommended)', default: false }),
    'rate-limit': Flags.string({
      description: `requests a minute per credential (default ${DEFAULT_RATE_LIMIT}), or "off"; also ASCEND_RATE_LIMIT`,
    }),
    'approval-ttl': Flags.string({ description: 'pending approval requests expire after this long (default 4h)', default: '4h' }),
    'session-ttl': Flags.string({ description: 'Active Directory sign-in sessions last this long (default 8h)', default: '8h' }),
    'ad-url': Flags.string({ description: 'sign-in with Active Directory: the DC, ldaps://dc.corp.example (or ldap:// with --ad-start-tls)', helpGroup: 'ACTIVE DIRECTORY' }),
    'ad-start-tls': Flags.boolean({ description: 'StartTLS on an ldap:// --ad-url', default: false, helpGroup: 'ACTIVE DIRECTORY' }),
    'ad-ca-file': Flags.string({ description: 'PEM CA bundle that signed the DC certificate', helpGroup: 'ACTIVE DIRECTORY' }),
    'ad-tls-server-name': Flags.string({ description: 'name to check the DC certificate against, when --ad-url names it otherwise', helpGroup: 'ACTIVE DIRECTORY' }),
    'ad-domain': Flags.string({ description: 'DNS domain for bare user names (alice → alice@DOMAIN)', helpGroup: 'ACTIVE DIRECTORY' }),
    'ad-admin-group': Flags.string({ description: 'group giving the admin role (name, DN or SID; repeatable); default Domain Admins', multiple: true, helpGroup: 'ACTIVE DIRECTORY' }),
    'ad-approver-group': Flags.string({ description: 'group giving the approver role (repeatable)', multiple: true, helpGroup: 'ACTIVE DIRECTORY' }),
    'ad-viewer-group': Flags.string({ description: 'group giving the viewer role (repeatable)', multiple: true, helpGroup: 'ACTIVE DIRECTORY' }),
  };

  async run(): Promise<ServerStartResult> {
    const { flags } = await this.parse(ServerStart);
    const tls = flags['tls-cert'] !== undefined && flags['tls-key'] !== undefined;
    if (!tls && !isLoopback(flags.host)) {
      if (!flags['insecure-http']) {
        throw new AscendError('ASC_COLLECTOR_INSECURE_REFUSED', `refusing to listen on ${flags.host} without TLS`, {
          hint: 'give --tls-cert and --tls-key, or --insecure-http',
        });
      }
      process.stderr.write(`Warning: listening on ${flags.host} over plain HTTP (--insecure-http): credentials and events cross the network unencrypted\n`);
    }
    let https: { cert: Buffer; key: Buffer } | undefined;
    if (tls) {
      const read = (f: string): Buffer => {
        try {
          return readFileSync(f);
        } catch (e) {
          throw new AscendError('ASC_FILE_NOT_FOUND', `cannot read ${f}: ${(e as Error).message}`);
        }
      };
      https = { cert: read(flags['tls-cert'] as string), key: read(flags['tls-key'] as string) };
    }
    const rateLimitText = flags['rate-limit'] ?? process.env.ASCEND_RATE_LIMIT;
    let rateLimit: { max: number } | false = { max: DEFAULT_RATE_LIMIT };
    if (rateLimitText !== undefined) {
      if (rateLimitText.trim().toLowerCase() === 'off') rateLimit = false;
      else if (/^\d+$/.test(rateLimitText.trim()) && Number(rateLimitText) > 0) rateLimit = { max: Number(rateLimitText) };
      else throw new AscendError('ASC_USAGE', `--rate-limit must be a number of requests a minute or "off": ${rateLimitText}`);
    }
    const approvalTtlMs = parseDuration(flags['approval-ttl'], '--approval-ttl');
    const sessionTtlMs = parseDuration(flags['session-ttl'], '--session-ttl');
    let signIn: AdSignIn | undefined;
    if (flags['ad-url'] !== undefined && !tls && !isLoopback(flags.host)) {
      // Sign-in carries domain passwords: never over plain HTTP across the network.
      throw new AscendError('ASC_COLLECTOR_INSECURE_REFUSED', `refusing Active Directory sign-in on ${flags.host} without TLS: passwords would cross the network in clear`, {
        hint: 'give --tls-cert and --tls-key',
      });
    }
    if (flags['ad-url'] !== undefined) {
      const groups = {
        ...(flags['ad-admin-group'] === undefined ? {} : { admin: flags['ad-admin-group'] }),
        ...(flags['ad-approver-group'] === undefined ? {} : { approver: flags['ad-approver-group'] }),
        ...(flags['ad-viewer-group'] === undefined ? {} : { viewer: flags['ad-viewer-group'] }),
      };
      signIn = new AdSignIn({
        url: flags['ad-url'],
        startTls: flags['ad-start-tls'],
        groups,
        ...(flags['ad-ca-file'] === undefined ? {} : { caFile: flags['ad-ca-file'] }),
        ...(flags['ad-tls-server-name'] === undefined ? {} : { tlsServerName: flags['ad-tls-server-name'] }),
        ...(flags['ad-domain'] === undefined ? {} : { domain: flags['ad-domain'] }),
        onWarning: (m) => process.stderr.write(`Warning: ${m}\n`),
      });
    } else if (flags['ad-admin-group'] ?? flags['ad-approver-group'] ?? flags['ad-viewer-group'] ?? flags['ad-domain']) {
      throw new AscendError('ASC_USAGE', 'the --ad-* group and domain options need --ad-url');
    }
    const dataDir = resolve(flags.data);
    const store: CollectorStore = flags.database ? await PostgresStore.open(flags.database) : await SqliteStore.open(dataDir);
    let bootstrap;
    try {
      bootstrap = await ensureBootstrapToken(store, dataDir);
    } catch (e) {
      await store.close();
      throw e;
    }
    const app = buildServer({
      store,
      logger: { level: process.env.ASCEND_LOG_LEVEL ?? 'info', stream: process.stderr },
      rateLimit,
      settings: { approvalTtlMs, sessionTtlMs, signIn },
      ...(https ? { https } : {}),
    });
    try {
      await app.listen({ host: flags.host, port: flags.port });
    } catch (e) {
      await app.close();
      throw new AscendError('ASC_USAGE', `cannot listen on ${flags.host}:${flags.port}: ${(e as Error).message}`);
    }
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : flags.port;
    const hostForUrl = isIP(flags.host) === 6 ? `[${flags.host}]` : flags.host;
    const url = `${tls ? 'https' : 'http'}://${hostForUrl}:${port}`;
    this.say(`Ascend collector listening on ${url} (storage: ${store.kind})`);
    if (bootstrap.created) this.say(`Bootstrap admin token written to ${bootstrap.file} (mode 0600)`);
    else this.say(`Bootstrap admin token: ${bootstrap.file}${bootstrap.exists ? '' : ' (deleted; API tokens exist already)'}`);
    this.say('Stop with Ctrl+C (SIGINT) or SIGTERM.');

    const stoppedBy = await new Promise<string>((done) => {
      const stop = (sig: string) => () => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        done(sig);
      };
      const onInt = stop('SIGINT');
      const onTerm = stop('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
    });
    app.log.info({ signal: stoppedBy }, 'shutting down: no new connections, draining requests, closing storage');
    await app.close(); // stops accepting, waits for in-flight requests, then closes the store (onClose)
    this.say(`Stopped (${stoppedBy}).`);
    return { url, port, storage: store.kind, bootstrapTokenFile: bootstrap.file, stoppedBy };
  }
}
