/**
 * The Linux launcher (native/launch.c, agent/executor/launcher.ts) at the executor's level, as
 * root with real accounts: what runs is the opened file, the working folder is entered as the
 * requester by handle, only fds 0-2 reach the program, set-id files and new user namespaces
 * are refused inside an elevation, and the exec guard asks about every later exec and fails
 * closed when its supervisor is gone.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { LinuxExecutor, type ElevationSpec, type RunningElevation } from '../../agent/executor/index.js';
import { checkLauncher, launcherPath } from '../../agent/executor/launcher.js';
import { groupStillOurs, startTimeOf } from '../../agent/executor/procfs.js';
import { requireComponent } from '../support/components.js';

const PREFIX = 'h2tx_';
const TEST_NAMES = /^h2t/;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function collect(stream: Readable): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    stream.on('data', (d: Buffer) => (s += d.toString()));
    stream.on('end', () => resolve(s));
    stream.on('close', () => resolve(s));
  });
}

function accountExists(name: string): boolean {
  return spawnSync('getent', ['passwd', name]).status === 0;
}

function idOf(flag: '-u' | '-g', name: string): number {
  return Number(spawnSync('id', [flag, name], { encoding: 'utf8' }).stdout.trim());
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('the Linux launcher (as root, real accounts and processes)', function () {
  this.timeout(60_000);
  let tmp = '';
  let executor: LinuxExecutor;
  const started: RunningElevation[] = [];
  let requester = { uid: 0, gid: 0, name: 'root' };

  function spec(over: Partial<ElevationSpec>): ElevationSpec {
    return { elevationId: randomUUID(), requester: { uid: 0, gid: 0, name: 'root' }, command: ['true'], cwd: '/', groups: ['S-1-5-32-544'], integrity: 'High', stdio: 'pipe', ...over };
  }
  async function start(s: ElevationSpec, ex: LinuxExecutor = executor): Promise<RunningElevation> {
    const r = await ex.start(s);
    started.push(r);
    return r;
  }
  async function output(s: ElevationSpec): Promise<{ out: string; err: string; code: number | null; signal: string | null; r: RunningElevation }> {
    const r = await start(s);
    const out = collect(r.stdout);
    const err = collect(r.stderr);
    r.stdin.end();
    const done = await r.done;
    return { out: await out, err: await err, code: done.code, signal: done.signal, r };
  }

  before(function () {
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    requireComponent(this, isRoot && existsSync('/usr/sbin/useradd') && process.arch === 'x64', 'root on x86_64 with useradd (passwd)', 'run as root; apt-get install passwd');
    requireComponent(this, existsSync(launcherPath()), 'the launcher build/native/ascend-launch', 'npm run build');
    tmp = mkdtempSync('/tmp/h2t-launch-');
    chmodSync(tmp, 0o755);
    mkdirSync(path.join(tmp, 'state'), { mode: 0o700 });
    executor = new LinuxExecutor({ accountPrefix: PREFIX, homeRoot: path.join(tmp, 'homes'), stateDir: path.join(tmp, 'state'), maxLifetimeMs: 3_600_000, leftoverGraceMs: 500 });
    if (!accountExists('h2treq')) run('useradd', ['--system', '--user-group', '--no-create-home', 'h2treq']);
    requester = { uid: idOf('-u', 'h2treq'), gid: idOf('-g', 'h2treq'), name: 'h2treq' };
  });

  after(async function () {
    this.timeout(60_000);
    for (const r of started) await r.endTree(200).catch(() => undefined);
    await Promise.all(started.map((r) => r.done.catch(() => undefined)));
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , uid] = line.split(':');
      if (!name || !TEST_NAMES.test(name)) continue;
      if (Number(uid) > 0) spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '/bin/sh', '-c', 'kill -KILL -1']);
      spawnSync('userdel', [name]);
    }
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const name = line.split(':')[0];
      if (name && TEST_NAMES.test(name)) spawnSync('groupdel', [name]);
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('counts a process group as the elevation\'s only while its number was not reused (pinned by start time)', () => {
    const mine = startTimeOf(process.pid);
    expect(mine).to.be.a('string');
    expect(groupStillOurs(process.pid, mine)).to.equal(true);
    // The number now belongs to a process that started at another time: not our group any more.
    expect(groupStillOurs(process.pid, `${mine}0`)).to.equal(false);
    // No process with that number: its members (if any) still hold it, so it is ours.
    expect(groupStillOurs(2 ** 22 + 12345, mine)).to.equal(true);
  });

  it('is a root-owned file nobody else can write, and is refused otherwise', async () => {
    expect(await checkLauncher()).to.equal(path.join(ROOT, 'build', 'native', 'ascend-launch'));
    const copy = path.join(tmp, 'launch-copy');
    copyFileSync(launcherPath(), copy);
    chmodSync(copy, 0o775);
    let err: unknown;
    await checkLauncher(copy).catch((e: unknown) => (err = e));
    expect((err as { code?: string }).code).to.equal('ASC_AGENT_CONFIG');
    chmodSync(copy, 0o755);
    chownSync(copy, requester.uid, 0);
    err = undefined;
    await checkLauncher(copy).catch((e: unknown) => (err = e));
    expect((err as { code?: string }).code).to.equal('ASC_AGENT_CONFIG');
  });

  it('runs the file that was opened, even when another file was renamed over its path (finding 2)', async () => {
    const dir = path.join(tmp, 'prog');
    mkdirSync(dir, { mode: 0o755 });
    // A script (run by its interpreter through /dev/fd/4) and a binary.
    const script = path.join(dir, 'tool.sh');
    writeFileSync(script, '#!/bin/sh\necho original "$@"\n', { mode: 0o755 });
    writeFileSync(path.join(dir, 'evil.sh'), '#!/bin/sh\necho swapped\n', { mode: 0o755 });
    const fd = openSync(script, 'r');
    renameSync(path.join(dir, 'evil.sh'), script);
    try {
      const a = await output(spec({ command: [script, 'x'], programFd: fd }));
      expect(a.out.trim()).to.equal('original x');
      expect(a.code).to.equal(0);
    } finally {
      closeSync(fd);
    }
    const binary = path.join(dir, 'tool');
    copyFileSync('/usr/bin/echo', binary);
    chmodSync(binary, 0o755);
    copyFileSync('/usr/bin/false', path.join(dir, 'evil'));
    chmodSync(path.join(dir, 'evil'), 0o755);
    const fd2 = openSync(binary, 'r');
    renameSync(path.join(dir, 'evil'), binary);
    try {
      const b = await output(spec({ command: [binary, 'judged'], programFd: fd2 }));
      expect(b.out.trim()).to.equal('judged');
      expect(b.code).to.equal(0);
    } finally {
      closeSync(fd2);
    }
  });

  it('never starts in a root-only folder the checked working folder was swapped for (finding 2)', async () => {
    const home = path.join(tmp, 'h2treq-home');
    mkdirSync(home, { mode: 0o755 });
    chownSync(home, requester.uid, requester.gid);
    const work = path.join(home, 'work');
    mkdirSync(work, { mode: 0o755 });
    chownSync(work, requester.uid, requester.gid);
    const secret = path.join(tmp, 'secret');
    mkdirSync(path.join(secret, 'inner'), { recursive: true, mode: 0o700 });
    chmodSync(secret, 0o700);
    const s = spec({ requester, command: ['pwd'], cwd: work });
    // The swap lands after the request was checked and while the account is made: once the
    // account exists, the folder becomes a link into the root-only folder.
    const account = executor.accountName(s.elevationId);
    const swapped = until(() => readFileSync('/etc/passwd', 'utf8').includes(`\n${account}:`), 'the account').then(() => {
      renameSync(work, `${work}.old`);
      symlinkSync(path.join(secret, 'inner'), work);
    });
    const { out, r } = await output(s);
    await swapped;
    expect(out.trim()).to.not.match(new RegExp(`^${secret}`));
    // Where the swap lands is up to the test's poll: before the launcher enters the folder (it
    // refuses the link as the requester and starts in /), or after (it starts in the folder that
    // was checked). The launcher reports the path when it enters the folder and pwd reads it when
    // it runs; a rename in between names the same folder work, then work.old.
    const started = out.trim();
    if (r.cwd === '/') expect(started).to.equal('/');
    else {
      expect([work, `${work}.old`]).to.include(r.cwd);
      expect(started === r.cwd || (r.cwd === work && started === `${work}.old`), `reported ${r.cwd}, ran in ${started}`).to.equal(true);
    }
    // Without a swap the requester's own folder is used.
    const other = path.join(home, 'other');
    mkdirSync(other, { mode: 0o755 });
    const ok = await output(spec({ requester, command: ['pwd'], cwd: other }));
    expect(ok.out.trim()).to.equal(other);
    expect(ok.r.cwd).to.equal(other);
    // A folder the requester cannot enter gives '/', whatever the path looks like.
    const no = await output(spec({ requester, command: ['pwd'], cwd: path.join(secret, 'inner') }));
    expect(no.out.trim()).to.equal('/');
    expect(no.r.cwd).to.equal('/');
  });

  it('gives the program only fds 0-2, even when the agent inherited more (finding 9)', async () => {
    // A separate agent-like process that inherited fd 7 without close-on-exec, as a daemon can.
    const script = path.join(tmp, 'leak.mts');
    writeFileSync(
      script,
      `import { LinuxExecutor } from ${JSON.stringify(path.join(ROOT, 'agent/executor/index.ts'))};\n` +
        `const ex = new LinuxExecutor({ accountPrefix: ${JSON.stringify(PREFIX)}, homeRoot: ${JSON.stringify(path.join(tmp, 'homes'))}, stateDir: ${JSON.stringify(path.join(tmp, 'state'))}, maxLifetimeMs: 3600000 });\n` +
        `for (const integrity of ['High', 'System']) {\n` +
        `  const r = await ex.start({ elevationId: crypto.randomUUID(), requester: { uid: 0, gid: 0, name: 'root' }, command: ['/bin/sh', '-c', 'ls /proc/$$/fd'], cwd: '/', groups: [], integrity, stdio: 'pipe' });\n` +
        `  let out = ''; r.stdout.on('data', (d) => (out += d)); r.stdin.end(); await r.done;\n` +
        `  process.stdout.write(integrity + ':' + out.trim().split('\\n').join(',') + '\\n');\n` +
        `}\n`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe', 'ignore', 'ignore', 'ignore', 'ignore', 'pipe'] });
    const out = collect(child.stdout as Readable);
    const err = collect(child.stderr as Readable);
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code, await err).to.equal(0);
    expect((await out).trim().split('\n')).to.deep.equal(['High:0,1,2', 'System:0,1,2']);
  });

  it('refuses set-uid and set-gid files inside an elevation (finding 3)', async () => {
    const box = path.join(tmp, 'box');
    mkdirSync(box);
    chmodSync(box, 0o1777);
    const script = [
      `cd ${box}`,
      'touch f; chmod 4755 f; echo chmod-u=$?',
      'chmod g+s f; echo chmod-g=$?',
      'install -m 6755 /dev/null g; echo install=$?',
      'cp /usr/bin/true h && chmod u+s h; echo cp=$?',
    ].join('\n');
    for (const integrity of ['High', 'System']) {
      const { out } = await output(spec({ integrity, command: ['sh', '-c', script] }));
      expect(out, integrity).to.match(/chmod-u=[1-9]/);
      expect(out, integrity).to.match(/chmod-g=[1-9]/);
      expect(out, integrity).to.match(/install=[1-9]/);
      expect(out, integrity).to.match(/cp=[1-9]/);
      for (const f of ['f', 'g', 'h']) {
        if (existsSync(path.join(box, f))) expect(statSync(path.join(box, f)).mode & 0o6000, `${integrity} ${f}`).to.equal(0);
        rmSync(path.join(box, f), { force: true });
      }
    }
  });

  it('refuses a new user or mount namespace inside an elevation', async () => {
    const { out } = await output(spec({ command: ['sh', '-c', 'unshare -Ur true; echo user=$?; unshare -m true; echo mount=$?'] }));
    expect(out).to.match(/user=[1-9]/);
    expect(out).to.match(/mount=[1-9]/);
    const sys = await output(spec({ integrity: 'System', command: ['sh', '-c', 'unshare -m true; echo mount=$?; unshare -U true; echo user=$?'] }));
    expect(sys.out).to.match(/mount=[1-9]/);
    expect(sys.out).to.match(/user=[1-9]/);
  });

  it('asks about every later exec in the tree, refuses what is denied, and passes exit codes and signals (finding 6)', async () => {
    const asked: { path: string; argv: string[]; exe: string }[] = [];
    const onExec = async (q: { pid: number; path: string; argv: string[]; exe: string }): Promise<'allow' | 'deny'> => {
      asked.push(q);
      return q.path.endsWith('/bash') ? 'deny' : 'allow';
    };
    const a = await output(spec({ command: ['sh', '-c', 'env bash -c "echo ran"; echo env=$?; /usr/bin/id -u >/dev/null; echo id=$?; exit 7'], onExec }));
    expect(a.out).to.not.include('ran');
    expect(a.out).to.match(/env=[1-9]/);
    expect(a.out).to.include('id=0');
    expect(a.code).to.equal(7);
    const paths = asked.map((q) => q.path);
    expect(paths).to.include('/usr/bin/env');
    expect(paths.some((p) => p.endsWith('/bash'))).to.equal(true);
    expect(asked.find((q) => q.path === '/usr/bin/env')?.argv).to.deep.equal(['env', 'bash', '-c', 'echo ran']);
    expect(asked.find((q) => q.path === '/usr/bin/env')?.exe).to.match(/\/(dash|sh)$/);
    const b = await start(spec({ command: ['sh', '-c', 'exec sleep 300'], onExec }));
    b.signal('SIGTERM');
    expect((await b.done).signal).to.equal('SIGTERM');
  });

  it('keeps the output of a program that exited before it was read', async () => {
    const r = await start(spec({ integrity: 'System', command: ['sh', '-c', 'echo out; echo err >&2'] }));
    await until(() => gone(r.pid), 'the program to exit');
    await new Promise((resolve) => setTimeout(resolve, 200)); // the launcher's exit is handled
    const out = collect(r.stdout);
    const err = collect(r.stderr);
    r.stdin.end();
    await r.done;
    expect(await out).to.equal('out\n');
    expect(await err).to.equal('err\n');
  });

  it('holds the program at its first exec until the elevation is released: released runs it, cancelled or an agent gone never does', async () => {
    const mark = (name: string): string => path.join(tmp, `gate-${name}`);
    const program = (name: string): ElevationSpec => spec({ integrity: 'System', command: ['sh', '-c', `echo ran > ${mark(name)}`], holdUntilReleased: true });
    // Held: the process exists (start() resolved with its pid) but the program has not run.
    const held = await start(program('go'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(existsSync(mark('go')), 'nothing runs before the release').to.equal(false);
    expect(gone(held.pid)).to.equal(false);
    held.release?.(true);
    held.stdin.end();
    expect((await held.done).code).to.equal(0);
    expect(readFileSync(mark('go'), 'utf8')).to.equal('ran\n');
    // Cancelled: the first exec fails, the program never runs.
    const cancelled = await start(program('stop'));
    cancelled.release?.(false);
    cancelled.stdin.end();
    expect((await cancelled.done).code).to.equal(126);
    expect(existsSync(mark('stop'))).to.equal(false);
    // The supervisor is gone before the release (as when the agent died and took its answer with it): it never runs.
    const orphan = await start(program('lost'));
    const launcher = parentOf(orphan.pid);
    expect(readFileSync(`/proc/${launcher}/cmdline`, 'utf8')).to.include('ascend-launch');
    process.kill(launcher, 'SIGKILL');
    orphan.stdin.end();
    await orphan.done;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(existsSync(mark('lost')), 'a program whose supervisor is gone before the release never runs').to.equal(false);
  });

  it('fails every later exec closed when the supervisor is gone, or the agent does not answer', async () => {
    const result = path.join(tmp, 'result');
    const r = await start(
      spec({ integrity: 'System', command: ['sh', '-c', `trap "" TERM HUP INT; echo ready; read x; /usr/bin/true; echo $? > ${result}`] }),
      new LinuxExecutor({ accountPrefix: PREFIX, homeRoot: path.join(tmp, 'homes'), stateDir: path.join(tmp, 'state'), maxLifetimeMs: 3_600_000, leftoverGraceMs: 10_000 }),
    );
    const ready = new Promise((resolve) => r.stdout.once('data', resolve));
    await ready;
    const launcher = parentOf(r.pid);
    expect(readFileSync(`/proc/${launcher}/cmdline`, 'utf8')).to.include('ascend-launch');
    process.kill(launcher, 'SIGKILL');
    await until(() => gone(launcher), 'the launcher to end');
    r.stdin.write('go\n');
    await until(() => existsSync(result) && readFileSync(result, 'utf8').endsWith('\n'), 'the result');
    expect(Number(readFileSync(result, 'utf8').trim())).to.not.equal(0);
    await r.endTree(200);
    await r.done;
    // An agent that throws is a deny.
    const t = await output(spec({ command: ['sh', '-c', '/usr/bin/true; echo true=$?'], onExec: () => Promise.reject(new Error('broken')) }));
    expect(t.out).to.match(/true=[1-9]/);
  });
});
