/**
 * Issue 19, deliver 2: the Debian package publisher of a file (src/deb/dpkg-db.ts), read from
 * dpkg's real database (/usr/bin/true is coreutils') and from admin folders built here, whose
 * files, packages, sums, diversions and permissions each test chooses: a modified file, an
 * unowned file, a file without a recorded sum, a diverted path, merged-/usr aliases, the
 * cache and its invalidation, and hostile database content all fail closed.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { requireComponent } from '../support/components.js';
import { DpkgDb, debPublisherOf, systemDpkg } from '../../src/deb/dpkg-db.js';
import { canonicalPath, linesOf, parseDiversions, parseList, parseMd5sums, parseStatus } from '../../src/deb/dpkg-parse.js';

const md5 = (b: string | Buffer): string => createHash('md5').update(b).digest('hex');

interface PkgSpec {
  stem: string;
  /** Paths listed in .list; with a sum, also in .md5sums. */
  files: { path: string; sum?: string }[];
  /** Written instead of the generated .md5sums. */
  md5sums?: Buffer | string;
  list?: Buffer | string;
  conffiles?: string[];
  status?: string;
}

/** An admin folder (root's, 0755) with a status, info/<stem>.list and .md5sums for each package, and diversions. */
function adminDir(parent: string, pkgs: PkgSpec[], diversions?: string): string {
  const dir = mkdtempSync(path.join(parent, 'admin-'));
  chmodSync(dir, 0o755);
  mkdirSync(path.join(dir, 'info'), { mode: 0o755 });
  const stanzas = pkgs.map((p) => {
    const [name, arch] = p.stem.split(':');
    const conf = p.conffiles?.length ? `Conffiles:\n${p.conffiles.map((c) => ` ${c}`).join('\n')}\n` : '';
    return `Package: ${name}\nStatus: ${p.status ?? 'install ok installed'}\nPriority: optional\nArchitecture: ${arch ?? 'amd64'}\nVersion: 1.0\n${conf}Description: test package\n a long description line: with a colon\n`;
  });
  writeFileSync(path.join(dir, 'status'), stanzas.join('\n'), { mode: 0o644 });
  for (const p of pkgs) {
    writeFileSync(path.join(dir, 'info', `${p.stem}.list`), p.list ?? p.files.map((f) => `${f.path}\n`).join(''), { mode: 0o644 });
    const sums = p.md5sums ?? p.files.filter((f) => f.sum !== undefined).map((f) => `${f.sum}  ${f.path.slice(1)}\n`).join('');
    if (sums !== '') writeFileSync(path.join(dir, 'info', `${p.stem}.md5sums`), sums, { mode: 0o644 });
  }
  if (diversions !== undefined) writeFileSync(path.join(dir, 'diversions'), diversions, { mode: 0o644 });
  return dir;
}

describe('Debian package publisher: dpkg database (issue 19)', function () {
  this.timeout(120_000);
  let tmp = '';
  /** A program file only our constructed databases list. */
  let prog = '';
  let progSum = '';

  before(function () {
    requireComponent(this, process.getuid?.() === 0, 'root (database files must be root-owned)', 'run the tests as root');
    requireComponent(this, spawnSync('dpkg-query', ['-S', '/bin/true']).status === 0, "dpkg's database listing /bin/true (Debian)", 'run on Debian');
    tmp = mkdtempSync(path.join(tmpdir(), 'ascdeb-db-'));
    chmodSync(tmp, 0o755);
    mkdirSync(path.join(tmp, 'files'), { mode: 0o755 });
    prog = path.join(tmp, 'files', 'prog');
    writeFileSync(prog, '#!/bin/sh\necho packaged\n', { mode: 0o755 });
    progSum = md5(readFileSync(prog));
  });

  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe("the system's database", () => {
    const db = systemDpkg;

    it('/usr/bin/true is deb:coreutils (dpkg lists /bin/true: merged /usr), also asked as /bin/true', async () => {
      expect(lstatSync('/bin').isSymbolicLink(), 'Debian 12 has merged /usr').to.equal(true);
      expect(await db.publisherOf('/usr/bin/true')).to.equal('deb:coreutils');
      expect(await db.publisherOf('/bin/true')).to.equal('deb:coreutils');
      // The other way round: nodejs lists /usr/bin/node; asked through the /bin alias.
      const node = spawnSync('dpkg-query', ['-S', '/usr/bin/node'], { encoding: 'utf8' });
      if (node.status === 0 && /^nodejs:/.test(node.stdout)) expect(await db.publisherOf('/bin/node')).to.equal('deb:nodejs');
    });

    it('through an open descriptor: the bytes read are those of the handle', async () => {
      const h = await open('/usr/bin/true', 'r');
      try {
        expect(await db.publisherOf('/usr/bin/true', h)).to.equal('deb:coreutils');
      } finally {
        await h.close();
      }
      expect(await debPublisherOf('/usr/bin/true')).to.equal('deb:coreutils');
    });

    it('a copy of /usr/bin/true elsewhere (same bytes) and a modified copy are nobody\'s', async () => {
      const copy = path.join(tmp, 'files', 'true');
      copyFileSync('/usr/bin/true', copy);
      const a = await db.resolve(copy);
      expect(a.publisher).to.equal(undefined);
      expect(a.reason).to.match(/no installed package lists/);
      writeFileSync(copy, Buffer.concat([readFileSync('/usr/bin/true'), Buffer.from('x')]));
      expect(await db.publisherOf(copy)).to.equal(undefined);
    });

    it('a file no package owns, a folder, a path that does not exist: none', async () => {
      expect(await db.publisherOf(prog)).to.equal(undefined);
      expect(await db.publisherOf('/usr/bin')).to.equal(undefined);
      expect(await db.publisherOf('/usr/bin/ascdeb-no-such-program')).to.equal(undefined);
      expect(await db.publisherOf('relative/true')).to.equal(undefined);
    });

    it('a diverted path never counts (dpkg-divert)', async function () {
      const div = readFileSync('/var/lib/dpkg/diversions', 'utf8').split('\n');
      // Any diverted path that is a regular file on this machine.
      let diverted: string | undefined;
      for (let i = 0; i + 2 < div.length; i += 3) {
        const p = div[i] as string;
        try {
          if (lstatSync(p).isFile()) diverted = p;
        } catch {
          // not there
        }
      }
      if (diverted === undefined) return; // covered by the constructed database below
      const a = await db.resolve(diverted);
      expect(a.publisher).to.equal(undefined);
      expect(a.reason).to.match(/diverted/);
    });
  });

  describe('a constructed database', () => {
    it('a listed file with its sum is the package\'s (deb:<name>, without :arch); changed bytes at the same path never count', async () => {
      const db = new DpkgDb({ adminDir: adminDir(tmp, [{ stem: 'ascdebpkg:amd64', files: [{ path: path.dirname(prog) }, { path: prog, sum: progSum }] }]) });
      expect(await db.publisherOf(prog)).to.equal('deb:ascdebpkg');
      const before = readFileSync(prog);
      try {
        writeFileSync(prog, '#!/bin/sh\necho changed\n');
        const a = await db.resolve(prog);
        expect(a.publisher).to.equal(undefined);
        expect(a.reason).to.match(/MD5 differs/);
      } finally {
        writeFileSync(prog, before);
      }
      expect(await db.publisherOf(prog)).to.equal('deb:ascdebpkg');
      expect(db.builds, 'the index is built once and reused').to.equal(1);
    });

    it('a listed file without a recorded sum, a file of a package not installed, a file two packages claim: none', async () => {
      const noSum = new DpkgDb({ adminDir: adminDir(tmp, [{ stem: 'ascdebpkg', files: [{ path: prog }] }]) });
      expect(await noSum.publisherOf(prog)).to.equal(undefined);
      const removed = new DpkgDb({ adminDir: adminDir(tmp, [{ stem: 'ascdebpkg', status: 'deinstall ok config-files', files: [{ path: prog, sum: progSum }] }]) });
      expect(await removed.publisherOf(prog)).to.equal(undefined);
      const half = new DpkgDb({ adminDir: adminDir(tmp, [{ stem: 'ascdebpkg', status: 'install reinstreq half-installed', files: [{ path: prog, sum: progSum }] }]) });
      expect(await half.publisherOf(prog)).to.equal(undefined);
      const twice = new DpkgDb({ adminDir: adminDir(tmp, [{ stem: 'ascdeba', files: [{ path: prog, sum: progSum }] }, { stem: 'ascdebb', files: [{ path: prog }] }]) });
      const a = await twice.resolve(prog);
      expect(a.publisher).to.equal(undefined);
      expect(a.reason).to.match(/more than one package/);
      // A sum in .md5sums for a path the package no longer lists (dpkg's Replaces): not counted.
      const replaced = new DpkgDb({ adminDir: adminDir(tmp, [{ stem: 'ascdebold', files: [], md5sums: `${progSum}  ${prog.slice(1)}\n` }]) });
      expect(await replaced.publisherOf(prog)).to.equal(undefined);
    });

    it('a conffile counts with the md5 of status; an obsolete one does not', async () => {
      const conf = new DpkgDb({ adminDir: adminDir(tmp, [{ stem: 'ascdebconf', files: [{ path: prog }], conffiles: [`${prog} ${progSum}`] }]) });
      expect(await conf.publisherOf(prog)).to.equal('deb:ascdebconf');
      const obsolete = new DpkgDb({ adminDir: adminDir(tmp, [{ stem: 'ascdebconf', files: [{ path: prog }], conffiles: [`${prog} ${progSum} obsolete`] }]) });
      expect(await obsolete.publisherOf(prog)).to.equal(undefined);
      const wrong = new DpkgDb({ adminDir: adminDir(tmp, [{ stem: 'ascdebconf', files: [{ path: prog }], conffiles: [`${prog} ${md5('other')}`] }]) });
      expect(await wrong.publisherOf(prog)).to.equal(undefined);
    });

    it('a diverted path (either side of the diversion) is never the package\'s', async () => {
      const pkgs = [{ stem: 'ascdebpkg', files: [{ path: prog, sum: progSum }] }];
      expect(await new DpkgDb({ adminDir: adminDir(tmp, pkgs, `${prog}\n${prog}.distrib\nascdebother\n`) }).publisherOf(prog)).to.equal(undefined);
      expect(await new DpkgDb({ adminDir: adminDir(tmp, pkgs, `/usr/bin/x\n${prog}\n:\n`) }).publisherOf(prog)).to.equal(undefined);
      expect(await new DpkgDb({ adminDir: adminDir(tmp, pkgs, `/usr/bin/x\n/usr/bin/x.distrib\n:\n`) }).publisherOf(prog)).to.equal('deb:ascdebpkg');
    });

    it('the index is read again when the database changes: a new .md5sums, one edited in place, a package removed', async () => {
      const dir = adminDir(tmp, [{ stem: 'ascdebpkg', files: [{ path: prog, sum: md5('old bytes') }] }]);
      const db = new DpkgDb({ adminDir: dir });
      expect(await db.publisherOf(prog)).to.equal(undefined);
      expect(await db.publisherOf(prog)).to.equal(undefined);
      expect(db.builds).to.equal(1);
      // As dpkg writes it: a new file renamed over the old one.
      const sums = path.join(dir, 'info', 'ascdebpkg.md5sums');
      writeFileSync(`${sums}.new`, `${progSum}  ${prog.slice(1)}\n`, { mode: 0o644 });
      renameSync(`${sums}.new`, sums);
      expect(await db.publisherOf(prog)).to.equal('deb:ascdebpkg');
      expect(db.builds).to.equal(2);
      // Edited in place (the folder does not change): the package's own files are compared on each lookup.
      writeFileSync(sums, `${md5('other bytes')}  ${prog.slice(1)}\n`);
      expect(await db.publisherOf(prog)).to.equal(undefined);
      writeFileSync(sums, `${progSum}  ${prog.slice(1)}\n`);
      expect(await db.publisherOf(prog)).to.equal('deb:ascdebpkg');
      // Removed: status says it is gone.
      writeFileSync(path.join(dir, 'status'), 'Package: ascdebpkg\nStatus: purge ok not-installed\nArchitecture: amd64\n');
      expect(await db.publisherOf(prog)).to.equal(undefined);
    });

    it('merged /usr: only the aliases the root really has (bin -> usr/bin), never another link', async () => {
      // coreutils' own database entries (it lists /bin/true), in a folder of our own.
      const dir = adminDir(tmp, []);
      writeFileSync(path.join(dir, 'status'), 'Package: coreutils\nStatus: install ok installed\nArchitecture: amd64\n', { mode: 0o644 });
      for (const kind of ['list', 'md5sums']) copyFileSync(`/var/lib/dpkg/info/coreutils.${kind}`, path.join(dir, 'info', `coreutils.${kind}`));
      expect(await new DpkgDb({ adminDir: dir }).publisherOf('/usr/bin/true')).to.equal('deb:coreutils');
      const roots = mkdtempSync(path.join(tmp, 'roots-'));
      const mk = (name: string, link?: string): string => {
        const r = path.join(roots, name);
        mkdirSync(path.join(r, 'usr', 'bin'), { recursive: true });
        if (link !== undefined) symlinkSync(link, path.join(r, 'bin'));
        return r;
      };
      expect(await new DpkgDb({ adminDir: dir, root: mk('none') }).publisherOf('/usr/bin/true'), 'no /bin link: /bin/true is not /usr/bin/true').to.equal(undefined);
      expect(await new DpkgDb({ adminDir: dir, root: mk('merged', 'usr/bin') }).publisherOf('/usr/bin/true')).to.equal('deb:coreutils');
      expect(await new DpkgDb({ adminDir: dir, root: mk('elsewhere', '/tmp') }).publisherOf('/usr/bin/true'), 'bin -> /tmp is no alias').to.equal(undefined);
      const userLink = mk('user-link', 'usr/bin');
      spawnSync('chown', ['-h', '65534:65534', path.join(userLink, 'bin')]);
      expect(await new DpkgDb({ adminDir: dir, root: userLink }).publisherOf('/usr/bin/true'), 'a link root does not own').to.equal(undefined);
    });

    it('a path listed as both /bin/x and /usr/bin/x by two packages is refused', async () => {
      const dir = adminDir(tmp, [{ stem: 'ascdebother', files: [{ path: '/usr/bin/true', sum: md5(readFileSync('/usr/bin/true')) }] }]);
      const status = readFileSync(path.join(dir, 'status'), 'utf8');
      writeFileSync(path.join(dir, 'status'), `${status}\nPackage: coreutils\nStatus: install ok installed\nArchitecture: amd64\n`);
      for (const kind of ['list', 'md5sums']) copyFileSync(`/var/lib/dpkg/info/coreutils.${kind}`, path.join(dir, 'info', `coreutils.${kind}`));
      const a = await new DpkgDb({ adminDir: dir }).resolve('/usr/bin/true');
      expect(a.publisher).to.equal(undefined);
      expect(a.reason).to.match(/more than one package/);
    });
  });

  describe('hostile database content fails closed', () => {
    const good = (): PkgSpec => ({ stem: 'ascdebpkg', files: [{ path: prog, sum: progSum }] });
    const cases: [string, () => string][] = [
      ['a line longer than a path', () => adminDir(tmp, [{ ...good(), md5sums: `${progSum}  ${prog.slice(1)}\n${'0'.repeat(32)}  ${'a/'.repeat(3000)}b\n` }])],
      ['a NUL in .list', () => adminDir(tmp, [{ ...good(), list: `${prog}\n/usr/x\0y\n` }])],
      ['bytes that are not UTF-8 in .md5sums', () => adminDir(tmp, [{ ...good(), md5sums: Buffer.concat([Buffer.from(`${progSum}  ${prog.slice(1)}\n${progSum}  usr/`), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]) }])],
      ['a malformed .md5sums line', () => adminDir(tmp, [{ ...good(), md5sums: `${progSum} ${prog.slice(1)}\n` }])],
      ['a .list path with ..', () => adminDir(tmp, [{ ...good(), list: `${prog}\n/usr/../etc/x\n` }])],
      ['two sums for one path', () => adminDir(tmp, [{ ...good(), md5sums: `${progSum}  ${prog.slice(1)}\n${md5('x')}  ${prog.slice(1)}\n` }])],
      ['a NUL in status', () => {
        const d = adminDir(tmp, [good()]);
        writeFileSync(path.join(d, 'status'), `${readFileSync(path.join(d, 'status'), 'utf8')}\nPackage: x\0\n`);
        return d;
      }],
      ['a symbolic link as .md5sums', () => {
        const d = adminDir(tmp, [good()]);
        const f = path.join(d, 'info', 'ascdebpkg.md5sums');
        renameSync(f, path.join(d, 'elsewhere'));
        symlinkSync(path.join(d, 'elsewhere'), f);
        return d;
      }],
      ['a symbolic link as status', () => {
        const d = adminDir(tmp, [good()]);
        renameSync(path.join(d, 'status'), path.join(d, 'status-real'));
        symlinkSync(path.join(d, 'status-real'), path.join(d, 'status'));
        return d;
      }],
      ['a symbolic link as the info folder', () => {
        const d = adminDir(tmp, [good()]);
        renameSync(path.join(d, 'info'), path.join(d, 'info-real'));
        symlinkSync(path.join(d, 'info-real'), path.join(d, 'info'));
        return d;
      }],
      ['a group-writable .list', () => {
        const d = adminDir(tmp, [good()]);
        chmodSync(path.join(d, 'info', 'ascdebpkg.list'), 0o664);
        return d;
      }],
      ['a .md5sums owned by another user', () => {
        const d = adminDir(tmp, [good()]);
        chownSync(path.join(d, 'info', 'ascdebpkg.md5sums'), 65534, 65534);
        return d;
      }],
      ['an admin folder others may write', () => {
        const d = adminDir(tmp, [good()]);
        chmodSync(d, 0o777);
        return d;
      }],
      ['an admin folder under a folder a user owns', () => {
        const owned = mkdtempSync(path.join(tmp, 'owned-'));
        chmodSync(owned, 0o755);
        const d = adminDir(owned, [good()]);
        chownSync(owned, 65534, 65534);
        return d;
      }],
      ['a diversions file cut short', () => adminDir(tmp, [good()], `${'/usr/bin/x'}\n/usr/bin/x.distrib\n`)],
      ['a FIFO as .md5sums', () => {
        const d = adminDir(tmp, [good()]);
        rmSync(path.join(d, 'info', 'ascdebpkg.md5sums'));
        expect(spawnSync('mkfifo', ['-m', '0644', path.join(d, 'info', 'ascdebpkg.md5sums')]).status).to.equal(0);
        return d;
      }],
    ];
    it('the same package, well-formed, is found (the cases below differ from it in one thing)', async () => {
      expect(await new DpkgDb({ adminDir: adminDir(tmp, [good()]) }).publisherOf(prog)).to.equal('deb:ascdebpkg');
    });
    for (const [what, make] of cases) {
      it(what, async () => {
        const a = await new DpkgDb({ adminDir: make() }).resolve(prog);
        expect(a.publisher, a.reason).to.equal(undefined);
      });
    }
  });

  describe('parsers', () => {
    it('md5sums, list, status, diversions as dpkg writes them', () => {
      expect([...(parseMd5sums(Buffer.from(`${'a'.repeat(32)}  usr/bin/x y\n`)) ?? [])]).to.deep.equal([['/usr/bin/x y', 'a'.repeat(32)]]);
      expect(parseMd5sums(Buffer.from(`${'A'.repeat(32)}  usr/bin/x\n`))).to.equal(null);
      expect(parseList(Buffer.from('/.\n/usr\n/usr/bin/x\n'))).to.deep.equal(['/.', '/usr', '/usr/bin/x']);
      expect(parseList(Buffer.from('usr/bin/x\n'))).to.equal(null);
      expect(parseList(Buffer.from('/usr/bin/x/\n'))).to.equal(null);
      const st = parseStatus(Buffer.from('Package: aa\nStatus: hold ok installed\nArchitecture: all\nConffiles:\n /etc/a 0123456789abcdef0123456789abcdef\n /etc/b 0123456789abcdef0123456789abcdef remove-on-upgrade\n\nPackage: bb\nStatus: install ok unpacked\nArchitecture: amd64\n\nPackage: cc\nStatus: install ok installed\nArchitecture: arm64\nMulti-Arch: same\n'));
      expect([...(st?.installed ?? [])]).to.deep.equal(['aa', 'cc', 'cc:arm64']);
      expect(parseStatus(Buffer.from('Package: a\nStatus: install ok installed\n')), 'a one-letter name is no package name').to.equal(null);
      expect([...(st?.conffiles.keys() ?? [])]).to.deep.equal(['/etc/a']);
      expect(parseStatus(Buffer.from('no colon here\n'))).to.equal(null);
      expect([...(parseDiversions(Buffer.from('/a\n/a.d\npkg\n')) ?? [])]).to.deep.equal(['/a', '/a.d']);
      expect(linesOf(Buffer.from('a\r\nb\n'))).to.equal(null);
    });

    it('canonicalPath maps an alias to its /usr form and nothing else', () => {
      const aliases = new Map([['/bin', '/usr/bin'], ['/lib64', '/usr/lib64']]);
      expect(canonicalPath('/bin/true', aliases)).to.equal('/usr/bin/true');
      expect(canonicalPath('/bin', aliases)).to.equal('/usr/bin');
      expect(canonicalPath('/usr/bin/true', aliases)).to.equal('/usr/bin/true');
      expect(canonicalPath('/binx/true', aliases)).to.equal('/binx/true');
      expect(canonicalPath('/sbin/x', aliases)).to.equal('/sbin/x');
    });
  });
});
