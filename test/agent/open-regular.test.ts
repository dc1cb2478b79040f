/**
 * src/open-regular.ts: the agent (root) opens a file a user named only when it is a regular
 * file, and never opens anything else, not even for a moment: a FIFO's writer is not woken,
 * a device is not opened, a link is not followed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { openRegularOnly } from '../../src/open-regular.js';
import { commandWorks, requireComponent } from '../support/components.js';

describe('openRegularOnly: only a regular file is ever opened', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ascend-open-regular-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('opens a regular file for reading, and answers null for a link to one, a folder and a device', async () => {
    writeFileSync(path.join(dir, 'file'), 'contents');
    symlinkSync(path.join(dir, 'file'), path.join(dir, 'link'));
    mkdirSync(path.join(dir, 'folder'));
    const h = await openRegularOnly(path.join(dir, 'file'));
    expect(h).to.not.equal(null);
    try {
      expect((await h?.readFile())?.toString()).to.equal('contents');
    } finally {
      await h?.close();
    }
    expect(await openRegularOnly(path.join(dir, 'link'))).to.equal(null);
    expect(await openRegularOnly(path.join(dir, 'folder'))).to.equal(null);
    expect(await openRegularOnly('/dev/null')).to.equal(null);
    const missing = await openRegularOnly(path.join(dir, 'missing')).then(() => null, (e: NodeJS.ErrnoException) => e.code);
    expect(missing).to.equal('ENOENT');
  });

  it("a FIFO is not opened: its writer, waiting for a reader, is not woken (a device's open would run the same way)", async function () {
    requireComponent(this, commandWorks('mkfifo', ['--version']), 'mkfifo (coreutils)', 'apt-get install coreutils');
    const fifo = path.join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).to.equal(0);
    const writer = spawn('/bin/sh', ['-c', `echo hi > '${fifo}'; echo woken`], { stdio: ['ignore', 'pipe', 'ignore'] });
    let said = '';
    writer.stdout.on('data', (d: Buffer) => (said += d.toString()));
    try {
      await new Promise((r) => setTimeout(r, 200)); // the writer blocks in its open
      expect(await openRegularOnly(fifo)).to.equal(null);
      await new Promise((r) => setTimeout(r, 300));
      expect(said).to.equal('');
    } finally {
      writer.kill('SIGKILL');
    }
  });

  it("a folder of the path swapped back and forth between one with a regular file and one with a FIFO: the FIFO is never opened", async function () {
    this.timeout(30_000);
    requireComponent(this, commandWorks('python3', ['-c', 'import os']), 'python3', 'apt-get install python3');
    // a/x is a regular file, b/x a FIFO whose writer prints each time a reader opens it.
    mkdirSync(path.join(dir, 'a'));
    writeFileSync(path.join(dir, 'a', 'x'), 'regular');
    mkdirSync(path.join(dir, 'b'));
    const fifo = path.join(dir, 'b', 'x');
    expect(spawnSync('mkfifo', [fifo]).status).to.equal(0);
    const writer = spawn('/bin/sh', ['-c', `while :; do echo > '${fifo}'; echo woken; done`], { stdio: ['ignore', 'pipe', 'ignore'] });
    let woken = '';
    writer.stdout.on('data', (d: Buffer) => (woken += d.toString()));
    // `via` is a link to a or b, flipped as fast as the swapper can (an atomic rename each time).
    symlinkSync('a', path.join(dir, 'via'));
    const flip = `import os,sys\nd=sys.argv[1]\nwhile True:\n  for t in ('b','a'):\n    os.symlink(t, d+'/via.new'); os.rename(d+'/via.new', d+'/via')\n`;
    const swapper = spawn('python3', ['-c', flip, dir], { stdio: 'ignore' });
    let regular = 0;
    let refused = 0;
    try {
      for (let i = 0; i < 3000; i++) {
        const h = await openRegularOnly(path.join(dir, 'via', 'x')).catch(() => null);
        if (h === null) refused++;
        else {
          regular++;
          await h.close();
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      swapper.kill('SIGKILL');
      writer.kill('SIGKILL');
    }
    // Both sides were seen; the FIFO's writer never was woken.
    expect(regular).to.be.greaterThan(0);
    expect(refused).to.be.greaterThan(0);
    expect(woken).to.equal('');
  });
});
