/**
 * H18f (review L1), the built CLI: a collector started without --syslog on a database whose
 * SIEM feed is on says so and queues what it receives; `--syslog-off` turns the feed off for
 * the database. (Needs `npm run build`.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { SqliteStore } from '../../src/collector/storage/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RUN = join(ROOT, 'bin', 'run.js');

interface Collector {
  proc: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
}

function startCollector(data: string, args: string[]): Promise<Collector> {
  const proc = spawn(process.execPath, [RUN, 'server', 'start', '--port', '0', '--data', data, '--insecure-http', '--log-format', 'human', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
  proc.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`no URL in 60 s: ${stdout} ${stderr}`)), 60_000);
    proc.stdout?.on('data', () => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (m?.[1] && stdout.includes('Stop with')) {
        clearTimeout(timer);
        done({ proc, url: m[1], stdout: () => stdout, stderr: () => stderr });
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`collector exited ${code}: ${stderr}`));
    });
  });
}

async function stopCollector(c: Collector): Promise<void> {
  if (c.proc.exitCode !== null) return;
  const exited = new Promise<void>((done) => c.proc.once('exit', () => done()));
  c.proc.kill('SIGTERM');
  await exited;
}

describe('h18f ascend server start: the SIEM feed switch (built CLI)', function () {
  this.timeout(120_000);
  let dir: string;
  let collector: Collector | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ascend-h18f-'));
  });
  after(async () => {
    if (collector) await stopCollector(collector);
    rmSync(dir, { recursive: true, force: true });
  });

  it('without --syslog on a database whose feed is on: warns and queues; --syslog-off turns it off', async () => {
    const data = join(dir, 'data');
    const setup = await SqliteStore.open(data);
    const { token } = await setup.createEnrollmentToken({});
    // Another collector, started with --syslog, turned the feed on for the database.
    await setup.enableSiemQueue();
    await setup.close();

    collector = await startCollector(data, []);
    expect(collector.stderr()).to.match(/the SIEM feed is on in this database: this collector queues the events it receives/);
    const enrolled = await fetch(`${collector.url}/api/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ enrollmentToken: token, computer: 'h18f-ws' }) });
    expect(enrolled.status).to.equal(201);
    const { credential } = (await enrolled.json()) as { credential: string };
    const post = async (url: string, id: string) => {
      const r = await fetch(`${url}/api/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${credential}` }, body: JSON.stringify({ events: [{ id, type: 'mfa', time: Date.now(), user: 'bob' }] }) });
      expect(r.status, await r.text()).to.equal(200);
    };
    await post(collector.url, 'e-1');
    await stopCollector(collector);
    let look = await SqliteStore.open(data);
    expect(await look.siemQueued(), 'queued by a collector started without --syslog').to.equal(1);
    await look.close();

    collector = await startCollector(data, ['--syslog-off']);
    expect(collector.stdout()).to.include('The SIEM feed is off for every collector sharing this database');
    await post(collector.url, 'e-2');
    await stopCollector(collector);
    collector = undefined;
    look = await SqliteStore.open(data);
    expect(await look.siemEnabledAt()).to.equal(null);
    expect(await look.siemQueued(), 'nothing more queued once the feed is off; the queued one stays').to.equal(1);
    await look.close();
  });
});
