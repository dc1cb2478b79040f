import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TseStore, type TseSession } from '../../agent/tse/store.js';

function session(id: string, passcodeId: string, startedAt: number, minutes: number): Omit<TseSession, 'ended'> {
  return {
    sessionId: id,
    passcodeId,
    passcodeTitle: 'Helpdesk',
    uid: 1000,
    user: 'alice',
    startedAt,
    endsAt: startedAt + minutes * 60_000,
    endProcesses: true,
    groups: ['S-1-5-32-544'],
    privileges: [],
    integrity: 'High',
  };
}

describe('agent TSE state (durable use counts, clock set back)', () => {
  let dir: string;
  let now: number;
  const clock = () => now;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ascend-tse-'));
    now = Date.UTC(2026, 10, 22, 12, 0, 0);
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('counts a use on disk before the session is handed out, and the count survives a reopen', async () => {
    const store = await TseStore.open(dir, clock);
    expect(store.usesOf('PC-1')).to.equal(0);
    expect(await store.startSession(session('s1', 'PC-1', now, 30), 0)).to.equal(true);
    const st = await fs.stat(store.file);
    expect(st.mode & 0o777).to.equal(0o600);
    const again = await TseStore.open(dir, clock);
    expect(again.usesOf('pc-1')).to.equal(1);
    expect(again.activeSessions(1000).map((s) => s.sessionId)).to.deep.equal(['s1']);
  });

  it('refuses a start whose check saw a stale count (two redemptions at once count twice, never once)', async () => {
    const store = await TseStore.open(dir, clock);
    const [a, b] = await Promise.all([store.startSession(session('a', 'P', now, 30), 0), store.startSession(session('b', 'P', now, 30), 0)]);
    expect([a, b].sort()).to.deep.equal([false, true]);
    expect(store.usesOf('P')).to.equal(1);
  });

  it('keeps time at the latest seen when the clock is set back: an expired session stays expired', async () => {
    const store = await TseStore.open(dir, clock);
    await store.startSession(session('s1', 'P', now, 30), 0);
    now += 31 * 60_000;
    expect(store.activeSessions()).to.have.length(0);
    await store.saveClock();
    now -= 60 * 60_000; // the clock goes back an hour
    const reopened = await TseStore.open(dir, clock);
    expect(reopened.activeSessions()).to.have.length(0);
    expect(reopened.overdueSessions().map((s) => s.sessionId)).to.deep.equal(['s1']);
    expect(reopened.now()).to.equal(now + 60 * 60_000);
    expect(reopened.clockBehindBy()).to.equal(60 * 60_000);
    expect(reopened.usesOf('P')).to.equal(1);
  });

  it('ends a session once', async () => {
    const store = await TseStore.open(dir, clock);
    await store.startSession(session('s1', 'P', now, 30), 0);
    const first = await store.endSession('s1', 'expired');
    expect(first?.ended?.reason).to.equal('expired');
    expect(await store.endSession('s1', 'expired')).to.equal(undefined);
    expect((await TseStore.open(dir, clock)).sessions()[0]?.ended?.reason).to.equal('expired');
  });

  it('refuses to start from a damaged state file (it would hand uses back)', async () => {
    await fs.writeFile(path.join(dir, 'tse-state.json'), '{"version":1,"uses":{"P":3');
    let caught: unknown;
    try {
      await TseStore.open(dir, clock);
    } catch (e) {
      caught = e;
    }
    expect(String(caught)).to.match(/damaged.*use counts/);
  });
});
