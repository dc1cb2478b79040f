/**
 * sudo's JSON log with an event larger than the follower reads at once (review of issue 19): a
 * user decides how long sudo's record of their command is (every control character of an
 * argument becomes six bytes), so an event of any size is stepped over, counted as too large,
 * and the events after it are still read. A real file (root-owned, 0600) and the real follower.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { SudoLogFollower } from '../../agent/discovery/sudo-log.js';
import { skipEvent } from '../../agent/discovery/sudo-record.js';
import type { Found, SkipReason } from '../../agent/discovery/follower.js';
import type { DiscoveryPosition } from '../../agent/discovery/position.js';
import { requireComponent } from '../support/components.js';

const event = (user: string, argv: string[]): string =>
  `    "accept": {\n        "submituser": ${JSON.stringify(user)},\n        "command": "/usr/bin/true",\n        "runuser": "root",\n        "runcwd": "/tmp",\n        "runargv": ${JSON.stringify(argv)}\n    }`;

describe('discovery: an oversized event in sudo\'s JSON log is stepped over, not a stop (root)', function () {
  this.timeout(60_000);
  let dir: string;
  before(function () {
    requireComponent(this, process.getuid?.() === 0, 'root (sudo\'s log must be root\'s)', 'run the tests as root');
    dir = mkdtempSync(path.join(tmpdir(), 'ascdisc-large-'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('skipEvent finds the end of an event across pieces, braces and quotes inside strings included', async () => {
    const text = `,\n${event('a', ['x', '}"{', '\\"}', ']'.repeat(10)])}\n}\n`;
    const buf = Buffer.from(text);
    const read = async (o: number, l: number) => buf.subarray(o, o + l);
    const end = text.indexOf('\n}\n');
    for (const piece of [1, 3, 7, 1024]) expect(await skipEvent(read, 0, buf.length, piece), `piece ${piece}`).to.equal(end);
    expect(await skipEvent(read, 0, end - 1)).to.equal(-1);
    expect(await skipEvent(async (o, l) => Buffer.from('nonsense').subarray(o, o + l), 0, 8)).to.equal(null);
  });

  it('reads the events after a 12 MB event, counts that one as too large, and saves a position past it', async () => {
    const file = path.join(dir, 'sudo.json');
    const huge = event('mallory', ['/usr/bin/true', ...Array.from({ length: 16 }, () => '\u0001'.repeat(120_000))]);
    writeFileSync(file, `{\n${huge},\n${event('alice', ['/usr/bin/true', 'after-the-big-one'])}\n}\n`, { mode: 0o600 });
    const seen: Found[] = [];
    const counted: SkipReason[] = [];
    let saved: DiscoveryPosition | undefined;
    const follower = new SudoLogFollower({
      file,
      intervalMs: 50,
      handle: async (found, position) => {
        seen.push(...found);
        saved = position;
        return true;
      },
      count: (why) => counted.push(why),
      log: () => undefined,
    });
    follower.start();
    const deadline = Date.now() + 30_000;
    while (!seen.some((f) => f.outcome.ok) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await follower.stop();
    const ok = seen.filter((f) => f.outcome.ok);
    expect(ok.map((f) => (f.outcome.ok ? f.outcome.record.argv : null))).to.deep.equal([['after-the-big-one']]);
    expect(seen.filter((f) => !f.outcome.ok).map((f) => (f.outcome.ok ? '' : f.outcome.why))).to.deep.equal(['too-large']);
    expect(saved?.log?.offset).to.be.above(huge.length);
  });
});
