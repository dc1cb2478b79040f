/**
 * Issue 16, deliver 4: the daemon loads only what it needs. The built agent (`ascend agent
 * run`, as root) is started with an --import hook that records every module it loads (ES
 * modules through a load hook, CommonJS through Module._load); without --domain it must load
 * no LDAP client (ldapts), no GPO/SYSVOL code, no collector server (fastify), no oclif and no
 * command tree, and still answer. Lines the lean entry does not read go to oclif, which
 * answers them as before. The lean reader's flags are those of the oclif command.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { AGENT_RUN_FLAGS, readAgentRunLine } from '../../agent/daemon/run-line.js';
import AgentRun from '../../src/cli/commands/agent/run.js';

/** What a daemon without --domain must never load. */
const NOT_LOADED = [
  /node_modules\/ldapts\//,
  /node_modules\/fastify\//,
  /node_modules\/@fastify\//,
  /node_modules\/@oclif\//,
  /node_modules\/jose\//,
  /node_modules\/@napi-rs\/keyring\//,
  /node_modules\/better-sqlite3\//,
  /node_modules\/pg\//,
  /\/dist\/gpo-extension\//,
  /\/dist\/src\/directory\//,
  /\/dist\/src\/collector\/server\//,
  /\/dist\/src\/cli\/commands\//,
  /\/dist\/agent\/policy\/domain\.js/,
];

const HOOK = `import { appendFileSync } from 'node:fs';
let file;
export function initialize(data) { file = data.file; }
export async function load(url, context, next) { appendFileSync(file, url + '\\n'); return next(url, context); }
`;
const REGISTER = `import Module, { register } from 'node:module';
import { appendFileSync } from 'node:fs';
const file = process.env.H16D_LOADED;
register('./hook.mjs', import.meta.url, { data: { file } });
const load = Module._load;
Module._load = function (request, parent, isMain) {
  const loaded = load.apply(this, arguments);
  try { appendFileSync(file, 'cjs:' + Module._resolveFilename(request, parent, isMain) + '\\n'); } catch {}
  return loaded;
};
`;

describe('lean daemon: `agent run` loads only what it needs (issue 16)', function () {
  this.timeout(120_000);
  let tmp = '';
  let agent: ChildProcess | undefined;

  before(function () {
    requireComponent(this, process.getuid?.() === 0, 'root (the agent runs as root)', 'run the tests as root');
    requireBuiltCli();
    tmp = mkdtempSync(path.join(tmpdir(), 'h16d-lean-'));
    writeFileSync(path.join(tmp, 'hook.mjs'), HOOK);
    writeFileSync(path.join(tmp, 'register.mjs'), REGISTER);
    const rules = [{ name: 'r1', value: JSON.stringify({ action: 'allow', match: { path: '/usr/bin/true' } }) }];
    writeFileSync(path.join(tmp, 'Registry.pol'), writeRegistryPol(encodePolicyState(requirePolicy(ASCEND_CATALOG, 'ElevationRules'), 'enabled', { Rules: rules })));
  });

  after(async () => {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGTERM');
      await new Promise((r) => agent?.once('exit', r));
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('without --domain: answers status, and never loaded LDAP, GPO, collector server, oclif or the command tree', async () => {
    const loaded = path.join(tmp, 'loaded.txt');
    const socket = path.join(tmp, 'agent.sock');
    agent = spawn(
      process.execPath,
      ['--import', pathToFileURL(path.join(tmp, 'register.mjs')).href, bin, 'agent', 'run', '--state-dir', path.join(tmp, 'state'), '--socket', socket, '--policy', path.join(tmp, 'Registry.pol'), '--computer', 'H16D-PC'],
      { cwd: root, env: { ...process.env, H16D_LOADED: loaded }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    agent.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    for (let i = 0; i < 600 && !/agent listening/.test(log) && agent.exitCode === null; i++) await sleep(100);
    expect(log).to.match(/agent listening/);
    const status = (await ipcCall(socket, { op: 'status' } as never, {})) as { computer: string; rules: { count: number } };
    expect(status.computer).to.equal('H16D-PC');
    expect(status.rules.count).to.equal(1);
    const urls = readFileSync(loaded, 'utf8').split('\n').filter(Boolean);
    expect(urls.some((u) => u.includes('/dist/agent/daemon/agent.js')), 'the hook saw the agent load').to.equal(true);
    for (const pattern of NOT_LOADED) expect(urls.filter((u) => pattern.test(u)), String(pattern)).to.deep.equal([]);
    agent.kill('SIGTERM');
    await new Promise((r) => agent?.once('exit', r));
    expect(log).to.match(/SIGTERM: stopping/);
  });

  it('hands help and lines it does not read to oclif, which answers as before', () => {
    const help = spawnSync(process.execPath, [bin, 'agent', 'run', '--help'], { cwd: root, encoding: 'utf8' });
    expect(help.status).to.equal(0);
    expect(help.stdout).to.include('--windows-registry').and.include('--group-map');
    // No policy source: oclif's own refusal (the lean reader needs exactly one).
    const none = spawnSync(process.execPath, [bin, 'agent', 'run', '--state-dir', path.join(tmp, 'state2')], { cwd: root, encoding: 'utf8' });
    expect(none.status).to.equal(2);
    expect(none.stderr.trimEnd().split('\n')).to.have.length(1);
    expect(none.stderr).to.match(/policy/);
    // A mistake the shared code catches is reported in one line by the lean path too.
    const bad = spawnSync(process.execPath, [bin, 'agent', 'run', '--state-dir', path.join(tmp, 'state3'), '--policy', path.join(tmp, 'Registry.pol'), '--group-map', 'nonsense'], { cwd: root, encoding: 'utf8' });
    expect(bad.status).to.equal(2);
    expect(bad.stderr.trimEnd()).to.match(/^Error: --group-map "nonsense" is not SID-OR-NAME=group/);
  });

  it('reads the flags oclif declares for agent run, of the same kinds', () => {
    const oclif = AgentRun.flags as Record<string, { type: string; multiple?: boolean; min?: number }>;
    expect(Object.keys(AGENT_RUN_FLAGS).sort()).to.deep.equal(Object.keys(oclif).sort());
    for (const [name, spec] of Object.entries(AGENT_RUN_FLAGS)) {
      const o = oclif[name] as { type: string; multiple?: boolean; min?: number; parse?: unknown };
      expect(o.type === 'boolean' ? 'boolean' : 'option', name).to.equal(spec.kind === 'boolean' ? 'boolean' : 'option');
      expect(Boolean(o.multiple), `${name} multiple`).to.equal(Boolean(spec.multiple));
    }
  });

  it('reads plain lines as oclif does and hands back the rest', () => {
    const p = readAgentRunLine(['--policy', 'a.pol', '--policy=b.pol', '--collection', 'lab', '--max-connections', '5', '--insecure-dev']);
    expect(p?.policy).to.deep.equal(['a.pol', 'b.pol']);
    expect(p?.collection).to.deep.equal(['lab']);
    expect(p?.['max-connections']).to.equal(5);
    expect(p?.['insecure-dev']).to.equal(true);
    expect(p?.['state-dir']).to.equal('/var/lib/ascend');
    const d = readAgentRunLine(['--domain', '--ldap-user', 'PC$@CORP', '--url', 'ldaps://dc', '--tls-insecure']);
    expect(d?.connection).to.include({ user: 'PC$@CORP', url: 'ldaps://dc', tlsInsecure: true });
    for (const line of [
      [], // no source
      ['--policy', 'a', '--domain'], // two sources
      ['--policy', 'a', 'b'], // oclif reads b as a second policy
      ['--policy', 'a', '--computer', 'x', '--computer', 'y'], // twice
      ['--policy', 'a', '--max-connections', '1'], // under the minimum
      ['--policy', 'a', '--max-connections', '2x'],
      ['--policy', 'a', '--help'],
      ['--policy', 'a', '-h'],
      ['--policy', 'a', '--nope'],
      ['--policy', 'a', '--socket', '-x'],
      ['--policy', 'a', '--domain=yes'],
      ['--policy', 'a', '--', 'x'],
      ['--policy'],
    ]) {
      expect(readAgentRunLine(line), line.join(' ')).to.equal(undefined);
    }
  });

  it('the built lean entry exists (bin/run.js routes agent run to it)', () => {
    expect(existsSync(path.join(root, 'dist', 'agent', 'daemon', 'main.js'))).to.equal(true);
    expect(readFileSync(bin, 'utf8')).to.include('dist/agent/daemon/main.js');
  });
});
