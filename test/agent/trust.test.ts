/**
 * Trust the program, not the requester (issue 12, findings 1 and 5): a rule elevates a file
 * only when the file and every folder above it are owned by root (or a trusted owner) and
 * nobody else can write them — group, others, ACL entries — whoever asks. First the pure parts
 * (the ACL parser, the judgement, its wording), then the real agent as root with real
 * accounts, real files, a real ACL and a real nosuid mount.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, appendFileSync, chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { commandWorks, requireComponent } from '../support/components.js';
import { bin, cliEnv, requireBuiltCli, root } from '../passcode-cli/support.js';
import { ASCEND_CATALOG, requirePolicy } from '../../src/catalog/index.js';
import { encodePolicyState } from '../../src/policy/index.js';
import { writeRegistryPol } from '../../src/formats/registry-pol/index.js';
import { ipcCall } from '../../agent/ipc/index.js';
import { ACL_GROUP, ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER, ACL_USER, ACL_USER_OBJ, aclWriteGrants, parsePosixAcl } from '../../agent/daemon/posix-acl.js';
import { describeFault, faultOf, shownPath, type ComponentFacts } from '../../agent/daemon/trust.js';

/** An ACL xattr: version 2, then (tag, perm, id) entries. */
function aclBytes(entries: [number, number, number][]): Buffer {
  const b = Buffer.alloc(4 + 8 * entries.length);
  b.writeUInt32LE(2, 0);
  entries.forEach(([tag, perm, id], i) => {
    b.writeUInt16LE(tag, 4 + 8 * i);
    b.writeUInt16LE(perm, 6 + 8 * i);
    b.writeUInt32LE(id, 8 + 8 * i);
  });
  return b;
}
const NONE = 0xffffffff;

describe('program trust: the pure parts', () => {
  it('parses an ACL xattr (as setfacl -m u:1001:rwx writes it) and finds who it lets write through the mask', () => {
    const acl = parsePosixAcl(aclBytes([[ACL_USER_OBJ, 7, NONE], [ACL_USER, 7, 1001], [ACL_GROUP_OBJ, 5, NONE], [ACL_MASK, 7, NONE], [ACL_OTHER, 5, NONE]]));
    expect(acl).to.deep.equal([
      { tag: ACL_USER_OBJ, perm: 7 },
      { tag: ACL_USER, perm: 7, id: 1001 },
      { tag: ACL_GROUP_OBJ, perm: 5 },
      { tag: ACL_MASK, perm: 7 },
      { tag: ACL_OTHER, perm: 5 },
    ]);
    expect(aclWriteGrants(acl, 0)).to.deep.equal([{ kind: 'user', uid: 1001 }]);
    // The mask caps named entries and the owning group, not others.
    const masked = parsePosixAcl(aclBytes([[ACL_USER_OBJ, 7, NONE], [ACL_USER, 7, 1001], [ACL_GROUP, 6, 50], [ACL_GROUP_OBJ, 7, NONE], [ACL_MASK, 5, NONE], [ACL_OTHER, 7, NONE]]));
    expect(aclWriteGrants(masked, 0)).to.deep.equal([{ kind: 'others' }]);
    const group = parsePosixAcl(aclBytes([[ACL_USER_OBJ, 7, NONE], [ACL_GROUP, 2, 50], [ACL_GROUP_OBJ, 5, NONE], [ACL_MASK, 7, NONE], [ACL_OTHER, 0, NONE]]));
    expect(aclWriteGrants(group, 0)).to.deep.equal([{ kind: 'group', gid: 50 }]);
    // A named entry for the owner's own uid is never consulted by the kernel.
    expect(aclWriteGrants(parsePosixAcl(aclBytes([[ACL_USER_OBJ, 7, NONE], [ACL_USER, 7, 0], [ACL_GROUP_OBJ, 5, NONE], [ACL_MASK, 7, NONE], [ACL_OTHER, 5, NONE]])), 0)).to.deep.equal([]);
  });

  it('refuses malformed ACL bytes rather than guessing', () => {
    expect(() => parsePosixAcl(Buffer.alloc(2))).to.throw(/no header/);
    expect(() => parsePosixAcl(aclBytes([]).fill(1, 0, 1))).to.throw(/version 1/);
    expect(() => parsePosixAcl(Buffer.concat([aclBytes([[ACL_USER_OBJ, 7, NONE]]), Buffer.alloc(3)]))).to.throw(/inside an entry/);
    expect(() => parsePosixAcl(aclBytes([[0x40, 7, NONE]]))).to.throw(/unknown tag 0x40/);
    expect(() => parsePosixAcl(aclBytes([[ACL_USER_OBJ, 8, NONE]]))).to.throw(/unknown permission bits/);
  });

  it('judges a component: a trusted owner, no group or other write (sticky or not), no ACL write, not on a nosuid mount', () => {
    const base: ComponentFacts = { path: '/opt/tools', uid: 0, gid: 0, mode: 0o40755, acl: null, nosuid: false };
    const trusted = new Set<number>([0]);
    expect(faultOf(base, trusted)).to.equal(null);
    expect(faultOf({ ...base, uid: 1001 }, trusted)).to.deep.equal({ kind: 'owner', path: '/opt/tools', uid: 1001 });
    expect(faultOf({ ...base, uid: 998 }, new Set([0, 998]))).to.equal(null);
    expect(faultOf({ ...base, gid: 50, mode: 0o42775 }, trusted)).to.deep.equal({ kind: 'group-write', path: '/opt/tools', gid: 50, mode: 0o42775 });
    expect(faultOf({ ...base, mode: 0o41777 }, trusted)).to.deep.equal({ kind: 'other-write', path: '/opt/tools', mode: 0o41777 });
    expect(faultOf({ ...base, mode: 0o41757 }, trusted)?.kind).to.equal('other-write');
    expect(faultOf({ ...base, nosuid: true }, trusted)).to.deep.equal({ kind: 'nosuid', path: '/opt/tools' });
    const acl = parsePosixAcl(aclBytes([[ACL_USER_OBJ, 7, NONE], [ACL_USER, 7, 1001], [ACL_GROUP_OBJ, 5, NONE], [ACL_MASK, 7, NONE], [ACL_OTHER, 5, NONE]]));
    expect(faultOf({ ...base, mode: 0o40775, acl }, trusted)).to.deep.equal({ kind: 'acl-user', path: '/opt/tools', uid: 1001 });
  });

  it('words the reason with the path, the owner or group by name and uid, and the mode; control characters never raw', () => {
    const names = { user: (u: number) => (u === 1001 ? 'bob' : undefined), group: (g: number) => (g === 50 ? 'staff' : undefined) };
    expect(describeFault({ kind: 'owner', path: '/home/bob/bin', uid: 1001 }, names, false)).to.equal('/home/bob/bin is owned by bob (uid 1001), not root');
    expect(describeFault({ kind: 'owner', path: '/x', uid: 4242 }, names, true)).to.equal('/x is owned by uid 4242, not root or a trusted owner');
    expect(describeFault({ kind: 'group-write', path: '/opt/tools', gid: 50, mode: 0o42775 }, names, false)).to.equal('/opt/tools is writable by group staff (mode 2775)');
    expect(describeFault({ kind: 'other-write', path: '/tmp', mode: 0o41777 }, names, false)).to.equal('/tmp is writable by others (mode 1777)');
    expect(describeFault({ kind: 'acl-user', path: '/srv/x', uid: 1001 }, names, false)).to.equal('/srv/x grants write to user bob through its ACL');
    expect(describeFault({ kind: 'acl-group', path: '/srv/x', gid: 77 }, names, false)).to.equal('/srv/x grants write to group gid 77 through its ACL');
    expect(describeFault({ kind: 'owner', path: '/home/bob/a\nb\u001b[1m', uid: 1001 }, names, false)).to.equal('/home/bob/a\\nb\\u001b[1m is owned by bob (uid 1001), not root');
    expect(shownPath('plain/path')).to.equal('plain/path');
  });
});

describe('program trust: without the native addon nothing is trusted', () => {
  it('judges /usr/bin/true untrusted, with a reason naming the missing addon (the built agent, copied without build/native)', function () {
    this.timeout(60_000);
    requireBuiltCli();
    const dir = mkdtempSync(path.join(tmpdir(), 'ascend-h1-noaddon-'));
    try {
      cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true });
      copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
      symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
      const program = pathToFileURL(path.join(dir, 'dist', 'agent', 'daemon', 'program.js')).href;
      const script = `import { inspectProgram } from ${JSON.stringify(program)};
        const p = await inspectProgram('/usr/bin/true', { hash: false, trustedOwners: new Set() });
        await p.handle.close();
        console.log(JSON.stringify(p.trust));`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      expect(r.status, r.stderr).to.equal(0);
      const trust = JSON.parse(r.stdout) as { trusted: boolean; reason?: string };
      expect(trust.trusted).to.equal(false);
      expect(trust.reason).to.match(/^the agent cannot read ACLs and mount flags, so it trusts no program \(native addon: .*peercred\.node/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

function waitFor(child: ChildProcess, re: RegExp, timeoutMs: number, seen: { text: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (re.test(seen.text)) {
        clearTimeout(timer);
        child.stderr?.off('data', check);
        resolve();
      }
    };
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}:\n${seen.text}`)), timeoutMs);
    child.stderr?.on('data', check);
    child.once('exit', () => check());
    check();
  });
}

function ok(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  expect(r.status, `${cmd} ${args.join(' ')}: ${r.stderr}`).to.equal(0);
}

function uidOf(name: string): number {
  return Number(spawnSync('id', ['-u', name], { encoding: 'utf8' }).stdout.trim());
}

describe('program trust: rules elevate only what only root can change (root, real agent, real accounts)', function () {
  this.timeout(120_000);
  const A = 'h1ta';
  const B = 'h1tb';
  const SVC = 'h1tsvc';
  const GROUP = 'h1tgrp';
  const prefix = `h1t${randomBytes(2).toString('hex')}_`;
  let tmp: string;
  let tree: string;
  let mnt: string;
  let env: NodeJS.ProcessEnv;
  const agents: ChildProcess[] = [];
  const programs: Record<string, string> = {};
  let hashToolSha = '';

  /** Starts an agent on its own socket and state folder; returns its socket and process. */
  async function startAgent(name: string, extra: string[] = []): Promise<{ socket: string; stateDir: string; child: ChildProcess; log: { text: string } }> {
    const socket = path.join(tmp, `${name}.sock`);
    const stateDir = path.join(tmp, `${name}-state`);
    const log = { text: '' };
    const child = spawn(process.execPath, [bin, 'agent', 'run', '--state-dir', stateDir, '--socket', socket, '--policy', path.join(tmp, 'Registry.pol'), '--computer', 'H1-PC', ...extra], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agents.push(child);
    child.stderr?.on('data', (d: Buffer) => (log.text += d.toString()));
    await waitFor(child, /agent listening on|Error/, 60_000, log);
    expect(log.text, log.text).to.match(/agent listening on/);
    return { socket, stateDir, child, log };
  }

  const asUser = (user: string, socket: string, args: string[]): Promise<Outcome> =>
    new Promise((resolve) => {
      const child = spawn('setpriv', ['--reuid', user, '--regid', user, '--init-groups', '--', process.execPath, bin, ...args], {
        cwd: '/',
        env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/', NO_COLOR: '1', ASCEND_AGENT_SOCKET: socket },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
    });

  /** The events the agent spooled (the spool's records are JSON payloads). */
  function spooled(stateDir: string): Record<string, unknown>[] {
    const dir = path.join(stateDir, 'spool');
    const out: Record<string, unknown>[] = [];
    for (const f of readdirSync(dir).sort()) {
      if (f.endsWith('.json')) continue;
      const buf = readFileSync(path.join(dir, f));
      for (let at = 0; at + 8 <= buf.length; ) {
        const len = buf.readUInt32LE(at);
        if (at + 8 + len > buf.length) break;
        try {
          out.push(JSON.parse(buf.subarray(at + 8, at + 8 + len).toString('utf8')) as Record<string, unknown>);
        } catch {
          // not an event record
        }
        at += 8 + len;
      }
    }
    return out;
  }

  /** A copy of /usr/bin/true at `file`, with `owner` and `mode`. */
  function program(key: string, file: string, owner: string, mode = 0o755): string {
    copyFileSync('/usr/bin/true', file);
    ok('chown', [`${owner}:${owner === 'root' ? 'root' : owner}`, file]);
    chmodSync(file, mode);
    programs[key] = file;
    return file;
  }

  function rule(name: string, json: object) {
    return { name, value: JSON.stringify(json) };
  }

  let main: Awaited<ReturnType<typeof startAgent>>;

  before(async function () {
    requireComponent(this, process.getuid?.() === 0, 'root (the agent creates accounts; the tests chown files and mount)', 'run the tests as root');
    requireComponent(this, commandWorks('setfacl', ['--version']), 'setfacl (Debian package acl)', 'scripts/install-system-deps.sh');
    requireBuiltCli();
    tmp = mkdtempSync(path.join(tmpdir(), 'ascend-h1-'));
    chmodSync(tmp, 0o755);
    env = cliEnv(tmp);
    for (const u of [A, B, SVC]) spawnSync('userdel', ['-r', u], { stdio: 'ignore' });
    spawnSync('groupdel', [GROUP], { stdio: 'ignore' });
    ok('useradd', ['--create-home', '--shell', '/bin/sh', A]);
    ok('useradd', ['--create-home', '--shell', '/bin/sh', B]);
    ok('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', SVC]);
    ok('groupadd', [GROUP]);

    // Finding 1: B's own tools, in B's home (readable by A).
    const homeB = `/home/${B}`;
    chmodSync(homeB, 0o755);
    mkdirSync(path.join(homeB, 'bin'));
    ok('chown', [`${B}:${B}`, path.join(homeB, 'bin')]);
    program('byName', path.join(homeB, 'bin', 'backup-tool'), B);
    program('byPath', path.join(homeB, 'bin', 'path-tool'), B);
    program('byHash', path.join(homeB, 'bin', 'hash-tool'), B);
    appendFileSync(programs.byHash as string, `h1 ${randomBytes(8).toString('hex')}\n`);
    hashToolSha = createHash('sha256').update(readFileSync(programs.byHash as string)).digest('hex');

    // Finding 5: a root-owned program in A's sticky home.
    const homeA = `/home/${A}`;
    chmodSync(homeA, 0o1755);
    program('stickyHome', path.join(homeA, 'root-tool'), 'root');

    // A root-owned 0755 tree under /var/lib (not /tmp: the walk goes up to /).
    tree = mkdtempSync('/var/lib/ascend-test-h1-');
    chmodSync(tree, 0o755);
    for (const d of ['ok', 'group', 'sticky', 'acl', 'svc', 'mnt']) mkdirSync(path.join(tree, d), { mode: 0o755 });
    program('ok', path.join(tree, 'ok', 'ok-tool'), 'root');
    ok('chown', [`root:${GROUP}`, path.join(tree, 'group')]);
    chmodSync(path.join(tree, 'group'), 0o2775);
    program('group', path.join(tree, 'group', 'group-tool'), 'root');
    chmodSync(path.join(tree, 'sticky'), 0o1777);
    program('sticky', path.join(tree, 'sticky', 'sticky-tool'), 'root');
    ok('setfacl', ['-m', `u:${A}:rwx`, path.join(tree, 'acl')]);
    program('acl', path.join(tree, 'acl', 'acl-tool'), 'root');
    chownSync(path.join(tree, 'svc'), uidOf(SVC), 0);
    program('svc', path.join(tree, 'svc', 'svc-tool'), SVC);
    mnt = path.join(tree, 'mnt');
    ok('mount', ['-t', 'tmpfs', '-o', 'nosuid,size=4m,mode=0755', 'h1t-nosuid', mnt]);
    program('nosuid', path.join(mnt, 'nosuid-tool'), 'root');

    const entries = [
      ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'ElevationRules'), 'enabled', {
        Rules: [
          rule('backup tool by name', { action: 'allow', match: { path: 'backup-tool' } }),
          rule('path tool by path', { action: 'allow', match: { path: programs.byPath } }),
          rule('hash tool by hash', { action: 'allow', match: { sha256: hashToolSha } }),
          ...['stickyHome', 'ok', 'group', 'sticky', 'acl', 'svc', 'nosuid'].map((k) => rule(`${k} by path`, { action: 'allow', match: { path: programs[k] } })),
        ],
      }),
      ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'EphemeralAccounts'), 'enabled', { AccountPrefix: prefix, MaxLifetimeMinutes: 60, CleanupIntervalMinutes: 60, RemoveProfileFolders: true }),
    ];
    writeFileSync(path.join(tmp, 'Registry.pol'), writeRegistryPol(entries));
    main = await startAgent('main');
  });

  after(async () => {
    for (const a of agents) {
      if (a.exitCode === null && a.signalCode === null) {
        a.kill('SIGTERM');
        await new Promise((r) => a.once('exit', r));
      }
    }
    if (mnt) spawnSync('umount', [mnt], { stdio: 'ignore' });
    for (const u of [A, B, SVC]) spawnSync('userdel', ['-r', u], { stdio: 'ignore' });
    spawnSync('groupdel', [GROUP], { stdio: 'ignore' });
    for (const name of readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')[0] ?? '')) if (name.startsWith(prefix)) spawnSync('userdel', ['-r', name], { stdio: 'ignore' });
    if (tree) rmSync(tree, { recursive: true, force: true });
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** Runs `ascend elevate -- FILE` as A and expects a one-line refusal whose reason matches. */
  async function refused(key: string, reason: RegExp, socket = main.socket, stateDir = main.stateDir): Promise<void> {
    const file = programs[key] as string;
    const r = await asUser(A, socket, ['elevate', '--', file]);
    expect(r.status, r.stderr).to.equal(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, r.stderr).to.have.length(1);
    expect(lines[0]).to.match(new RegExp(`^Error: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not elevated: `));
    expect(lines[0]).to.match(reason);
    expect(lines[0]).to.match(/a rule elevates only a program that only root can change$/);
    const events = spooled(stateDir).filter((e) => e.processPath === file);
    expect(events.map((e) => [e.type, e.reason]), 'nothing ran elevated; the refusal is recorded').to.deep.equal([['elevation-denied', 'program-not-trusted']]);
  }

  it('finding 1: another user\'s file is refused, whether the rule names it by bare name, by path or by hash; the reason names its owner', async () => {
    const uidB = uidOf(B);
    await refused('byName', new RegExp(`: /home/${B}/bin/backup-tool is owned by ${B} \\(uid ${uidB}\\), not root;`));
    await refused('byPath', new RegExp(`: /home/${B}/bin/path-tool is owned by ${B} \\(uid ${uidB}\\), not root;`));
    await refused('byHash', new RegExp(`: /home/${B}/bin/hash-tool is owned by ${B} \\(uid ${uidB}\\), not root;`));
  });

  it('finding 5: a root-owned program in a home its user owns and made sticky is refused', async () => {
    await refused('stickyHome', new RegExp(`: /home/${A} is owned by ${A} \\(uid ${uidOf(A)}\\), not root;`));
  });

  it('a group-writable folder is refused, even when the requester is not in the group', async () => {
    await refused('group', new RegExp(`: ${tree}/group is writable by group ${GROUP} \\(mode 2775\\);`));
  });

  it('an other-writable sticky folder (like /tmp) is refused', async () => {
    await refused('sticky', new RegExp(`: ${tree}/sticky is writable by others \\(mode 1777\\);`));
  });

  it('a folder whose ACL grants write to a user is refused', async () => {
    await refused('acl', new RegExp(`: ${tree}/acl grants write to user ${A} through its ACL;`));
  });

  it('a program on a nosuid mount (where owners and modes prove nothing) is refused', async () => {
    await refused('nosuid', new RegExp(`: ${mnt}/nosuid-tool is on a filesystem mounted nosuid`));
  });

  it('positive control: a root-owned 0755 program in a root-owned 0755 tree is elevated', async () => {
    const r = await asUser(A, main.socket, ['elevate', '--', programs.ok as string]);
    expect(r.status, r.stderr + main.log.text).to.equal(0);
    expect(spooled(main.stateDir).filter((e) => e.processPath === programs.ok).map((e) => e.type)).to.include('process-elevated');
  });

  it('--trusted-owner: a file owned by a configured system account passes; without the option it is refused', async () => {
    await refused('svc', new RegExp(`: ${tree}/svc/svc-tool is owned by ${SVC} \\(uid ${uidOf(SVC)}\\), not root;`));
    const trusting = await startAgent('trusting', ['--trusted-owner', SVC]);
    const r = await asUser(A, trusting.socket, ['elevate', '--', programs.svc as string]);
    expect(r.status, r.stderr + trusting.log.text).to.equal(0);
    // Trusting the service account trusts nothing else.
    await refused('byName', /is owned by h1tb .*not root or a trusted owner;/, trusting.socket, trusting.stateDir);
    // A person's account can not be made a trusted owner.
    const bad = await startAgent('bad', ['--trusted-owner', A]).catch((e: Error) => e);
    expect(String(bad)).to.match(new RegExp(`--trusted-owner ${A}: ${A} \\(uid \\d+\\) is not a system account`));
  });

  it('leaks no descriptor of a judged program over many refusals', async () => {
    const pid = main.child.pid as number;
    const fds = () => readdirSync(`/proc/${pid}/fd`).length;
    const deny = (file: string) => ipcCall(main.socket, { op: 'elevate', argv: [file], cwd: '/' }).then(
      () => 'ran',
      (e: Error) => e.message,
    );
    // Warm up (the spool, the first requests' lazy opens), then count.
    for (let i = 0; i < 3; i++) await deny(programs.byName as string);
    const before = fds();
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => deny([programs.byName, programs.sticky, '/usr/bin/ls'][i % 3] as string)));
    expect(answers.filter((a) => a === 'ran')).to.deep.equal([]);
    expect(answers.filter((a) => /is not elevated/.test(a))).to.have.length(30);
    // The agent closes each connection once the client has read its answer: wait for that, not for a time.
    let after = fds();
    for (let i = 0; i < 100 && after > before + 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = fds();
    }
    expect(after, 'a descriptor per refusal would be 30 more').to.be.at.most(before + 2);
  });
});
