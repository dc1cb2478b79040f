import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AscendError } from '../../src/errors.js';
import {
  buildSmbclientInvocation,
  checkSegment,
  FsSysvolStore,
  openSysvolStore,
  SmbSysvolStore,
  type SmbSysvolOptions,
  type SysvolStore,
} from '../../gpo-extension/sysvol/index.js';
import { requireTestDc, type TestDc } from '../support/samba-dc.js';
import { requireComponent } from '../support/components.js';

/** Awaits the promise and returns the AscendError it rejects with (fails when it resolves). */
async function rejection(p: Promise<unknown>): Promise<AscendError> {
  try {
    await p;
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(AscendError);
    return e as AscendError;
  }
  expect.fail('expected a rejection');
}

function thrown(fn: () => unknown): AscendError {
  try {
    fn();
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(AscendError);
    return e as AscendError;
  }
  expect.fail('expected an error');
}

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);
const UNSAFE = ['..', '.', '', 'a/b', 'a\\b', 'a\0b', 'c:stream', 'x*', 'what?', 'say"hi"', 'line\nbreak', '<', 'a|b'];

/** Every store keeps this contract; `base` is a scratch folder (created by the suite) the tests work under. */
function contract(label: string, setup: () => Promise<{ store: SysvolStore; base: string[] } | undefined>, teardown: () => Promise<void>): void {
  describe(`SysvolStore contract: ${label}`, function () {
    this.timeout(120_000);
    let store: SysvolStore;
    let base: string[];
    let n = 0;
    const fresh = (): string[] => [...base, `t${++n}`];

    before(async function () {
      const s = await setup();
      if (s === undefined) return requireComponent(this, false, `the store under test (${label})`, 'see test/support/samba-dc.ts');
      store = s.store;
      base = s.base;
      await store.mkdir(base);
    });

    after(async () => {
      await teardown();
    });

    it('round-trips binary data holding every byte value', async () => {
      const dir = fresh();
      await store.mkdir(dir);
      await store.write([...dir, 'all.bin'], ALL_BYTES);
      const back = await store.read([...dir, 'all.bin']);
      expect(back).to.be.instanceOf(Uint8Array);
      expect(Array.from(back ?? [])).to.deep.equal(Array.from(ALL_BYTES));
      const big = new Uint8Array(randomBytes(300_000));
      await store.write([...dir, 'Registry.pol'], big);
      expect(Buffer.from((await store.read([...dir, 'Registry.pol'])) ?? []).equals(Buffer.from(big))).to.equal(true);
      const empty = new Uint8Array(0);
      await store.write([...dir, 'empty'], empty);
      expect((await store.read([...dir, 'empty']))?.length).to.equal(0);
    });

    it('overwrites atomically: readers see the old or the new content, and no temporary file is left', async () => {
      const dir = fresh();
      await store.mkdir(dir);
      const target = [...dir, 'GPT.INI'];
      const old = new Uint8Array(randomBytes(64 * 1024));
      await store.write(target, old);
      const versions = [old, ...[1, 2, 3].map(() => new Uint8Array(randomBytes(64 * 1024)))];
      const known = new Set(versions.map((v) => Buffer.from(v).toString('hex')));
      const writes = versions.slice(1).map((v) => store.write(target, v));
      const reads = Array.from({ length: 6 }, () => store.read(target));
      const seen = await Promise.all(reads);
      await Promise.all(writes);
      for (const s of seen) {
        expect(s, 'a read during the overwrite found no file').to.not.equal(undefined);
        expect(known.has(Buffer.from(s ?? []).toString('hex')), 'a read saw a torn file').to.equal(true);
      }
      const last = await store.read(target);
      expect(known.has(Buffer.from(last ?? []).toString('hex'))).to.equal(true);
      expect(await store.list(dir)).to.deep.equal(['GPT.INI']);
      // A plain overwrite, then the listing again.
      await store.write(target, ALL_BYTES);
      expect(Array.from((await store.read(target)) ?? [])).to.deep.equal(Array.from(ALL_BYTES));
      expect(await store.list(dir)).to.deep.equal(['GPT.INI']);
    });

    it('reads a missing file, or a file under a missing folder, as undefined', async () => {
      const dir = fresh();
      await store.mkdir(dir);
      expect(await store.read([...dir, 'nope.pol'])).to.equal(undefined);
      expect(await store.read([...dir, 'no-folder', 'nope.pol'])).to.equal(undefined);
    });

    it('mkdir creates parents and accepts a folder that is there', async () => {
      const dir = fresh();
      const deep = [...dir, '{31B2F340-016D-11D2-945F-00C04FB984F9}', 'Machine', 'Scripts'];
      await store.mkdir(deep);
      expect(await store.exists(deep)).to.equal(true);
      await store.mkdir(deep);
      await store.mkdir([...dir, '{31B2F340-016D-11D2-945F-00C04FB984F9}']);
      expect(await store.list(dir)).to.deep.equal(['{31B2F340-016D-11D2-945F-00C04FB984F9}']);
      expect(await store.list([...dir, '{31B2F340-016D-11D2-945F-00C04FB984F9}', 'Machine'])).to.deep.equal(['Scripts']);
    });

    it('mkdir fails when a file is in the way', async () => {
      const dir = fresh();
      await store.mkdir(dir);
      await store.write([...dir, 'Machine'], ALL_BYTES);
      expect((await rejection(store.mkdir([...dir, 'Machine']))).code).to.equal('ASC_SYSVOL_IO');
      expect((await rejection(store.mkdir([...dir, 'Machine', 'Sub']))).code).to.equal('ASC_SYSVOL_IO');
    });

    it('exists tells files and folders from missing names', async () => {
      const dir = fresh();
      await store.mkdir([...dir, 'User']);
      await store.write([...dir, 'GPT.INI'], ALL_BYTES);
      expect(await store.exists(dir)).to.equal(true);
      expect(await store.exists([...dir, 'User'])).to.equal(true);
      expect(await store.exists([...dir, 'GPT.INI'])).to.equal(true);
      expect(await store.exists([...dir, 'gone'])).to.equal(false);
      expect(await store.exists([...dir, 'gone', 'deeper'])).to.equal(false);
      expect(await store.exists([])).to.equal(true);
    });

    it('lists names sorted, without . and .., and refuses a missing folder', async () => {
      const dir = fresh();
      await store.mkdir([...dir, 'b-folder']);
      await store.write([...dir, 'c file with spaces.txt'], ALL_BYTES);
      await store.write([...dir, 'a;semi,colon.txt'], ALL_BYTES);
      await store.write([...dir, '.hidden'], ALL_BYTES);
      await store.write([...dir, 'ünïcödé-名前.pol'], ALL_BYTES);
      expect(await store.list(dir)).to.deep.equal(['.hidden', 'a;semi,colon.txt', 'b-folder', 'c file with spaces.txt', 'ünïcödé-名前.pol']);
      expect(Array.from((await store.read([...dir, 'a;semi,colon.txt'])) ?? [])).to.deep.equal(Array.from(ALL_BYTES));
      expect(await store.list([...dir, 'b-folder'])).to.deep.equal([]);
      expect((await rejection(store.list([...dir, 'missing']))).code).to.equal('ASC_SYSVOL_IO');
    });

    it('removeTree removes a folder with its contents, a single file, and accepts a missing name', async () => {
      const dir = fresh();
      await store.mkdir([...dir, 'gpo', 'Machine', 'Scripts', 'Startup']);
      await store.write([...dir, 'gpo', 'GPT.INI'], ALL_BYTES);
      await store.write([...dir, 'gpo', 'Machine', 'Registry.pol'], ALL_BYTES);
      await store.write([...dir, 'keep.txt'], ALL_BYTES);
      await store.removeTree([...dir, 'gpo']);
      expect(await store.exists([...dir, 'gpo'])).to.equal(false);
      expect(await store.list(dir)).to.deep.equal(['keep.txt']);
      await store.removeTree([...dir, 'keep.txt']);
      expect(await store.list(dir)).to.deep.equal([]);
      await store.removeTree([...dir, 'gpo']);
      await store.removeTree([...dir, 'never', 'there']);
    });

    it('write into a missing folder fails with ASC_SYSVOL_IO and leaves nothing behind', async () => {
      const dir = fresh();
      await store.mkdir(dir);
      const e = await rejection(store.write([...dir, 'missing', 'Registry.pol'], ALL_BYTES));
      expect(e.code).to.equal('ASC_SYSVOL_IO');
      expect(e.message).to.contain(store.description);
      expect(await store.list(dir)).to.deep.equal([]);
    });

    it('write over a folder fails with ASC_SYSVOL_IO and leaves no temporary file', async () => {
      const dir = fresh();
      await store.mkdir([...dir, 'Machine']);
      expect((await rejection(store.write([...dir, 'Machine'], ALL_BYTES))).code).to.equal('ASC_SYSVOL_IO');
      expect(await store.list(dir)).to.deep.equal(['Machine']);
    });

    it('refuses unsafe segments in every operation', async () => {
      for (const bad of UNSAFE) {
        const p = [...base, bad];
        for (const op of [store.read(p), store.write(p, ALL_BYTES), store.mkdir(p), store.exists(p), store.removeTree(p), store.list(p)]) {
          expect((await rejection(op)).code, JSON.stringify(bad)).to.equal('ASC_SYSVOL_UNSAFE_PATH');
        }
      }
      // The root itself is not a file to read, write or remove.
      for (const op of [store.read([]), store.write([], ALL_BYTES), store.removeTree([])]) {
        expect((await rejection(op)).code).to.equal('ASC_SYSVOL_UNSAFE_PATH');
      }
    });
  });
}

describe('checkSegment', () => {
  it('returns safe names unchanged', () => {
    for (const ok of ['corp.example.test', 'Policies', '{31B2F340-016D-11D2-945F-00C04FB984F9}', 'Registry.pol', 'GPT.INI', 'a b', '...', '.hidden', 'ü']) {
      expect(checkSegment(ok)).to.equal(ok);
    }
  });

  it('refuses empty, dot, dot-dot, separators, colon, NUL, wildcards, quotes and control characters, naming the segment', () => {
    for (const bad of UNSAFE) {
      const e = thrown(() => checkSegment(bad));
      expect(e.code).to.equal('ASC_SYSVOL_UNSAFE_PATH');
      expect(e.message).to.contain(JSON.stringify(bad));
    }
  });
});

describe('SYSVOL stores refuse unsafe paths before any I/O', () => {
  it('FsSysvolStore and SmbSysvolStore check segments first', async () => {
    // Stores whose I/O could only fail differently: no such folder, no such smbclient.
    const fsStore = new FsSysvolStore(join(tmpdir(), `ascend-no-such-${randomBytes(4).toString('hex')}`));
    const smbStore = new SmbSysvolStore({ host: '127.0.0.1', share: 'sysvol', user: 'u', password: 'pw-123456', smbclient: '/nonexistent/smbclient' });
    for (const store of [fsStore, smbStore]) {
      for (const bad of ['..', 'a/b', 'a\\b', '', 'a\0b']) {
        const p = ['corp.example.test', bad, 'x'];
        for (const op of [store.read(p), store.write(p, ALL_BYTES), store.mkdir(p), store.exists(p), store.removeTree(p), store.list(p)]) {
          expect((await rejection(op)).code).to.equal('ASC_SYSVOL_UNSAFE_PATH');
        }
      }
    }
    // The same smbclient-less store does reach I/O for a safe path (so the above proves the order).
    expect((await rejection(smbStore.exists(['corp.example.test']))).message).to.contain('not installed');
  });
});

describe('SmbSysvolStore: the smbclient command line', () => {
  const opts: SmbSysvolOptions = { host: 'dc1.corp.example.test', share: 'sysvol', user: 'Administrator', domain: 'CORP', password: 'S3cr3t!pw%;"x', port: 4455 };

  it('carries the password in PASSWD only, never in argv or the commands', () => {
    const inv = buildSmbclientInvocation(opts, ['ls "*"']);
    expect(inv.command).to.equal('smbclient');
    for (const a of inv.args) expect(a).to.not.contain('S3cr3t');
    expect(inv.input).to.not.contain('S3cr3t');
    expect(inv.env.PASSWD).to.equal(opts.password);
    expect(inv.args).to.include('--user=CORP/Administrator');
    expect(inv.args[0]).to.equal('//dc1.corp.example.test/sysvol');
    expect(inv.args).to.include('--port=4455');
  });

  it('requires SMB signing and SMB2 or later', () => {
    const inv = buildSmbclientInvocation(opts, []);
    expect(inv.args).to.include('--client-protection=sign');
    expect(inv.args).to.include('--option=client signing = required');
    expect(inv.args).to.include('--option=client min protocol = SMB2_02');
    expect(inv.args).to.include('--max-protocol=SMB3');
  });

  it('drops other credential variables from the environment', () => {
    const saved = { PASSWD_FILE: process.env.PASSWD_FILE, USER: process.env.USER };
    process.env.PASSWD_FILE = '/tmp/other';
    process.env.USER = 'someone%theirpassword';
    try {
      const inv = buildSmbclientInvocation(opts, []);
      expect(inv.env.PASSWD_FILE).to.equal(undefined);
      expect(inv.env.USER).to.equal(undefined);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('refuses settings smbclient would misread, without echoing the password', () => {
    for (const bad of [
      { ...opts, user: 'admin%pw' },
      { ...opts, user: '' },
      { ...opts, host: '//evil' },
      { ...opts, host: 'a b' },
      { ...opts, share: 'sys/vol' },
      { ...opts, share: '' },
      { ...opts, domain: 'CO/RP' },
      { ...opts, password: '' },
      { ...opts, port: 0 },
      { ...opts, port: 70000 },
    ]) {
      const e = thrown(() => new SmbSysvolStore(bad));
      expect(e.code).to.equal('ASC_CONFIG');
      expect(e.message).to.not.contain('S3cr3t');
    }
  });

  it('describes itself without credentials', () => {
    const s = new SmbSysvolStore(opts);
    expect(s.description).to.equal('smb://dc1.corp.example.test:4455/sysvol');
  });
});

describe('openSysvolStore', () => {
  const creds = { user: 'Administrator', password: 'Pa55word!x', domain: 'CORP' };

  it('opens smb://HOST[:PORT]/SHARE with credentials as an SMB store', () => {
    const s = openSysvolStore('smb://127.0.0.1/sysvol', creds);
    expect(s).to.be.instanceOf(SmbSysvolStore);
    expect(s.description).to.equal('smb://127.0.0.1/sysvol');
    expect(openSysvolStore('SMB://dc1.corp.example.test:1445/SYSVOL', creds).description).to.equal('smb://dc1.corp.example.test:1445/SYSVOL');
  });

  it('opens anything else as a folder', () => {
    const s = openSysvolStore('/var/lib/samba/sysvol');
    expect(s).to.be.instanceOf(FsSysvolStore);
    expect(s.description).to.equal('/var/lib/samba/sysvol');
  });

  it('refuses SMB without credentials, credentials in the URL, extra path parts, and an empty setting', () => {
    expect(thrown(() => openSysvolStore('smb://127.0.0.1/sysvol')).code).to.equal('ASC_CONFIG');
    const e = thrown(() => openSysvolStore('smb://admin:Hunter2pw@127.0.0.1/sysvol', creds));
    expect(e.code).to.equal('ASC_CONFIG');
    expect(e.message).to.not.contain('Hunter2pw');
    expect(thrown(() => openSysvolStore('smb://127.0.0.1/sysvol/corp.example.test', creds)).code).to.equal('ASC_CONFIG');
    expect(thrown(() => openSysvolStore('smb://127.0.0.1/', creds)).code).to.equal('ASC_CONFIG');
    expect(thrown(() => openSysvolStore('smb:///sysvol', creds)).code).to.equal('ASC_CONFIG');
    expect(thrown(() => openSysvolStore('')).code).to.equal('ASC_CONFIG');
    if (process.platform !== 'win32') expect(thrown(() => openSysvolStore('\\\\dc1\\sysvol')).code).to.equal('ASC_CONFIG');
  });
});

// --- The contract, on a folder -------------------------------------------------------------

let fsRoot: string | undefined;
contract(
  'FsSysvolStore on a temporary folder',
  async () => {
    fsRoot = mkdtempSync(join(tmpdir(), 'ascend-sysvol-'));
    return { store: new FsSysvolStore(fsRoot), base: ['corp.example.test', 'scratch'] };
  },
  async () => {
    if (fsRoot !== undefined) rmSync(fsRoot, { recursive: true, force: true });
  },
);

describe('FsSysvolStore specifics', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'ascend-sysvol-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('keeps the mode of the file it replaces (POSIX file modes: skipped on Windows, which has none)', async function () {
    if (process.platform === 'win32') this.skip();
    const store = new FsSysvolStore(root);
    await store.write(['GPT.INI'], ALL_BYTES);
    chmodSync(join(root, 'GPT.INI'), 0o640);
    await store.write(['GPT.INI'], new Uint8Array([1, 2, 3]));
    expect(statSync(join(root, 'GPT.INI')).mode & 0o777).to.equal(0o640);
    expect([...readFileSync(join(root, 'GPT.INI'))]).to.deep.equal([1, 2, 3]);
  });
});

// --- The contract, over SMB on the test DC -------------------------------------------------

let dc: TestDc | undefined;
let smbScratch: { store: SmbSysvolStore; base: string[] } | undefined;

function smbStoreFor(d: TestDc, password = d.password): SmbSysvolStore {
  const url = new URL(d.smbUrl);
  return new SmbSysvolStore({ host: url.hostname, share: url.pathname.slice(1), user: 'Administrator', domain: d.netbiosDomain, password });
}

describe('SmbSysvolStore on the test DC', function () {
  this.timeout(240_000);
  before(async function () {
    dc = await requireTestDc(this);
  });

  contract(
    'SmbSysvolStore on the DC sysvol share',
    async () => {
      if (dc === undefined) return undefined;
      smbScratch = { store: smbStoreFor(dc), base: [dc.dnsDomain, `ascend-test-${randomBytes(6).toString('hex')}`] };
      return smbScratch;
    },
    async () => {
      if (smbScratch !== undefined) await smbScratch.store.removeTree(smbScratch.base);
    },
  );

  describe('SMB specifics', () => {
    let store: SmbSysvolStore;
    let base: string[];
    before(async function () {
      if (dc === undefined) return requireComponent(this, false, 'the test DC', 'see test/support/samba-dc.ts');
      store = smbStoreFor(dc);
      base = [dc.dnsDomain, `ascend-test-${randomBytes(6).toString('hex')}`];
      await store.mkdir(base);
    });
    after(async () => {
      if (store !== undefined) await store.removeTree(base);
    });

    it('writes where the DC keeps the share (the folder store sees the same bytes)', async function () {
      if (dc === undefined || !existsSync(dc.sysvolPath)) return requireComponent(this, false, 'the test DC and its sysvol folder', 'see test/support/samba-dc.ts');
      await store.write([...base, 'Registry.pol'], ALL_BYTES);
      const fsStore = new FsSysvolStore(dc.sysvolPath);
      expect(Array.from((await fsStore.read([...base, 'Registry.pol'])) ?? [])).to.deep.equal(Array.from(ALL_BYTES));
      expect(await fsStore.list(base)).to.deep.equal(['Registry.pol']);
    });

    it('reads the Default Domain Policy GPT.INI that provisioning wrote', async function () {
      if (dc === undefined) return requireComponent(this, false, 'the test DC', 'see test/support/samba-dc.ts');
      const ini = await store.read([dc.dnsDomain, 'Policies', '{31B2F340-016D-11D2-945F-00C04FB984F9}', 'GPT.INI']);
      expect(Buffer.from(ini ?? []).toString('latin1')).to.match(/\[General\]/i);
    });

    it('a wrong password is ASC_SYSVOL_AUTH, and no password shows in the message', async function () {
      if (dc === undefined) return requireComponent(this, false, 'the test DC', 'see test/support/samba-dc.ts');
      const wrong = `Wrong-${randomBytes(6).toString('hex')}`;
      const e = await rejection(smbStoreFor(dc, wrong).read([...base, 'x']));
      expect(e.code).to.equal('ASC_SYSVOL_AUTH');
      expect(e.message).to.not.contain(wrong);
      expect(e.message).to.not.contain(dc.password);
      expect(e.message).to.contain('NT_STATUS_LOGON_FAILURE');
    });

    it('a share that does not exist and a closed port are ASC_SYSVOL_IO with smbclient\'s NT_STATUS', async function () {
      if (dc === undefined) return requireComponent(this, false, 'the test DC', 'see test/support/samba-dc.ts');
      const noShare = new SmbSysvolStore({ host: '127.0.0.1', share: 'no-such-share', user: 'Administrator', domain: dc.netbiosDomain, password: dc.password });
      const e1 = await rejection(noShare.exists(['x']));
      expect(e1.code).to.equal('ASC_SYSVOL_IO');
      expect(e1.message).to.contain('NT_STATUS_BAD_NETWORK_NAME');
      expect(e1.message).to.not.contain(dc.password);
      const closed = new SmbSysvolStore({ host: '127.0.0.1', share: 'sysvol', user: 'Administrator', domain: dc.netbiosDomain, password: dc.password, port: 1 });
      const e2 = await rejection(closed.exists(['x']));
      expect(e2.code).to.equal('ASC_SYSVOL_IO');
      expect(e2.message).to.contain('NT_STATUS_CONNECTION_REFUSED');
      expect(e2.message).to.not.contain(dc.password);
    });

    it('the password reaches smbclient in its environment only: never in its argv or on its standard input', async function () {
      // smbclient is run through a wrapper that records exactly what it was given (argv,
      // environment, standard input) and hands the same to the real smbclient. Every run is
      // seen (no race with a process list), and before smbclient could blank its own argv.
      const real = spawnSync('sh', ['-c', 'command -v smbclient'], { encoding: 'utf8' }).stdout.trim();
      if (dc === undefined || real === '') return requireComponent(this, false, 'the test DC and smbclient', 'see test/support/samba-dc.ts');
      const d = dc;
      const spy = mkdtempSync(join(tmpdir(), 'ascend-smbspy-'));
      try {
        const wrapper = join(spy, 'smbclient');
        writeFileSync(
          wrapper,
          [
            '#!/bin/sh',
            `d=${JSON.stringify(spy)}/run.$$`,
            'mkdir "$d" || exit 97',
            'for a in "$@"; do printf "%s\\0" "$a"; done > "$d/argv"',
            'cat /proc/$$/environ > "$d/environ"',
            'tee "$d/stdin" | "$0.real" "$@"',
          ].join('\n') + '\n',
          { mode: 0o700 },
        );
        symlinkSync(real, `${wrapper}.real`);
        const url = new URL(d.smbUrl);
        const spied = new SmbSysvolStore({ host: url.hostname, share: url.pathname.slice(1), user: 'Administrator', domain: d.netbiosDomain, password: d.password, smbclient: wrapper });
        const data = new Uint8Array(randomBytes(64 * 1024));
        await spied.write([...base, 'spied.bin'], data);
        expect(Buffer.from((await spied.read([...base, 'spied.bin'])) ?? []).equals(Buffer.from(data)), 'the runs through the wrapper worked').to.equal(true);
        const runs = readdirSync(spy).filter((n) => n.startsWith('run.'));
        expect(runs.length, 'smbclient runs seen (a write and a read)').to.be.at.least(2);
        for (const run of runs) {
          const argv = readFileSync(join(spy, run, 'argv'), 'utf8').split('\0').slice(0, -1);
          expect(argv[0], 'the share, as the first argument').to.equal(`//${url.hostname}${url.pathname}`);
          for (const a of argv) expect(a, 'an argument of smbclient').to.not.include(d.password);
          const environ = readFileSync(join(spy, run, 'environ'), 'utf8').split('\0');
          expect(environ.filter((e) => e.includes(d.password)), 'the environment entries holding the password').to.deep.equal([`PASSWD=${d.password}`]);
          expect(readFileSync(join(spy, run, 'stdin'), 'utf8'), 'the commands on stdin').to.not.include(d.password);
        }
      } finally {
        rmSync(spy, { recursive: true, force: true });
      }
    });
  });
});
