import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { Flags } from '@oclif/core';
import { AscendError } from '../../../errors.js';
import { AscendCommand } from '../../base-command.js';
import { chooseLogFormat, LOG_FORMATS, processLogFacts, serverOutput } from '../../server-log.js';
import { durationMs } from '../../duration.js';
import { isLoopback } from '../../../collector-api/transport.js';
import { loadOrCreateGrantKey, loadOrCreateIdentity } from '../../../collector/server/identity.js';
import { showPin } from '../../../collector-api/pin.js';
import { buildServer, DEFAULT_RATE_LIMIT, ensureBootstrapToken } from '../../../collector/server/index.js';
import { AdSignIn } from '../../../collector/server/ad-sign-in.js';
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from '../../../collector/server/connection-guard.js';
import { type CollectorStore, PostgresStore, SqliteStore } from '../../../collector/storage/index.js';
import { SiemForwarder } from '../../../collector/siem/forwarder.js';
import { DEFAULT_MAX_MESSAGE_BYTES, SIEM_FORMATS } from '../../../collector/siem/format.js';
import { parseSyslogTarget } from '../../../collector/siem/target.js';

export interface ServerStartResult {
  url: string;
  port: number;
  storage: 'sqlite' | 'postgres';
  bootstrapTokenFile: string;
  /** The certificate authority agents pin, and its fingerprint ("SHA256:..."); null over plain HTTP. */
  caFile: string | null;
  fingerprint: string | null;
  stoppedBy: string;
}


/** "90s", "30m", "4h", "7d" → milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const ms = durationMs(text);
  if (ms === undefined || ms <= 0) throw new AscendError('ASC_USAGE', `${flag} must be a duration such as 30m, 4h or 7d: ${text}`);
  return ms;
}

/** --max-connections, --max-connections-per-address, --request-timeout, --keep-alive-timeout → buildServer's connection limits. */
export function connectionFlags(flags: {
  'max-connections'?: number | undefined;
  'max-connections-per-address'?: number | undefined;
  'request-timeout'?: string | undefined;
  'keep-alive-timeout'?: string | undefined;
}): Partial<ConnectionLimits> {
  const seconds = (text: string | undefined, flag: string): number | undefined => {
    if (text === undefined) return undefined;
    const ms = parseDuration(text, flag);
    if (ms < 1000 || ms > 3600_000) throw new AscendError('ASC_USAGE', `${flag} must be between 1s and 1h: ${text}`);
    return ms;
  };
  const requestTimeoutMs = seconds(flags['request-timeout'], '--request-timeout');
  const keepAliveTimeoutMs = seconds(flags['keep-alive-timeout'], '--keep-alive-timeout');
  return {
    ...(flags['max-connections'] === undefined ? {} : { maxConnections: flags['max-connections'] }),
    ...(flags['max-connections-per-address'] === undefined ? {} : { maxPerAddress: flags['max-connections-per-address'] }),
    // The head's bound is the smaller of its default and the whole request's.
    ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs, headersTimeoutMs: Math.min(DEFAULT_CONNECTION_LIMITS.headersTimeoutMs, requestTimeoutMs) }),
    ...(keepAliveTimeoutMs === undefined ? {} : { keepAliveTimeoutMs }),
  };
}

export default class ServerStart extends AscendCommand<ServerStartResult> {
  static override summary = 'Run the data-collection server (port 8003) until SIGINT or SIGTERM.';
  static override description =
    'Listens for agents (enrollment, events) and admins (API tokens, reports). Storage is SQLite in --data (collector.db) ' +
    'unless --database names a PostgreSQL URL. On the first start an admin API token is written to DATA/bootstrap-admin-token (mode 0600). ' +
    'It always serves HTTPS: on the first start it creates a certificate authority in DATA/tls/ (ca.pem; its key ca.key, mode 0600) and a ' +
    'server certificate it signed for localhost, 127.0.0.1, ::1, this host name, a specific --host and every --tls-name; the certificate is ' +
    'issued anew at a start when a name is missing or it expires within 30 days, the CA is kept (agents pin its fingerprint, which ' +
    'enrollment tokens carry). --tls-cert/--tls-key serve your own certificate instead (--tls-ca: the CA that issued it). ' +
    '--insecure-http serves plain HTTP (development only). --port 0 picks a free port (printed).';
  static override examples = [
    '<%= config.bin %> server start',
    '<%= config.bin %> server start --host 0.0.0.0 --tls-name collector.corp.example',
    '<%= config.bin %> server start --host 0.0.0.0 --tls-cert collector.crt --tls-key collector.key --tls-ca corp-ca.pem',
    '<%= config.bin %> server start --database postgres://ascend@db.corp.example/ascend --data /var/lib/ascend',
    '<%= config.bin %> server start --host 0.0.0.0 --tls-cert c.crt --tls-key c.key --ad-url ldaps://dc1.corp.example --ad-ca-file corp-ca.pem --ad-approver-group "Ascend Approvers" --ad-viewer-group "Helpdesk"',
  ];
  static override flags = {
    host: Flags.string({ description: 'address to listen on', default: '127.0.0.1' }),
    port: Flags.integer({ description: 'TCP port (0 = any free port)', default: 8003, min: 0, max: 65535 }),
    data: Flags.string({ description: 'data folder (SQLite database, bootstrap token)', default: './ascend-data' }),
    database: Flags.string({ description: 'PostgreSQL URL (postgres://...) instead of the embedded SQLite; also ASCEND_DATABASE_URL (keeps a password off the command line)', env: 'ASCEND_DATABASE_URL' }),
    'tls-name': Flags.string({ description: 'another DNS name or IP address agents reach the collector by, for its generated certificate (repeatable)', multiple: true }),
    'tls-cert': Flags.string({ description: 'your own PEM certificate (chain) for HTTPS instead of the generated one', dependsOn: ['tls-key'] }),
    'tls-key': Flags.string({ description: 'the PEM private key of --tls-cert (mode 600)', dependsOn: ['tls-cert'] }),
    'tls-ca': Flags.string({ description: 'PEM certificate of the CA that issued --tls-cert (agents pin it); default: the self-signed end of the --tls-cert chain', dependsOn: ['tls-cert'] }),
    'insecure-http': Flags.boolean({ description: 'serve plain HTTP without TLS (development only: agents and admins cannot tell an impostor)', default: false }),
    'rate-limit': Flags.string({
      description: `requests a minute per credential (default ${DEFAULT_RATE_LIMIT}), or "off"; also ASCEND_RATE_LIMIT`,
    }),
    'max-connections': Flags.integer({
      description: `connections held at once (default ${DEFAULT_CONNECTION_LIMITS.maxConnections}, lowered to fit the open-file limit); past it a new one closes the oldest unauthenticated idle one`,
      min: 1,
      max: 1_000_000,
    }),
    'max-connections-per-address': Flags.integer({
      description: `unauthenticated connections per client address, IPv6 per /64 (default ${DEFAULT_CONNECTION_LIMITS.maxPerAddress}); connections an agent or admin authenticated on do not count`,
      min: 1,
      max: 1_000_000,
    }),
    'request-timeout': Flags.string({ description: `a request, head and body, must arrive within this (default ${DEFAULT_CONNECTION_LIMITS.requestTimeoutMs / 1000}s); the answer, a long-poll's included, may take longer` }),
    'keep-alive-timeout': Flags.string({ description: `an idle keep-alive connection closes after this (default ${DEFAULT_CONNECTION_LIMITS.keepAliveTimeoutMs / 1000}s)` }),
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
    syslog: Flags.string({
      description: 'forward every event to a SIEM as syslog (RFC 5424, octet-counted) over TCP: tcp://HOST:PORT, or TLS: tls://HOST:PORT',
      helpGroup: 'SIEM FEED',
    }),
    'syslog-format': Flags.string({ description: 'the message: JSON, or ArcSight CEF (default json)', options: [...SIEM_FORMATS], dependsOn: ['syslog'], helpGroup: 'SIEM FEED' }),
    'syslog-max-size': Flags.integer({
      description: `the longest message the receiver takes, in bytes (default ${DEFAULT_MAX_MESSAGE_BYTES}, rsyslog's default); a longer event is sent with its text fields shortened`,
      dependsOn: ['syslog'],
      helpGroup: 'SIEM FEED',
    }),
    'syslog-off': Flags.boolean({
      description: 'turn the SIEM feed off for every collector sharing the database (--syslog turns it on for all of them); what is queued stays until a collector with --syslog sends it',
      default: false,
      exclusive: ['syslog'],
      helpGroup: 'SIEM FEED',
    }),
    'syslog-ca': Flags.string({ description: 'PEM CA bundle the tls:// receiver certificate must chain to (default: the system CAs)', dependsOn: ['syslog'], helpGroup: 'SIEM FEED' }),
    'log-format': Flags.string({
      description: 'human lines, or JSON lines (pino records, the start-up lines too); default: human when stderr is a terminal, else JSON (also under systemd)',
      options: [...LOG_FORMATS],
    }),
  };

  async run(): Promise<ServerStartResult> {
    const { flags } = await this.parse(ServerStart);
    const out = serverOutput(chooseLogFormat(flags['log-format'], processLogFacts()), { stdout: process.stdout, stderr: process.stderr }, this.jsonEnabled());
    const tls = !flags['insecure-http'];
    if (!tls && (flags['tls-cert'] !== undefined || flags['tls-name'] !== undefined)) {
      throw new AscendError('ASC_USAGE', '--insecure-http serves plain HTTP: it goes with no --tls-cert, --tls-key, --tls-ca or --tls-name');
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
    const connections = connectionFlags(flags);
    let signIn: AdSignIn | undefined;
    if (flags['ad-url'] !== undefined && !tls && !isLoopback(flags.host)) {
      // Sign-in carries domain passwords: never over plain HTTP across the network.
      throw new AscendError('ASC_COLLECTOR_INSECURE_REFUSED', `refusing Active Directory sign-in on ${flags.host} without TLS: passwords would cross the network in clear`, {
        hint: 'leave out --insecure-http: the collector serves HTTPS by default',
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
        onWarning: (m) => out.warn(m),
      });
    } else if (flags['ad-admin-group'] ?? flags['ad-approver-group'] ?? flags['ad-viewer-group'] ?? flags['ad-domain']) {
      throw new AscendError('ASC_USAGE', 'the --ad-* group and domain options need --ad-url');
    }
    const syslog = flags.syslog === undefined ? undefined : parseSyslogTarget(flags.syslog, { format: flags['syslog-format'], caFile: flags['syslog-ca'], maxBytes: flags['syslog-max-size'] });
    const dataDir = resolve(flags.data);
    // The identity first: a key file that is refused stops the start before anything is opened.
    const identity = tls
      ? await loadOrCreateIdentity(dataDir, {
          host: flags.host,
          names: flags['tls-name'] ?? [],
          ...(flags['tls-cert'] === undefined ? {} : { tlsCert: flags['tls-cert'] }),
          ...(flags['tls-key'] === undefined ? {} : { tlsKey: flags['tls-key'] }),
          ...(flags['tls-ca'] === undefined ? {} : { tlsCa: flags['tls-ca'] }),
        })
      : undefined;
    const grantKey = identity?.grantKey ?? (await loadOrCreateGrantKey(dataDir)).key;
    if (!tls) {
      out.warn(
        `serving plain HTTP on ${flags.host} (--insecure-http), for development only: agents and admins cannot tell this collector from an impostor, and credentials and events cross ${isLoopback(flags.host) ? 'the machine' : 'the network'} unencrypted`,
      );
    }
    const store: CollectorStore = flags.database ? await PostgresStore.open(flags.database) : await SqliteStore.open(dataDir);
    let bootstrap;
    try {
      bootstrap = await ensureBootstrapToken(store, dataDir);
    } catch (e) {
      await store.close();
      throw e;
    }
    let siem: SiemForwarder | undefined;
    if (syslog !== undefined) {
      // The switch is in the database: every collector sharing it queues events for the feed from now on.
      await store.enableSiemQueue();
      siem = new SiemForwarder({ target: syslog, queue: store, version: this.config.version, onError: (m) => out.warn(m) });
    } else if (flags['syslog-off']) {
      await store.disableSiemQueue();
      out.say('The SIEM feed is off for every collector sharing this database');
    } else if ((await store.siemEnabledAt()) !== null) {
      out.warn('the SIEM feed is on in this database: this collector queues the events it receives, and a collector started with --syslog forwards them (--syslog-off turns it off)');
    }
    const app = buildServer({
      store,
      logger: { level: process.env.ASCEND_LOG_LEVEL ?? 'info', stream: out.logStream },
      rateLimit,
      settings: { approvalTtlMs, sessionTtlMs, signIn },
      connections,
      ...(identity ? { https: identity.https } : {}),
      identity: { anchor: identity?.anchor ?? null, grantKey },
    });
    try {
      await app.listen({ host: flags.host, port: flags.port });
    } catch (e) {
      await app.close();
      throw new AscendError('ASC_USAGE', `cannot listen on ${flags.host}:${flags.port}: ${(e as Error).message}`);
    }
    // The handlers are in place before the line that says how to stop: a SIGTERM sent the moment
    // that line is read must stop the collector cleanly, not find the default action (death by signal).
    const stopSignal = new Promise<string>((done) => {
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
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : flags.port;
    const hostForUrl = isIP(flags.host) === 6 ? `[${flags.host}]` : flags.host;
    const url = `${tls ? 'https' : 'http'}://${hostForUrl}:${port}`;
    out.say(`Ascend collector listening on ${url} (storage: ${store.kind})`, { url, port, storage: store.kind });
    const fingerprint = identity ? showPin(identity.pin) : null;
    if (identity) {
      if (identity.made.ca) out.say('Created a certificate authority for this collector.');
      else if (identity.made.serverCert) out.say('Issued a new server certificate (the certificate authority is kept)');
      out.say(`Certificate authority: ${identity.caFile}`, { caFile: identity.caFile });
      out.say(`Fingerprint: ${fingerprint}`, { fingerprint });
      out.say('Enrollment tokens carry this fingerprint: agents pin the collector with it. Admin commands: --ca-file ' + identity.caFile);
    }
    if (bootstrap.created) out.say(`Bootstrap admin token written to ${bootstrap.file} (mode 0600)`, { bootstrapTokenFile: bootstrap.file });
    else out.say(`Bootstrap admin token: ${bootstrap.file}${bootstrap.exists ? '' : ' (deleted; API tokens exist already)'}`, { bootstrapTokenFile: bootstrap.file });
    if (siem !== undefined && syslog !== undefined) {
      siem.start();
      if (!syslog.tls && !isLoopback(syslog.host)) {
        out.warn(`the SIEM feed to ${syslog.host} is plain TCP: user names, command lines and justifications cross the network unencrypted (use tls://)`);
      }
      out.say(`Forwarding events to ${syslog.tls ? 'tls' : 'tcp'}://${syslog.host}:${syslog.port} (${syslog.format})`, { syslog: `${syslog.host}:${syslog.port}`, syslogFormat: syslog.format });
    }
    out.say('Stop with Ctrl+C (SIGINT) or SIGTERM.');

    const stoppedBy = await stopSignal;
    app.log.info({ signal: stoppedBy }, 'shutting down: no new connections, draining requests, closing storage');
    await siem?.stop(); // the batch in hand is sent and recorded before the store closes
    await app.close(); // stops accepting, waits for in-flight requests, then closes the store (onClose)
    out.say(`Stopped (${stoppedBy}).`, { signal: stoppedBy });
    return { url, port, storage: store.kind, bootstrapTokenFile: bootstrap.file, caFile: identity?.caFile ?? null, fingerprint, stoppedBy };
  }
}
