/**
 * Review R3 (issue 12): the exec guard read as an attacker inside an elevated tree.
 *
 * - A #! script runs its interpreter without an exec of its own, and so does the dynamic loader
 *   run as a program (`ld-linux-x86-64.so.2 /usr/bin/bash`): the launcher asks only about the
 *   file named, so a deny rule on bash was passed by any script starting `#!/usr/bin/bash` the
 *   elevated process wrote, or by running bash through the loader. judgeExec now decides every
 *   program the kernel runs for the exec.
 * - /dev/fd/N, /proc/self/... named by an exec were resolved in the agent, to the agent's own
 *   fds: an elevated process ran bash it had open on fd N under the name of the agent's file.
 * - An io_uring ring made outside the tree can be passed in over a socket; its openat with
 *   O_CREAT and a set-id mode never passed the launcher's filter. Using a ring is refused.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, closeSync, existsSync, openSync, readlinkSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { judgeExec, resolveAs, type ExecContext } from '../../agent/daemon/exec-guard.js';
import { LinuxExecutor, type ElevationSpec, type RunningElevation } from '../../agent/executor/index.js';
import { launcherPath } from '../../agent/executor/launcher.js';
import { compileRules, parseRule } from '../../src/rules/index.js';
import { requireComponent } from '../support/components.js';

const PREFIX = 'r3x_';
const LOADER = '/lib64/ld-linux-x86-64.so.2';

function collect(stream: Readable): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    stream.on('data', (d: Buffer) => (s += d.toString()));
    stream.on('end', () => resolve(s));
    stream.on('error', () => resolve(s));
  });
}

describe('review R3: the exec guard decides what the kernel really runs', function () {
  this.timeout(60_000);
  let tmp = '';
  const index = compileRules([parseRule('no bash', JSON.stringify({ action: 'deny', match: { path: 'bash' } }), 'BlacklistRules')]);
  const ctx: ExecContext = { user: 'r3user', groups: [], computer: 'R3-PC', collections: [], tseActive: false };

  before(function () {
    requireComponent(this, process.getuid?.() === 0 && process.arch === 'x64', 'root on x86_64', 'run the tests as root');
    tmp = mkdtempSync('/tmp/r3-guard-');
    chmodSync(tmp, 0o755);
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('refuses a script whose #! interpreter a deny rule names, also through a script interpreter', async () => {
    const script = path.join(tmp, 'run-me');
    writeFileSync(script, '#!/usr/bin/bash\necho BASH-RAN\n', { mode: 0o755 });
    const nested = path.join(tmp, 'nested');
    writeFileSync(nested, `#!${script} -x\n`, { mode: 0o755 });
    for (const file of [script, nested]) {
      const j = await judgeExec(index, { pid: process.pid, path: file, argv: [file, 'a'], exe: '/usr/bin/dash' }, ctx, false);
      expect(j.verdict, file).to.equal('deny');
      expect(j.path).to.equal(realpathSync('/usr/bin/bash'));
      expect(j.rules).to.deep.equal(['no bash']);
    }
    // A script of an interpreter no rule names still runs.
    const ok = path.join(tmp, 'ok');
    writeFileSync(ok, '#!/usr/bin/dash\necho ok\n', { mode: 0o755 });
    expect((await judgeExec(index, { pid: process.pid, path: ok, argv: [ok], exe: '' }, ctx, false)).verdict).to.equal('allow');
  });

  it('the first program (its folder not entered yet): a relative interpreter or loader target is refused, not looked up from the agent\'s folder', async () => {
    // Judged from / (the agent's folder) usr/bin/bash would be bash, which the rule denies; from
    // the folder the program starts in it may be any file. Later execs look in the process's folder.
    const script = path.join(tmp, 'relative');
    writeFileSync(script, '#!usr/bin/dash\necho x\n', { mode: 0o755 });
    const first = { pid: process.pid, path: script, argv: [script], exe: '', folderUnknown: true as const };
    const j = await judgeExec(index, first, ctx, false);
    expect(j.verdict).to.equal('deny');
    expect(j.reason).to.equal('the program it runs ("usr/bin/dash") is a relative name, found from the folder the program starts in, which is not known when it is judged; name it by its full path');
    const viaLoader = await judgeExec(index, { ...first, path: LOADER, argv: [LOADER, 'usr/bin/true'] }, ctx, false);
    expect(viaLoader.verdict).to.equal('deny');
    expect(viaLoader.reason).to.match(/^the program it runs \("usr\/bin\/true"\) is a relative name/);
    // A later exec: found from the folder of the process that execs (here one in /), and judged.
    const inRoot = spawn('sleep', ['10'], { cwd: '/', stdio: 'ignore' });
    try {
      const later = await judgeExec(index, { pid: inRoot.pid as number, path: script, argv: [script], exe: '' }, ctx, false);
      expect(later.verdict, later.reason).to.equal('allow');
    } finally {
      inRoot.kill('SIGKILL');
    }
  });

  it('resolves /dev/fd/N and /proc/self as the exec-ing process sees them, not the agent', async () => {
    // The agent has a harmless regular file open at fd N; the elevated process has bash there.
    const harmless = path.join(tmp, 'harmless');
    writeFileSync(harmless, 'x');
    const mine = openSync(harmless, 'r');
    const bash = openSync('/usr/bin/bash', 'r');
    const stdio: ('ignore' | 'pipe' | number)[] = Array.from({ length: mine }, (_, i) => (i === 1 ? 'pipe' : 'ignore'));
    stdio.push(bash);
    const child = spawn('/usr/bin/sleep', ['30'], { stdio });
    try {
      await new Promise((r) => child.once('spawn', r));
      expect(readlinkSync(`/proc/${child.pid}/fd/${mine}`)).to.equal(realpathSync('/usr/bin/bash'));
      for (const name of [`/dev/fd/${mine}`, `/proc/self/fd/${mine}`, `/proc/thread-self/fd/${mine}`]) {
        const j = await judgeExec(index, { pid: child.pid as number, path: name, argv: [name, '-c', 'echo x'], exe: '/usr/bin/dash' }, ctx, false);
        expect(j.verdict, name).to.equal('deny');
        expect(j.path, name).to.equal(realpathSync('/usr/bin/bash'));
      }
      // A pipe is not a program file: refused, not resolved to something else.
      expect((await judgeExec(index, { pid: child.pid as number, path: '/dev/fd/1', argv: ['x'], exe: '' }, ctx, false)).verdict).to.equal('deny');
      expect(await resolveAs(child.pid as number, '/proc/self/cwd/')).to.equal(realpathSync(process.cwd()));
    } finally {
      child.kill('SIGKILL');
      closeSync(mine);
      closeSync(bash);
    }
  });

  it('refuses bash run through the dynamic loader, with or without loader options', async () => {
    expect(existsSync(LOADER), LOADER).to.equal(true);
    for (const argv of [
      [LOADER, '/usr/bin/bash', '-c', 'echo x'],
      [LOADER, '--argv0', 'sh', '--library-path', '/usr/lib', '/usr/bin/bash'],
      [LOADER, '--', '/bin/bash'],
    ]) {
      const j = await judgeExec(index, { pid: process.pid, path: LOADER, argv, exe: '' }, ctx, false);
      expect(j.verdict, argv.join(' ')).to.equal('deny');
    }
    // The loader on its own, or running a program no rule names, goes on.
    expect((await judgeExec(index, { pid: process.pid, path: LOADER, argv: [LOADER, '/usr/bin/true'], exe: '' }, ctx, false)).verdict).to.equal('allow');
  });
});

describe('review R3: the launcher refuses io_uring rings passed into the tree (root, real accounts)', function () {
  this.timeout(60_000);
  let tmp = '';
  let executor: LinuxExecutor;
  const started: RunningElevation[] = [];

  before(function () {
    requireComponent(this, process.getuid?.() === 0 && process.arch === 'x64' && existsSync('/usr/sbin/useradd'), 'root on x86_64 with useradd', 'run as root');
    requireComponent(this, existsSync(launcherPath()), 'the launcher build/native/ascend-launch', 'npm run build');
    requireComponent(this, existsSync('/usr/bin/perl'), 'perl', 'apt-get install perl');
    tmp = mkdtempSync('/tmp/r3-launch-');
    chmodSync(tmp, 0o755);
    executor = new LinuxExecutor({ accountPrefix: PREFIX, homeRoot: path.join(tmp, 'homes'), stateDir: path.join(tmp, 'state'), maxLifetimeMs: 3_600_000, leftoverGraceMs: 500 });
  });
  after(async function () {
    for (const r of started) await r.endTree(200).catch(() => undefined);
    await Promise.all(started.map((r) => r.done.catch(() => undefined)));
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const name = line.split(':')[0];
      if (name?.startsWith(PREFIX)) spawnSync('userdel', [name]);
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('io_uring_enter and io_uring_register fail with EPERM, not EBADF, inside the tree', async () => {
    // On a bad fd the kernel says EBADF (9); the filter answers first with EPERM (1).
    const probe = 'syscall(426, -1, 0, 0, 0, 0, 0); print "enter=", $!+0, "\\n"; syscall(427, -1, 0, 0, 0); print "register=", $!+0, "\\n";';
    const outside = spawnSync('/usr/bin/perl', ['-e', probe], { encoding: 'utf8' });
    expect(outside.stdout).to.match(/^enter=9\nregister=(?!1\n)[0-9]+\n$/);
    for (const integrity of ['High', 'System']) {
      const spec: ElevationSpec = { elevationId: randomUUID(), requester: { uid: 0, gid: 0, name: 'root' }, command: ['/usr/bin/perl', '-e', probe], cwd: '/', groups: ['S-1-5-32-544'], integrity, stdio: 'pipe' };
      const r = await executor.start(spec);
      started.push(r);
      const out = collect(r.stdout);
      r.stdin.end();
      await r.done;
      expect(await out, integrity).to.equal('enter=1\nregister=1\n');
    }
  });
});
