/**
 * The Debian package as a user meets it: `npm run package` builds ascend_<version>_amd64.deb,
 * which is installed into a clean Debian 12 root (debootstrap --variant=minbase, cached by
 * test/package/clean-root.sh) that shares nothing with the build tree, and used there through
 * chroot: `ascend --version` as an unprivileged user; the agent started with its unit's own
 * ExecStart line (its EnvironmentFile's options expanded as systemd does) and a local policy; an
 * elevation by the user through /usr/bin/ascend; the collector started with its unit's ExecStart
 * line, as its unit's user, in a network namespace of its own, answering health on 8003; an
 * upgrade to a newer build that keeps config, the collector's database and the agent's spool; a
 * purge that leaves no file, user or account behind (an ephemeral account the killed agent left
 * included). Also: lintian reports no errors and systemd-analyze verify accepts the units.
 * Root only (chroot, mounts, dpkg in the root).
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { requireComponent, commandWorks } from '../support/components.js';
import { ASCEND_CATALOG, requirePolicy } from '../../src/catalog/index.js';
import { encodePolicyState } from '../../src/policy/index.js';
import { writeRegistryPol } from '../../src/formats/registry-pol/index.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const USER = 'ascpkguser';
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
// A range of its own, at the top of the default one: the purge ends processes by uid, so no other
// test's account may share it (a fresh agent starts a range at a floor from the clock, about 8
// million ids in by 2026, so the range is wider than that).
const ID_RANGE = '2130000000-2147352575';

function sh(cmd: string, args: readonly string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeout ?? 600_000, maxBuffer: 64 << 20, ...(opts.input === undefined ? {} : { input: opts.input }), env: opts.env ?? process.env });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  expect(r.error, `${what}: ${String(r.error)}`).to.equal(undefined);
  expect(r.status, `${what} failed:\n${r.stdout}\n${r.stderr}`).to.equal(0);
  return r.stdout;
}

/** systemd's EnvironmentFile: KEY=VALUE lines, # comments, optional quotes around the value. */
export function parseEnvironmentFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) value = value.slice(1, -1);
    env[line.slice(0, eq).trim()] = value;
  }
  return env;
}

/** A unit's [Service] settings (the last of each key, as for ExecStart=). */
function unitSettings(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) section = line;
    else if (section === '[Service]' && !line.startsWith('#') && line.includes('=')) out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
  }
  return out;
}

/** ExecStart's words with $VAR split on whitespace and ${VAR} kept as one word, as systemd expands them (no quoting in these lines). */
function execStartArgv(line: string, env: Record<string, string>): string[] {
  const argv: string[] = [];
  for (const word of line.trim().split(/\s+/)) {
    const whole = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(word);
    if (whole) argv.push(...(env[whole[1] ?? ''] ?? '').split(/\s+/).filter(Boolean));
    else argv.push(word.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, k: string) => env[k] ?? ''));
  }
  return argv;
}

/** Pids whose /proc entry belongs to uid (the owner is the process's effective uid). */
function processesOf(uid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (statSync(`/proc/${name}`).uid === uid) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

async function until<T>(what: string, probe: () => T | undefined | false, deadlineMs = 60_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('Debian package (npm run package) installed into a clean Debian 12 root', function () {
  this.timeout(1_800_000);
  let tmp = '';
  let root = '';
  let deb1 = '';
  let deb2 = '';
  const mounted: string[] = [];
  let agent: ChildProcess | undefined;
  let collector: ChildProcess | undefined;
  let filesBefore: string[] = [];
  const accountsBefore: Record<string, string> = {};
  const timings: Record<string, number> = {};

  const inRoot = (args: readonly string[], opts: { user?: string; input?: string; env?: Record<string, string> } = {}) =>
    sh('chroot', [...(opts.user ? [`--userspec=${opts.user}:${opts.user}`] : []), root, ...args], {
      env: { PATH: SYSTEM_PATH, LANG: 'C.UTF-8', HOME: opts.user ? `/home/${opts.user}` : '/root', ...(opts.env ?? {}) },
      ...(opts.input === undefined ? {} : { input: opts.input }),
    });
  const dpkg = (...args: string[]) => inRoot(['dpkg', ...args], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
  const unit = (name: string) => unitSettings(readFileSync(path.join(root, 'lib/systemd/system', name), 'utf8'));
  const accounts = () => ['passwd', 'group', 'shadow', 'gshadow', 'subuid', 'subgid'].map((f) => `${f}:\n${accountsBefore[f] === undefined ? '' : readFileSync(path.join(root, 'etc', f), 'utf8')}`).join('\n');
  /** Every path in the root but the kernel's, dpkg's own records and logs, and the shadow tools' backups. */
  const fileList = (): string[] => {
    const out = ok(sh('find', [root, '-xdev', '-mindepth', '1']), 'find').split('\n').filter(Boolean);
    return out
      .map((p) => p.slice(root.length))
      .filter((p) => !/^\/(proc|dev|sys)(\/|$)/.test(p))
      .filter((p) => !/^\/var\/log\/|^\/var\/cache\/debconf\/|^\/etc\/(passwd|group|shadow|gshadow|subuid|subgid)-$/.test(p))
      // dpkg's own records change with every install; its files about this package must go.
      .filter((p) => !p.startsWith('/var/lib/dpkg/') || p.includes('ascend'))
      // What the user did in their home is theirs (a purge never touches homes).
      .filter((p) => !p.startsWith(`/home/${USER}/`))
      .sort();
  };

  /** Starts a unit as systemd would: its EnvironmentFile, User, State/RuntimeDirectory, ExecStart. */
  function startUnit(name: string, wrap: readonly string[] = []): ChildProcess {
    const s = unit(name);
    const env = parseEnvironmentFile(readFileSync(path.join(root, (s.EnvironmentFile ?? '').replace(/^-/, '')), 'utf8'));
    const user = s.User ?? 'root';
    for (const [key, base] of [['StateDirectory', '/var/lib'], ['RuntimeDirectory', '/run']] as const) {
      if (!s[key]) continue;
      const dir = path.join(base, s[key] ?? '');
      const mode = s[`${key}Mode`] ?? '0755';
      ok(inRoot(['install', '-d', '-m', mode, '-o', user, '-g', s.Group ?? user, dir]), `${key} ${dir}`);
    }
    const argv = execStartArgv(s.ExecStart ?? '', env);
    const child = spawn(
      [...wrap, 'chroot'][0] ?? 'chroot',
      [...wrap.slice(1), ...(wrap.length ? ['chroot'] : []), ...(user === 'root' ? [] : [`--userspec=${user}:${s.Group ?? user}`]), root, ...argv],
      { env: { PATH: SYSTEM_PATH, LANG: 'C.UTF-8', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    (child as ChildProcess & { log: () => string }).log = () => log;
    return child;
  }
  const logOf = (c: ChildProcess | undefined) => (c as (ChildProcess & { log?: () => string }) | undefined)?.log?.() ?? '';

  /** True while c runs; throws with its output when it has exited. */
  function running(c: ChildProcess | undefined, what: string): boolean {
    if (!c || c.exitCode !== null || c.signalCode !== null) throw new Error(`${what} exited (${c?.exitCode ?? c?.signalCode}): ${logOf(c)}`);
    return true;
  }

  async function stop(c: ChildProcess | undefined): Promise<void> {
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
  }

  before(async function () {
    requireComponent(this, process.getuid?.() === 0, 'root (chroot, mounts, dpkg in a clean root)', 'run the tests as root');
    for (const [cmd, args, pkg] of [
      ['debootstrap', ['--version'], 'debootstrap'],
      ['dpkg-deb', ['--version'], 'dpkg'],
      ['lintian', ['--version'], 'lintian'],
      ['systemd-analyze', ['--version'], 'systemd'],
      ['unshare', ['--version'], 'util-linux'],
      ['curl', ['--version'], 'curl'],
    ] as const) {
      requireComponent(this, commandWorks(cmd, args), cmd, `apt-get install ${pkg} (scripts/install-system-deps.sh)`);
    }
    tmp = mkdtempSync(path.join(tmpdir(), 'ascend-pkg-'));
    let t = Date.now();
    // Outside CI, ASCEND_TEST_DEBS=OLD.deb:NEW.deb reuses two builds (NEW: version 0.1.0+upgrade1) while working on this file.
    const reuse = process.env.CI === 'true' ? undefined : process.env.ASCEND_TEST_DEBS?.split(':');
    if (reuse?.length === 2) [deb1, deb2] = reuse as [string, string];
    else {
    deb1 = ok(sh('npm', ['run', '--silent', 'package'], { env: { ...process.env, ASCEND_PACKAGE_OUT: path.join(tmp, 'v1') } }), 'npm run package').trim().split('\n').pop() ?? '';
    timings['build the .deb'] = Date.now() - t;
    t = Date.now();
    // The upgrade: a newer build of the same tree (gzip: xz's few MB less are not worth minutes here).
    deb2 = ok(sh('npm', ['run', '--silent', 'package'], { env: { ...process.env, ASCEND_PACKAGE_OUT: path.join(tmp, 'v2'), ASCEND_PACKAGE_VERSION: '0.1.0+upgrade1', ASCEND_DEB_COMPRESSION: 'gzip' } }), 'npm run package (newer)').trim().split('\n').pop() ?? '';
    timings['build the newer .deb'] = Date.now() - t;
    }
    expect(path.basename(deb1)).to.match(/^ascend_[0-9][^_]*_amd64\.deb$/);
    expect(path.basename(deb2)).to.equal('ascend_0.1.0+upgrade1_amd64.deb');
    t = Date.now();
    root = path.join(tmp, 'root');
    ok(sh('bash', [path.join(REPO, 'test/package/clean-root.sh'), root]), 'clean root');
    timings['clean root (cached debootstrap tree)'] = Date.now() - t;
    for (const [fs, dir, opts] of [['proc', 'proc', ['-t', 'proc', 'proc']], ['dev', 'dev', ['--bind', '/dev']]] as const) {
      ok(sh('mount', [...opts, path.join(root, dir)]), `mount ${fs}`);
      mounted.unshift(path.join(root, dir));
    }
    ok(inRoot(['useradd', '--create-home', '--shell', '/bin/sh', USER]), 'useradd');
    ok(sh('cp', [deb1, deb2, path.join(root, 'tmp')]), 'copy the .debs');
    for (const f of ['passwd', 'group', 'shadow', 'gshadow', 'subuid', 'subgid']) {
      if (existsSync(path.join(root, 'etc', f))) accountsBefore[f] = readFileSync(path.join(root, 'etc', f), 'utf8');
    }
    filesBefore = fileList();
  });

  after(async function () {
    await stop(agent);
    await stop(collector);
    for (const m of mounted) sh('umount', ['-l', m]);
    if (tmp && !mounted.some((m) => sh('mountpoint', ['-q', m]).status === 0)) rmSync(tmp, { recursive: true, force: true });
    if (Object.keys(timings).length) console.log(`    package test times: ${Object.entries(timings).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(', ')}`);
  });

  it('lintian reports no errors on the .deb, and systemd-analyze verify accepts both units', function () {
    const t = Date.now();
    const l = sh('lintian', ['--tag-display-limit', '0', '--allow-root', deb1]);
    timings.lintian = Date.now() - t;
    const errors = (l.stdout + l.stderr).split('\n').filter((line) => line.startsWith('E: '));
    expect(errors, l.stdout).to.deep.equal([]);
    const units = path.join(tmp, 'units');
    mkdirSync(units);
    ok(sh('dpkg-deb', ['-x', deb1, units]), 'dpkg-deb -x');
    const dir = path.join(units, 'lib/systemd/system');
    // verify resolves ExecStart's program on this host: the unpacked one stands in for /usr/bin/ascend.
    const v = sh('systemd-analyze', ['verify', '--man=no', ...readdirSync(dir).map((u) => path.join(dir, u))], { env: { ...process.env, SYSTEMD_LOG_LEVEL: 'notice' } });
    const complaints = (v.stdout + v.stderr).split('\n').filter((s) => s.includes('ascend-') && !/Command \/usr\/bin\/ascend is not executable: No such file/.test(s));
    expect(complaints, v.stdout + v.stderr).to.deep.equal([]);
  });

  it('installs into the clean root; `ascend --version` works for an unprivileged user, with the bundled Node 24', function () {
    const t = Date.now();
    ok(dpkg('-i', `/tmp/${path.basename(deb1)}`), 'dpkg -i');
    timings['dpkg -i'] = Date.now() - t;
    expect(ok(inRoot(['id', '-u', 'ascend']), 'id ascend').trim()).to.match(/^\d+$/);
    expect(ok(inRoot(['sh', '-c', 'command -v ascend'], { user: USER }), 'command -v').trim()).to.equal('/usr/bin/ascend');
    const v = inRoot(['ascend', '--version'], { user: USER });
    expect(ok(v, 'ascend --version')).to.match(/^ascend-privilege-manager\/\S+ linux-x64 node-v24\./);
    expect(v.stderr).to.equal('');
    expect(existsSync(path.join(root, 'usr/bin/node')), 'no node on the PATH of the clean root').to.equal(false);
    const conffiles = ok(dpkg('-s', 'ascend'), 'dpkg -s');
    expect(conffiles).to.include('/etc/ascend/agent.env').and.include('/etc/ascend/collector.env');
  });

  it("runs the agent with its unit's ExecStart and a local policy, and elevates for an unprivileged user through /usr/bin/ascend", async function () {
    const entries = [
      ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'ElevationRules'), 'enabled', {
        Rules: [
          { name: 'id for everyone', value: JSON.stringify({ action: 'allow', match: { path: '/usr/bin/id' } }) },
          { name: 'sleep for everyone', value: JSON.stringify({ action: 'allow', match: { path: '/usr/bin/sleep' } }) },
        ],
      }),
    ];
    writeFileSync(path.join(root, 'etc/ascend/Registry.pol'), writeRegistryPol(entries), { mode: 0o644 });
    // The admin's settings: the packaged default (--policy /etc/ascend/Registry.pol), in an id range of this test's.
    const envFile = path.join(root, 'etc/ascend/agent.env');
    const settings = parseEnvironmentFile(readFileSync(envFile, 'utf8'));
    expect(settings.ASCEND_AGENT_OPTIONS).to.equal('--policy /etc/ascend/Registry.pol');
    writeFileSync(envFile, `${readFileSync(envFile, 'utf8')}ASCEND_AGENT_OPTIONS=--policy /etc/ascend/Registry.pol --ephemeral-id-range ${ID_RANGE}\n`);
    expect(unit('ascend-agent.service').ExecStart).to.equal('/usr/bin/ascend agent run --state-dir /var/lib/ascend --socket /run/ascend/agent.sock --idle-exit 120 $ASCEND_AGENT_OPTIONS');
    agent = startUnit('ascend-agent.service');
    await until('the agent socket', () => running(agent, 'the agent') && existsSync(path.join(root, 'run/ascend/agent.sock')));
    // On demand: the unit's main process is the package's ascend-agentd, the agent its child.
    const agentd = path.join(root, 'usr/lib/ascend/build/native/ascend-agentd');
    await until('ascend-agentd', () => running(agent, 'the agent') && existsSync(`/proc/${agent?.pid}/exe`) && readlinkSync(`/proc/${agent?.pid}/exe`) === agentd);
    const r = inRoot(['ascend', 'elevate', '--', 'id', '-un'], { user: USER });
    expect(r.status, `${r.stdout}\n${r.stderr}\n${logOf(agent)}`).to.equal(0);
    expect(r.stdout.trim()).to.match(/^ascend_[0-9a-f]+$/);
    // Removed after the result went out (agent/executor/linux.ts finish).
    await until('the ephemeral account to be removed', () => !readFileSync(path.join(root, 'etc/passwd'), 'utf8').includes(`\n${r.stdout.trim()}:`));
    const spool = path.join(root, 'var/lib/ascend/spool');
    expect(readdirSync(spool).some((f) => /^seg-\d+\.log$/.test(f)), 'events in the spool').to.equal(true);
    // /usr/bin/ascend sends elevate to the native client, which hands what it does not answer (help) to the bundled Node.
    const traced = inRoot(['sh', '-x', '/usr/bin/ascend', 'elevate', '--help'], { user: USER });
    expect(traced.stderr).to.include('exec /usr/lib/ascend/build/native/ascend-elevate elevate --help');
    expect(ok(traced, 'ascend elevate --help')).to.match(/^USAGE/m);
    // Built for the package: it names the bundled Node, never a path of the machine that built it.
    const native = readFileSync(path.join(root, 'usr/lib/ascend/build/native/ascend-elevate')).toString('latin1');
    expect(native).to.include('/usr/lib/ascend/node/bin/node');
    expect(native).to.not.include(process.execPath);
    expect(native).to.not.include(realpathSync(process.execPath));
  });

  it("runs the collector with its unit's ExecStart, as the system user ascend, answering health on 8003", async function () {
    const s = unit('ascend-collector.service');
    expect(s.ExecStart).to.equal('/usr/bin/ascend server start --port 8003 --data /var/lib/ascend/collector $ASCEND_COLLECTOR_OPTIONS');
    expect(s.User).to.equal('ascend');
    // Its own network namespace: port 8003 of this host may be taken, and nothing else sees it.
    collector = startUnit('ascend-collector.service', ['unshare', '--net', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh']);
    const ca = path.join(root, 'var/lib/ascend/collector/tls/ca.pem');
    const health = await until('the collector health', () => {
      if (!running(collector, 'the collector') || !existsSync(ca)) return false;
      const c = sh('nsenter', ['--target', String(collector?.pid), '--net', '--', 'curl', '-sS', '--cacert', ca, 'https://127.0.0.1:8003/api/v1/health']);
      return c.status === 0 ? c.stdout : false;
    });
    expect(JSON.parse(health)).to.deep.equal({ status: 'ok', storage: 'sqlite' });
    const db = path.join(root, 'var/lib/ascend/collector/collector.db');
    const st = inRoot(['stat', '-c', '%U %a', db.slice(root.length)]);
    expect(ok(st, 'stat').trim()).to.equal('ascend 600');
  });

  it('upgrades to a newer build and keeps config, the collector database and the agent spool', async function () {
    await stop(collector);
    await stop(agent);
    const keep = ['etc/ascend/agent.env', 'etc/ascend/Registry.pol', 'var/lib/ascend/collector/collector.db', 'var/lib/ascend/collector/bootstrap-admin-token', 'var/lib/ascend/instance-id', ...readdirSync(path.join(root, 'var/lib/ascend/spool')).map((f) => `var/lib/ascend/spool/${f}`)];
    const before = Object.fromEntries(keep.map((f) => [f, sha256(path.join(root, f))]));
    const t = Date.now();
    ok(dpkg('-i', `/tmp/${path.basename(deb2)}`), 'dpkg -i (upgrade)');
    timings['dpkg -i (upgrade)'] = Date.now() - t;
    expect(Object.fromEntries(keep.map((f) => [f, sha256(path.join(root, f))]))).to.deep.equal(before);
    expect(ok(inRoot(['ascend', '--version'], { user: USER }), 'ascend --version')).to.match(/^ascend-privilege-manager\/0\.1\.0\+upgrade1 /);
    // And the agent comes back on its old state.
    agent = startUnit('ascend-agent.service');
    await until('the agent socket', () => running(agent, 'the agent') && existsSync(path.join(root, 'run/ascend/agent.sock')));
    const r = inRoot(['ascend', 'elevate', '--', 'id', '-un'], { user: USER });
    expect(r.status, `${r.stderr}\n${logOf(agent)}`).to.equal(0);
    // Its account is removed after the result: gone before the next test looks for a leftover one.
    await until('the ephemeral account to be removed', () => !readFileSync(path.join(root, 'etc/passwd'), 'utf8').includes(`\n${r.stdout.trim()}:`));
  });

  it('purge removes every file, the system user and the ephemeral accounts a killed agent left', async function () {
    // An elevation still running when the agent dies: its account stays behind.
    const sleeper = spawn('chroot', [`--userspec=${USER}:${USER}`, root, 'ascend', 'elevate', '--', 'sleep', '300'], { env: { PATH: SYSTEM_PATH, HOME: `/home/${USER}` }, stdio: 'ignore' });
    const leftover = await until('the ephemeral account', () => readFileSync(path.join(root, 'etc/passwd'), 'utf8').split('\n').find((l) => l.startsWith('ascend_')));
    agent?.kill('SIGKILL');
    await new Promise((r) => agent?.once('exit', r));
    agent = undefined;
    const t = Date.now();
    ok(dpkg('--purge', 'ascend'), 'dpkg --purge');
    timings['dpkg --purge'] = Date.now() - t;
    await new Promise((r) => (sleeper.exitCode === null ? sleeper.once('exit', r) : r(null)));
    const uid = leftover.split(':')[2];
    expect(processesOf(Number(uid)), 'processes of the ephemeral account').to.deep.equal([]);
    expect(accounts()).to.equal(['passwd', 'group', 'shadow', 'gshadow', 'subuid', 'subgid'].map((f) => `${f}:\n${accountsBefore[f] ?? ''}`).join('\n'));
    const now = fileList();
    expect({ added: now.filter((f) => !filesBefore.includes(f)), removed: filesBefore.filter((f) => !now.includes(f)) }).to.deep.equal({ added: [], removed: [] });
  });
});
