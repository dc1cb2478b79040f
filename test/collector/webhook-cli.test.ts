/**
 * `ascend server webhook add|list|test|deliveries|remove` (issue 18), the BUILT CLI (npm run
 * build first) against a real collector and a receiver on loopback: the secret goes to a
 * 0600 file (never argv), the test event arrives signed with it, a viewer is refused in one line.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { SIGNATURE_HEADER, verifyWebhookSignature } from '../../src/collector-api/webhooks.js';
import { SqliteStore } from '../../src/collector/storage/index.js';
import { testTls } from '../support/tls.js';
import { type Collector, newGrantKey, Receiver, startCollector } from './webhook-support.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RUN = join(ROOT, 'bin', 'run.js');
let caFile = '';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function ascend(args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
  delete env.ASCEND_TOKEN_FILE;
  env.ASCEND_CA_FILE = caFile;
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [RUN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', fail);
    child.on('close', (status) => {
      clearTimeout(timer);
      done({ status, stdout, stderr });
    });
  });
}

describe('h18a ascend server webhook (built CLI against a real collector)', function () {
  this.timeout(120_000);
  let dir: string;
  let c: Collector;
  const rx = new Receiver();
  let adminFile: string;
  let viewerFile: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ascend-h18a-cli-'));
    const tls = await testTls(join(dir, 'data'));
    caFile = tls.caFile;
    c = await startCollector(await SqliteStore.open(join(dir, 'data')), newGrantKey(), undefined, undefined, tls.serverOptions);
    await rx.start();
    adminFile = join(dir, 'admin-token');
    viewerFile = join(dir, 'viewer-token');
    writeFileSync(adminFile, `${c.admin}\n`, { mode: 0o600 });
    writeFileSync(viewerFile, `${c.viewer}\n`, { mode: 0o600 });
  });
  after(async () => {
    await c?.app.close();
    await rx.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const as = (file: string, ...args: string[]) => [...args, '--server', c.base, '--token-file', file];

  it('adds with the secret in a new 0600 file, lists, tests (signed with that secret), shows deliveries, removes', async () => {
    const secretFile = join(dir, 'hook-secret');
    const urlFile = join(dir, 'hook-url');
    writeFileSync(urlFile, `${rx.url('/services/T1/B2/tok3n')}\n`, { mode: 0o600 });
    const add = await ascend(as(adminFile, 'server', 'webhook', 'add', '--name', 'cli hook', '--url-file', urlFile, '--event', 'approval.requested', '--event', 'approval.decided', '--secret-out', secretFile, '--json'));
    expect(add.status, add.stderr).to.equal(0);
    const added = JSON.parse(add.stdout) as { webhook: { id: string; url: string; events: string[] }; secret?: string; file: string };
    expect(added.secret).to.equal(undefined);
    expect(added.webhook.url).to.equal(`http://127.0.0.1:${rx.port}/services/…`);
    expect(added.webhook.events).to.deep.equal(['approval.requested', 'approval.decided']);
    expect(statSync(secretFile).mode & 0o777).to.equal(0o600);
    const secret = readFileSync(secretFile, 'utf8').trim();
    expect(secret).to.match(/^whsec_/);

    const list = await ascend(as(adminFile, 'server', 'webhook', 'list'));
    expect(list.status, list.stderr).to.equal(0);
    expect(list.stdout).to.include(added.webhook.id).and.include('cli hook').and.not.include('tok3n').and.not.include(secret);

    const test = await ascend(as(adminFile, 'server', 'webhook', 'test', added.webhook.id));
    expect(test.status, test.stderr + test.stdout).to.equal(0);
    expect(test.stdout).to.match(/^Delivered test [0-9a-f-]{36}\./);
    const got = rx.got.find((r) => r.url === '/services/T1/B2/tok3n');
    expect(got, 'the test delivery').to.not.equal(undefined);
    expect(JSON.parse(got?.body ?? '{}')).to.include({ type: 'webhook.test' });
    expect(verifyWebhookSignature(secret, got?.headers[SIGNATURE_HEADER] as string, got?.body ?? '')).to.equal(true);

    const deliveries = await ascend(as(adminFile, 'server', 'webhook', 'deliveries', '--status', 'delivered', '--json'));
    expect(deliveries.status, deliveries.stderr).to.equal(0);
    expect((JSON.parse(deliveries.stdout) as { deliveries: { event: string }[] }).deliveries.map((d) => d.event)).to.deep.equal(['webhook.test']);

    const rm = await ascend(as(adminFile, 'server', 'webhook', 'remove', added.webhook.id));
    expect(rm.status, rm.stderr).to.equal(0);
    const again = await ascend(as(adminFile, 'server', 'webhook', 'remove', added.webhook.id));
    expect(again.status).to.equal(1);
    expect(again.stderr.trimEnd().split('\n')).to.have.length(1);
  });

  it('a failed test says why in one line and exits non-zero', async () => {
    rx.behaviour = () => 500;
    const add = await ascend(as(adminFile, 'server', 'webhook', 'add', '--name', 'failing', '--url', rx.url('/fail'), '--event', 'all', '--secret-out', join(dir, 's2'), '--json'));
    expect(add.status, add.stderr).to.equal(0);
    const id = (JSON.parse(add.stdout) as { webhook: { id: string } }).webhook.id;
    const test = await ascend(as(adminFile, 'server', 'webhook', 'test', id));
    expect(test.status).to.equal(1);
    const lines = test.stderr.trimEnd().split('\n');
    expect(lines[0]).to.match(/^Error: test delivery [0-9a-f-]{36} failed: the receiver answered 500/);
    expect(test.stderr).to.not.match(/\n\s+at /);
    rx.behaviour = () => 200;
  });

  it('refuses a viewer token in one line, and an http URL off loopback', async () => {
    const r = await ascend(as(viewerFile, 'server', 'webhook', 'list'));
    expect(r.status).to.equal(1);
    expect(r.stderr).to.match(/^Error: .*admin/);
    expect(r.stderr).to.not.match(/\n\s+at /);
    const bad = await ascend(as(adminFile, 'server', 'webhook', 'add', '--name', 'x', '--url', 'http://example.com/x', '--event', 'all'));
    expect(bad.status).to.equal(1);
    expect(bad.stderr).to.match(/^Error: .*plain http is allowed to loopback only/);
  });
});
