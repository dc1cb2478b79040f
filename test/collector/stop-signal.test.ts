/**
 * A SIGTERM sent the moment `ascend server start` says how to stop it stops the collector
 * cleanly (exit 0, "Stopped (SIGTERM)."), even when the process is preempted right after that
 * line: the handlers are in place before it is written. A preload
 * (test/support/pause-after-line.mjs) blocks the process for 1.5 s after the line, which is
 * the scheduler's worst moment made certain. The same for `ascend agent run` and its
 * "agent listening" line: a SIGTERM then stops it through its own stop (exit 0), not by death.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { ASCEND_CATALOG, requirePolicy } from '../../src/catalog/index.js';
import { writeRegistryPol } from '../../src/formats/registry-pol/index.js';
import { encodePolicyState } from '../../src/policy/index.js';
import { requireComponent } from '../support/components.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RUN = join(ROOT, 'bin', 'run.js');
const PAUSE = pathToFileURL(join(ROOT, 'test', 'support', 'pause-after-line.mjs')).href;

describe('server start: a SIGTERM right after "Stop with Ctrl+C" stops it cleanly', function () {
  this.timeout(120_000);
  let data: string;
  before(() => {
    data = mkdtempSync(join(tmpdir(), 'ascend-stopsig-'));
  });
  after(() => rmSync(data, { recursive: true, force: true }));

  it('exits 0 and says it stopped, though preempted just after the line', async () => {
    const proc = spawn(process.execPath, ['--import', PAUSE, RUN, 'server', 'start', '--port', '0', '--data', data, '--log-format', 'human'], {
      cwd: ROOT,
      env: { ...process.env, ASCEND_TEST_PAUSE_AFTER: 'Stop with Ctrl+C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => proc.on('exit', (code, signal) => done({ code, signal })));
    proc.stdout.on('data', (b: Buffer) => {
      const before = stdout;
      stdout += b.toString();
      if (!before.includes('Stop with Ctrl+C') && stdout.includes('Stop with Ctrl+C')) proc.kill('SIGTERM');
    });
    const end = await exited;
    expect(end, `stdout: ${stdout}\nstderr: ${stderr}`).to.deep.equal({ code: 0, signal: null });
    expect(stdout).to.include('Stopped (SIGTERM).');
  });
});

describe('agent run: a SIGTERM right after "agent listening" stops it cleanly (root)', function () {
  this.timeout(120_000);
  let tmp: string;
  before(function () {
    requireComponent(this, process.getuid?.() === 0, 'root (the agent runs as root)', 'run the tests as root');
    tmp = mkdtempSync(join(tmpdir(), 'ascend-stopsig-agent-'));
    const rules = [{ name: 'r1', value: JSON.stringify({ action: 'allow', match: { path: '/usr/bin/true' } }) }];
    writeFileSync(join(tmp, 'Registry.pol'), writeRegistryPol(encodePolicyState(requirePolicy(ASCEND_CATALOG, 'ElevationRules'), 'enabled', { Rules: rules })));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('exits 0 through its own stop, though preempted just after the line', async () => {
    const args = ['--import', PAUSE, RUN, 'agent', 'run', '--state-dir', join(tmp, 'state'), '--socket', join(tmp, 'agent.sock'), '--policy', join(tmp, 'Registry.pol'), '--computer', 'STOPSIG-PC'];
    const proc = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ASCEND_TEST_PAUSE_AFTER: 'agent listening' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => proc.on('exit', (code, signal) => done({ code, signal })));
    const onData = (b: Buffer) => {
      const before = log;
      log += b.toString();
      if (!before.includes('agent listening') && log.includes('agent listening')) proc.kill('SIGTERM');
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    const end = await exited;
    expect(end, log).to.deep.equal({ code: 0, signal: null });
    expect(log).to.include('SIGTERM: stopping');
  });
});
