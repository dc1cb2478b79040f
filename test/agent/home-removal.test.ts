/**
 * An ephemeral account's home is removed as root (agent/executor/linux-host.ts removeTree),
 * after the account may have made folders in it writable for everyone: a user who swaps such a
 * folder for a symbolic link while the removal walks the tree must not turn the walk onto files
 * outside it. The swap is made at the worst moment, right when the walk opens the folder to list
 * it (test/agent/fixtures/swap-on-open.py, inotify), with files of the same names outside: a
 * path-based walk (Node's fs.rm) deletes every one of them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { removeTree } from '../../agent/executor/linux-host.js';
import { root } from '../passcode-cli/support.js';
import { commandWorks, requireComponent } from '../support/components.js';

const NAMES = Array.from({ length: 50 }, (_, i) => `file${i}`);

describe('ephemeral homes: removed through open folder handles', function () {
  this.timeout(60_000);
  let dir = '';

  before(function () {
    requireComponent(this, process.platform === 'linux' && commandWorks('python3', ['-c', 'import ctypes']) && commandWorks('rm', ['--version']), 'Linux with python3 and GNU rm', 'apt-get install python3 coreutils');
  });
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ascend-home-rm-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A folder of files named NAMES. */
  const filled = (p: string): string => {
    mkdirSync(p, { recursive: true });
    for (const n of NAMES) writeFileSync(path.join(p, n), 'x');
    return p;
  };

  it('a folder swapped for a link to another folder as the walk opens it: nothing outside is deleted', async () => {
    const outside = filled(path.join(dir, 'outside'));
    const home = path.join(dir, 'home');
    const shared = filled(path.join(home, 'shared'));
    // Enough in it that the walk is still inside when the swap lands (the swapper reacts in a few ms).
    for (let i = 0; i < 20_000; i++) writeFileSync(path.join(shared, `pad${i}`), '');
    const swapper: ChildProcess = spawn('python3', [path.join(root, 'test', 'agent', 'fixtures', 'swap-on-open.py'), path.join(home, 'shared'), outside], { stdio: ['ignore', 'pipe', 'pipe'] });
    let said = '';
    swapper.stdout?.on('data', (d: Buffer) => (said += d.toString()));
    swapper.stderr?.on('data', (d: Buffer) => (said += d.toString()));
    try {
      for (let i = 0; i < 100 && !said.includes('watching'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(said).to.include('watching');
      // The removal may fail (the swap leaves a folder it did not list): it must not reach outside.
      await removeTree(home).catch(() => undefined);
      for (let i = 0; i < 40 && !said.includes('swapped'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(said, 'the swap was made during the walk').to.include('swapped');
    } finally {
      swapper.kill('SIGKILL');
    }
    expect(readdirSync(outside).sort()).to.deep.equal([...NAMES].sort());
    // What is left is removed by the next try (the orphan cleanup's), the link as a link.
    await removeTree(home);
    expect(existsSync(home)).to.equal(false);
    expect(readdirSync(outside)).to.have.length(NAMES.length);
  });

  it('removes a tree with links to outside as links, and a folder that is not there is no error', async () => {
    const outside = filled(path.join(dir, 'outside'));
    const home = filled(path.join(dir, 'home'));
    symlinkSync(outside, path.join(home, 'link'));
    filled(path.join(home, 'a', 'b', 'c'));
    await removeTree(home);
    expect(existsSync(home)).to.equal(false);
    expect(lstatSync(outside).isDirectory()).to.equal(true);
    expect(readdirSync(outside)).to.have.length(NAMES.length);
    await removeTree(home);
  });

  it('refuses a relative path and /', async () => {
    for (const bad of ['home', '/', '/..']) {
      const e = await removeTree(bad).then(() => null, (x: unknown) => x as Error);
      expect(e?.message, bad).to.match(/^Refusing to remove /);
    }
  });
});
