/**
 * The SIEM feed over TLS to a real rsyslog (imtcp with the gtls driver): delivered when the
 * receiver's certificate chains to --syslog-ca, and nothing sent (the events stay queued) when
 * it does not.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadOrCreateIdentity } from '../../src/collector/server/identity.js';
import { SiemForwarder } from '../../src/collector/siem/forwarder.js';
import { parseSyslogTarget } from '../../src/collector/siem/target.js';
import { SqliteStore } from '../../src/collector/storage/index.js';
import { pollUntil, TestRsyslog } from '../support/rsyslog.js';

describe('SIEM feed over TLS to a real rsyslog', function () {
  this.timeout(120_000);
  let dir: string;
  let rsyslog: TestRsyslog;
  let store: SqliteStore;
  let agentId: string;

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'h18b-siem-tls-'));
    // A CA and a certificate for 127.0.0.1 (the collector's own generator) for rsyslog to serve.
    await loadOrCreateIdentity(join(dir, 'receiver'), { host: '127.0.0.1' });
    await loadOrCreateIdentity(join(dir, 'other'), { host: '127.0.0.1' });
    const tls = join(dir, 'receiver', 'tls');
    rsyslog = await TestRsyslog.create(this, { caFile: join(tls, 'ca.pem'), certFile: join(tls, 'server.pem'), keyFile: join(tls, 'server.key') });
    store = await SqliteStore.open(join(dir, 'data'));
    store.enableSiemQueue();
    const { token } = await store.createEnrollmentToken({});
    agentId = (await store.enrollAgent(token, 'WS-TLS')).agent.id;
  });

  after(async () => {
    await store?.close();
    await rsyslog?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const events = (prefix: string) => Array.from({ length: 5 }, (_, i) => ({ id: `${prefix}${i}`, type: 'process-elevated', time: Date.now(), user: 'bob', processPath: '/bin/true' }));

  it('sends nothing to a receiver whose certificate another CA signed', async () => {
    const errors: string[] = [];
    await store.insertEvents(agentId, events('x'));
    const f = new SiemForwarder({
      target: parseSyslogTarget(`tls://127.0.0.1:${rsyslog.port}`, { caFile: join(dir, 'other', 'tls', 'ca.pem') }),
      queue: store,
      version: 't',
      minBackoffMs: 50,
      maxBackoffMs: 200,
      onError: (m) => errors.push(m),
    });
    f.start();
    await pollUntil('a refused handshake', () => (errors.length >= 1 ? true : undefined));
    await f.stop();
    expect(errors[0]).to.match(/certificate/i);
    expect(await store.siemQueued()).to.equal(5);
  });

  it('delivers every event once when the certificate chains to --syslog-ca', async () => {
    await store.insertEvents(agentId, events('y'));
    const f = new SiemForwarder({ target: parseSyslogTarget(`tls://127.0.0.1:${rsyslog.port}`, { caFile: join(dir, 'receiver', 'tls', 'ca.pem') }), queue: store, version: 't', pollMs: 50 });
    f.start();
    await pollUntil('the queue drained', async () => ((await store.siemQueued()) === 0 ? true : undefined));
    await f.stop();
    await rsyslog.stop();
    const ids = rsyslog.lines().map((l) => (JSON.parse(l.msg) as { id: string }).id);
    expect(ids.sort()).to.deep.equal(['x0', 'x1', 'x2', 'x3', 'x4', 'y0', 'y1', 'y2', 'y3', 'y4']);
  });
});
