/**
 * `ascend server start --syslog ... --syslog-format cef` (the built CLI) forwarding a real
 * agent API's events to a real rsyslog, stopped with SIGTERM in the middle of a backlog and
 * started again: rsyslog has every event once.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { EVENT_IDS } from '../../src/collector-api/event-ids.js';
import { EVENT_TYPES, type EventType } from '../../src/collector-api/events.js';
import { SqliteStore } from '../../src/collector/storage/index.js';
import { parseCef, pollUntil, TestRsyslog } from '../support/rsyslog.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RUN = join(ROOT, 'bin', 'run.js');

interface Collector {
  proc: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
}

function startCollector(data: string, args: string[]): Promise<Collector> {
  const proc = spawn(process.execPath, [RUN, 'server', 'start', '--port', '0', '--data', data, '--insecure-http', '--log-format', 'human', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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

async function stopCollector(c: Collector): Promise<number | null> {
  if (c.proc.exitCode !== null) return c.proc.exitCode;
  const exited = new Promise<number | null>((done) => c.proc.once('exit', (code) => done(code)));
  c.proc.kill('SIGTERM');
  return exited;
}

describe('ascend server start --syslog (built CLI) to a real rsyslog', function () {
  this.timeout(180_000);
  let dir: string;
  let rsyslog: TestRsyslog;
  let collector: Collector | undefined;

  before(async function () {
    if (!existsSync(join(ROOT, 'dist', 'src', 'collector', 'siem', 'forwarder.js'))) throw new Error('the CLI is not built: run "npm run build"');
    dir = mkdtempSync(join(tmpdir(), 'h18b-siem-cli-'));
    rsyslog = await TestRsyslog.create(this);
  });

  after(async () => {
    if (collector) await stopCollector(collector);
    await rsyslog?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a bad --syslog in one line before it starts', () => {
    const r = spawnSync(process.execPath, [RUN, 'server', 'start', '--port', '0', '--data', join(dir, 'bad'), '--insecure-http', '--syslog', 'udp://127.0.0.1:514'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).to.not.equal(0);
    expect(r.stderr.trim().split('\n')).to.have.length(1);
    expect(r.stderr).to.match(/--syslog must be tcp:\/\/HOST:PORT or tls:\/\/HOST:PORT/);
    expect(r.stderr).to.not.match(/\n\s+at /);
  });

  it('forwards in CEF across a receiver outage and a SIGTERM restart with a backlog: every event once', async () => {
    const data = join(dir, 'data');
    const setup = await SqliteStore.open(data);
    const { token } = await setup.createEnrollmentToken({});
    await setup.close();
    const flags = ['--syslog', `tcp://127.0.0.1:${rsyslog.port}`, '--syslog-format', 'cef'];
    collector = await startCollector(data, flags);
    expect(collector.stdout()).to.include(`Forwarding events to tcp://127.0.0.1:${rsyslog.port} (cef)`);
    const enrolled = await fetch(`${collector.url}/api/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ enrollmentToken: token, computer: 'WS-CLI' }) });
    expect(enrolled.status).to.equal(201);
    const { credential } = (await enrolled.json()) as { credential: string };
    const post = async (url: string, ids: string[]) => {
      const events = ids.map((id, i) => ({ id, type: EVENT_TYPES[i % EVENT_TYPES.length], time: Date.now(), user: 'CORP\\eve', args: `a|b=c\\d\ncs1=evil ${id}` }));
      const r = await fetch(`${url}/api/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${credential}` }, body: JSON.stringify({ events }) });
      expect(r.status, await r.text()).to.equal(200);
    };
    const all: string[] = [];
    const batch = async (b: number) => {
      const ids = Array.from({ length: 50 }, (_, i) => `e${b}-${i}`);
      all.push(...ids);
      await post(collector?.url as string, ids);
    };
    for (let b = 0; b < 3; b++) await batch(b);
    await pollUntil('the first 150 in rsyslog', () => (rsyslog.lines().length >= 150 ? true : undefined), 120_000);
    // The receiver goes down; 150 more wait in the queue when the collector is stopped.
    await rsyslog.stop();
    for (let b = 3; b < 6; b++) await batch(b);
    expect(await stopCollector(collector)).to.equal(0);
    const between = await SqliteStore.open(data);
    expect(await between.siemQueued(), 'a backlog across the restart').to.equal(150);
    await between.close();
    await rsyslog.start();
    collector = await startCollector(data, flags);
    const more = Array.from({ length: 20 }, (_, i) => `f-${i}`);
    all.push(...more);
    await post(collector.url, more);
    await pollUntil(`rsyslog wrote ${all.length} lines`, () => (rsyslog.lines().length >= all.length ? true : undefined), 120_000);
    expect(await stopCollector(collector)).to.equal(0);
    collector = undefined;
    await rsyslog.stop();
    const seen = rsyslog.lines().map((l) => {
      const { header, ext } = parseCef(l.msg);
      expect(ext.dvchost).to.equal('WS-CLI');
      expect(ext.cs3).to.equal(`a|b=c\\d\ncs1=evil ${ext.externalId}`);
      expect(Number(header[4])).to.equal(EVENT_IDS[ext.cat as EventType].id);
      return String(ext.externalId);
    });
    expect(new Set(seen).size, 'no duplicates').to.equal(seen.length);
    expect([...seen].sort()).to.deep.equal([...all].sort());
  });
});
