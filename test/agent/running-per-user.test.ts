/**
 * One user's elevations are bounded (agent/daemon/elevation.ts): an elevation outlives its client
 * when the program ignores the hang-up, so without a bound one user could hold any number of
 * ephemeral accounts, homes and cgroups. Requests side by side count as soon as they come, and
 * the 17th is refused before anything is opened or made.
 */
import { expect } from 'chai';
import { Elevations } from '../../agent/daemon/elevation.js';
import { compileRules } from '../../src/rules/index.js';

describe('elevations: at most 16 at once per user', () => {
  const requester = (uid: number) => ({ uid, gid: uid, name: `u${uid}`, home: null, groups: [`u${uid}`], gids: [uid] });
  const policy = { index: compileRules([]), denyGroups: [], hashRules: false, debRules: false };
  const ctx = { signal: new AbortController().signal, parent: { known: false } } as never;
  const missing = '/nonexistent/ascend-running-per-user';

  it("refuses a user's 17th while 16 are under way (each held where the audit trail is slow), not another user's", async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => (open = r));
    let held = 0;
    // Each request, with no rule for it, is refused once its event is written: the write waits.
    const audit = {
      emit: async () => {
        held++;
        await gate;
      },
    };
    const tse = { activeSessions: () => [] };
    const elevations = new Elevations({ computer: 'PC' }, policy, tse as never, audit as never, {} as never, new Map(), {} as never, {} as never);
    const outcome = (uid: number, program: string) => elevations.elevate(requester(uid), { op: 'elevate', argv: [program] } as never, ctx).then(() => 'ran', (e: Error) => e.message);
    const sixteen = Array.from({ length: 16 }, () => outcome(4100, '/usr/bin/true'));
    for (let i = 0; i < 200 && held < 16; i++) await new Promise((r) => setTimeout(r, 10));
    expect(held).to.equal(16);
    expect(await outcome(4100, missing)).to.equal(`${missing} is not elevated: 16 elevations of yours are running already`);
    // Another user is not counted against it (it goes on to the program, which is not there).
    expect(await outcome(4101, missing)).to.equal(`the program ${missing} does not exist`);
    open();
    for (const m of await Promise.all(sixteen)) expect(m).to.equal('/usr/bin/true is not elevated: no elevation rule matches and no TSE session is active');
    // Once they have ended, the user may ask again.
    expect(await outcome(4100, missing)).to.equal(`the program ${missing} does not exist`);
  });
});
