/**
 * Issue 16, deliver 4: what keeps the daemon's resident memory small on Node 24.
 * - The daemon replaces itself once with --v8-pool-size=1 (agent/daemon/main.ts): the same
 *   pid, the same command line after the option, one V8 worker thread.
 * - An admin's own --v8-pool-size is kept (no second option, no re-exec).
 * - The native addon has releaseMemory (native/peercred.c: malloc_trim), which the daemon calls after a policy is applied.
 * - The collector transport does not pull in Node's bundled undici (an ES import of node:http
 *   would: its lazy WebSocket getters are read).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { requireComponent } from '../support/components.js';
import { bin, requireBuiltCli, root } from '../passcode-cli/support.js';
import { ASCEND_CATALOG, requirePolicy } from '../../src/catalog/index.js';
import { encodePolicyState } from '../../src/policy/index.js';
import { writeRegistryPol } from '../../src/formats/registry-pol/index.js';
import { ipcCall } from '../../agent/ipc/index.js';

const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);

describe('daemon memory: the settings that keep the agent small (issue 16)', function () {
  this.timeout(120_000);
  let tmp = '';
  const agents: ChildProcess[] = [];

  before(function () {
    requireComponent(this, process.getuid?.() === 0, 'root (the agent runs as root)', 'run the tests as root');
    requireComponent(this, process.platform === 'linux', 'Linux (/proc, process.execve)', 'run the tests on Linux');
    requireBuiltCli();
    tmp = mkdtempSync(path.join(tmpdir(), 'h16r-mem-'));
    const rules = [{ name: 'r1', value: JSON.stringify({ action: 'allow', match: { path: '/usr/bin/true' } }) }];
    writeFileSync(path.join(tmp, 'Registry.pol'), writeRegistryPol(encodePolicyState(requirePolicy(ASCEND_CATALOG, 'ElevationRules'), 'enabled', { Rules: rules })));
  });

  after(async () => {
    for (const a of agents) {
      if (a.exitCode === null && a.signalCode === null) {
        a.kill('SIGTERM');
        await new Promise((r) => a.once('exit', r));
      }
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function startAgent(name: string, nodeArgs: string[]): Promise<{ agent: ChildProcess; socket: string; log: () => string }> {
    const socket = path.join(tmp, `${name}.sock`);
    const agent = spawn(process.execPath, [...nodeArgs, bin, 'agent', 'run', '--state-dir', path.join(tmp, `${name}-state`), '--socket', socket, '--policy', path.join(tmp, 'Registry.pol'), '--computer', 'H16R-PC'], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    agents.push(agent);
    let log = '';
    agent.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    for (let i = 0; i < 600 && !/agent listening/.test(log) && agent.exitCode === null; i++) await sleep(100);
    expect(log).to.match(/agent listening/);
    return { agent, socket, log: () => log };
  }

  async function stop(agent: ChildProcess, log: () => string): Promise<void> {
    agent.kill('SIGTERM');
    await new Promise((r) => agent.once('exit', r));
    expect(log()).to.match(/SIGTERM: stopping/);
  }

  it('replaces itself once with --v8-pool-size=1: the same pid, the same command line after it', async () => {
    const { agent, socket, log } = await startAgent('one', []);
    const pid = agent.pid as number;
    const args = cmdline(pid);
    expect(args.slice(1, 2)).to.deep.equal(['--v8-pool-size=1']);
    expect(args.slice(2)).to.deep.equal([bin, 'agent', 'run', '--state-dir', path.join(tmp, 'one-state'), '--socket', socket, '--policy', path.join(tmp, 'Registry.pol'), '--computer', 'H16R-PC']);
    const status = (await ipcCall(socket, { op: 'status' } as never, {})) as { computer: string };
    expect(status.computer).to.equal('H16R-PC');
    await stop(agent, log);
  });

  it("keeps an admin's own --v8-pool-size and does not add a second", async () => {
    const { agent, log } = await startAgent('own', ['--v8-pool-size=2']);
    const args = cmdline(agent.pid as number);
    expect(args.filter((a) => a.startsWith('--v8-pool-size'))).to.deep.equal(['--v8-pool-size=2']);
    await stop(agent, log);
  });

  it("the addon gives malloc's free memory back (releaseMemory: malloc_trim)", () => {
    const addon = createRequire(import.meta.url)(path.join(root, 'build', 'native', 'peercred.node')) as { releaseMemory?: () => number };
    expect(addon.releaseMemory, 'releaseMemory (npm run build:native)').to.be.a('function');
    expect(addon.releaseMemory?.()).to.be.oneOf([0, 1]);
  });

  it("the collector transport loads without Node's bundled undici", () => {
    const transport = pathToFileURL(path.join(root, 'dist', 'src', 'collector-api', 'transport.js')).href;
    const r = spawnSync(process.execPath, ['-e', `import(${JSON.stringify(transport)}).then(() => console.log(process.moduleLoadList.filter((m) => m.includes('undici')).length))`], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal('0');
    expect(readdirSync(path.join(root, 'dist', 'src', 'collector-api'))).to.include('transport.js');
  });
});
