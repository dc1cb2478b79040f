/**
 * Property (issue 12, Deliver 8): no rule can elevate a file whose path has a component
 * somebody untrusted can change. Random trees of folders and a program — owners root, a
 * trusted system account, two ordinary users; modes with and without group and other write,
 * sticky and set-gid folders; ACL entries with and without write — built for real as root,
 * then judged by inspectProgram. Its verdict must be "trusted" exactly when every component
 * is owned by a trusted uid, has no group or other write and no ACL write grant; a refusal
 * must name a component that is at fault; asking through a symbolic link changes nothing.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import { commandWorks, requireComponent } from '../support/components.js';
import { inspectProgram } from '../../agent/daemon/program.js';

const USER_A = 'h1tpa';
const USER_B = 'h1tpb';
const SVC = 'h1tpsvc';
const GROUP = 'h1tpg';

type Owner = 'root' | 'svc' | 'a' | 'b';
type Acl = { kind: 'none' } | { kind: 'user' | 'group'; perm: 'r-x' | 'rwx' | '-w-' | '---' };

interface Component {
  owner: Owner;
  groupWrite: boolean;
  otherWrite: boolean;
  sticky: boolean;
  setgid: boolean;
  acl: Acl;
}

const acl: fc.Arbitrary<Acl> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Acl>({ kind: 'none' }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom<'user' | 'group'>('user', 'group'), perm: fc.constantFrom<'r-x' | 'rwx' | '-w-' | '---'>('r-x', 'rwx', '-w-', '---') }) },
);

/** Any component. */
const component: fc.Arbitrary<Component> = fc.record({
  owner: fc.constantFrom<Owner>('root', 'svc', 'a', 'b'),
  groupWrite: fc.boolean(),
  otherWrite: fc.boolean(),
  sticky: fc.boolean(),
  setgid: fc.boolean(),
  acl,
});

/** A component nobody untrusted can change (so that whole trees of them are common). */
const clean: fc.Arbitrary<Component> = fc.record({
  owner: fc.constantFrom<Owner>('root', 'root', 'svc'),
  groupWrite: fc.constant<boolean>(false),
  otherWrite: fc.constant<boolean>(false),
  sticky: fc.boolean(),
  setgid: fc.boolean(),
  acl: acl.filter((a) => a.kind === 'none' || !a.perm.includes('w')),
});

/** Clean trees with, half of the time, one or two arbitrary components in them. */
const treeArb = fc
  .record({
    folders: fc.array(clean, { minLength: 1, maxLength: 4 }),
    file: clean,
    dirty: fc.oneof(fc.constant([]), fc.array(fc.record({ index: fc.nat(8), c: component }), { minLength: 1, maxLength: 2 })),
    viaLink: fc.boolean(),
    hash: fc.boolean(),
  })
  .map((t) => {
    const all = [...t.folders, t.file];
    for (const d of t.dirty) all[d.index % all.length] = d.c;
    return { folders: all.slice(0, -1), file: all[all.length - 1] as Component, viaLink: t.viaLink, hash: t.hash };
  });

function ok(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

function idOf(flag: '-u' | '-g', name: string): number {
  return Number(spawnSync('id', [flag, name], { encoding: 'utf8' }).stdout.trim());
}

describe('program trust, property: no path with a component others can change is ever trusted (root, real files)', function () {
  this.timeout(180_000);
  let base: string;
  const uids: Record<Owner, number> = { root: 0, svc: -1, a: -1, b: -1 };

  before(function () {
    requireComponent(this, process.getuid?.() === 0, 'root (the test chowns files to other accounts)', 'run the tests as root');
    requireComponent(this, commandWorks('setfacl', ['--version']), 'setfacl (Debian package acl)', 'scripts/install-system-deps.sh');
    for (const u of [USER_A, USER_B, SVC]) spawnSync('userdel', ['-r', u], { stdio: 'ignore' });
    spawnSync('groupdel', [GROUP], { stdio: 'ignore' });
    ok('useradd', ['--no-create-home', '--shell', '/bin/sh', USER_A]);
    ok('useradd', ['--no-create-home', '--shell', '/bin/sh', USER_B]);
    ok('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', SVC]);
    ok('groupadd', [GROUP]);
    uids.a = idOf('-u', USER_A);
    uids.b = idOf('-u', USER_B);
    uids.svc = idOf('-u', SVC);
    // Under a root-owned 0755 parent (not /tmp: the walk goes up to /, and /tmp is world-writable).
    base = mkdtempSync('/var/lib/ascend-test-h1p-');
    chmodSync(base, 0o755);
  });

  after(() => {
    if (base) rmSync(base, { recursive: true, force: true });
    for (const u of [USER_A, USER_B, SVC]) spawnSync('userdel', ['-r', u], { stdio: 'ignore' });
    spawnSync('groupdel', [GROUP], { stdio: 'ignore' });
  });

  function apply(target: string, c: Component, isDir: boolean): void {
    const uid = uids[c.owner];
    chownSync(target, uid, c.owner === 'root' ? 0 : idOf('-g', c.owner === 'svc' ? SVC : c.owner === 'a' ? USER_A : USER_B));
    let mode = 0o755 | (c.groupWrite ? 0o020 : 0) | (c.otherWrite ? 0o002 : 0);
    if (isDir) mode |= (c.sticky ? 0o1000 : 0) | (c.setgid ? 0o2000 : 0);
    chmodSync(target, mode);
    if (c.acl.kind !== 'none') ok('setfacl', ['-m', `${c.acl.kind === 'user' ? 'u' : 'g'}:${c.acl.kind === 'user' ? USER_A : GROUP}:${c.acl.perm}`, target]);
  }

  function faulty(c: Component): boolean {
    const trustedOwner = c.owner === 'root' || c.owner === 'svc';
    return !trustedOwner || c.groupWrite || c.otherWrite || (c.acl.kind !== 'none' && c.acl.perm.includes('w'));
  }

  it('judges random trees exactly as the rule says', async () => {
    const trustedOwners = new Set<number>([uids.svc]);
    // The base is trusted: a root-owned 0755 program right in it passes.
    const control = path.join(base, 'control');
    copyFileSync('/usr/bin/true', control);
    chmodSync(control, 0o755);
    const c = await inspectProgram(control, { hash: false, trustedOwners });
    await c.handle.close();
    expect(c.trust, 'the base and everything above it are trusted').to.deep.equal({ trusted: true });

    let n = 0;
    await fc.assert(
      fc.asyncProperty(treeArb, async (t) => {
        const runDir = path.join(base, `run${n++}`);
        mkdirSync(runDir, { mode: 0o755 });
        try {
          const dirs: string[] = [];
          let at = runDir;
          t.folders.forEach((_, i) => {
            at = path.join(at, `d${i}`);
            mkdirSync(at);
            dirs.push(at);
          });
          const file = path.join(at, 'tool');
          copyFileSync('/usr/bin/true', file);
          // Set up from the file upward, so each folder is still writable by root while its content is made.
          apply(file, t.file, false);
          for (let i = dirs.length - 1; i >= 0; i--) apply(dirs[i] as string, t.folders[i] as Component, true);
          let asked = file;
          if (t.viaLink) {
            asked = path.join(runDir, 'link');
            symlinkSync(file, asked);
          }

          const components = [...dirs.map((d, i) => ({ path: d, c: t.folders[i] as Component })), { path: file, c: t.file }];
          const expected = components.every((x) => !faulty(x.c));
          const info = await inspectProgram(asked, { hash: t.hash, trustedOwners });
          try {
            expect(info.path).to.equal(file);
            expect(info.trust.trusted, JSON.stringify({ t, trust: info.trust })).to.equal(expected);
            if (!info.trust.trusted) {
              // The reason names a component that is at fault.
              const named = components.filter((x) => info.trust.trusted === false && info.trust.reason.startsWith(`${x.path} `));
              expect(named.map((x) => faulty(x.c)), info.trust.reason).to.deep.equal([true]);
            }
            if (components.some((x) => x.c.owner === 'a' || x.c.owner === 'b' || x.c.otherWrite)) expect(info.trust.trusted).to.equal(false);
            if (t.hash) expect(info.sha256).to.match(/^[0-9a-f]{64}$/);
          } finally {
            await info.handle.close();
          }
        } finally {
          rmSync(runDir, { recursive: true, force: true });
        }
      }),
      { numRuns: 60 },
    );
  });
});
