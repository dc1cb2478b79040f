import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { Flags } from '@oclif/core';
import { AscendError } from '../../../errors.js';
import { AscendCommand } from '../../base-command.js';
import { buildServer, ensureBootstrapToken } from '../../../collector/server/index.js';
import { type CollectorStore, PostgresStore, SqliteStore } from '../../../collector/storage/index.js';

export interface ServerStartResult {
  url: string;
  port: number;
  storage: 'sqlite' | 'postgres';
  bootstrapTokenFile: string;
  stoppedBy: string;
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h.startsWith('::ffff:127.');
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
  ];
  static override flags = {
    host: Flags.string({ description: 'address to listen on', default: '127.0.0.1' }),
    port: Flags.integer({ description: 'TCP port (0 = any free port)', default: 8003, min: 0, max: 65535 }),
    data: Flags.string({ description: 'data folder (SQLite database, bootstrap token)', default: './ascend-data' }),
    database: Flags.string({ description: 'PostgreSQL URL (postgres://...) instead of the embedded SQLite' }),
    'tls-cert': Flags.string({ description: 'PEM certificate file for HTTPS', dependsOn: ['tls-key'] }),
    'tls-key': Flags.string({ description: 'PEM private key file for HTTPS', dependsOn: ['tls-cert'] }),
    'insecure-http': Flags.boolean({ description: 'allow plain HTTP on a non-loopback address (not recommended)', default: false }),
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
    const dataDir = resolve(flags.data);
    const store: CollectorStore = flags.database ? await PostgresStore.open(flags.database) : await SqliteStore.open(dataDir);
    let bootstrap;
    try {
      bootstrap = await ensureBootstrapToken(store, dataDir);
    } catch (e) {
      await store.close();
      throw e;
    }
    const app = buildServer({ store, logger: { level: process.env.ASCEND_LOG_LEVEL ?? 'info', stream: process.stderr }, ...(https ? { https } : {}) });
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
