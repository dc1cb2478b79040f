/**
 * Which groups the agent asks of the name service before a decision (agent/daemon/deny-groups.ts):
 * those deny rules name, once each, never a SID; and only one that would turn this request into a
 * denial (the name service itself: test/agent/identity-deny-groups.test.ts).
 */
import { expect } from 'chai';
import { confirmDenyGroups, denyRuleGroups, type GroupAnswer, type GroupAnswers, type GroupLookup } from '../../agent/daemon/deny-groups.js';
import { compileRules, parseRule, type DecisionRequest } from '../../src/rules/index.js';

const rule = (name: string, json: object) => parseRule(name, JSON.stringify(json), 'ElevationRules');

describe('deny rules: the groups asked of the name service', () => {
  it('are the groups of deny rules, once each whatever their case, without SIDs or allow rules', () => {
    const rules = [
      rule('a', { action: 'deny', match: { path: '/usr/bin/a' }, target: { groups: ['CORP\\Contractors', 'S-1-5-21-1-2-3-1001', 'temps'] } }),
      rule('b', { action: 'deny', match: { path: '/usr/bin/b' }, target: { groups: ['corp\\contractors', 'Temps'], users: ['bob'] } }),
      rule('c', { action: 'allow', match: { path: '/usr/bin/c' }, target: { groups: ['helpdesk'] } }),
    ];
    expect(denyRuleGroups(rules)).to.deep.equal(['CORP\\Contractors', 'temps']);
  });

  it('none is asked when the request is denied already, its group is in the list already, or no deny rule on it matches the request', async () => {
    const index = compileRules([
      rule('everyone', { action: 'allow', match: { path: '/usr/bin/*' } }),
      rule('no true for temps', { action: 'deny', match: { path: '/usr/bin/true' }, target: { groups: ['temps'] } }),
      rule('no rm', { action: 'deny', match: { path: '/usr/bin/rm' } }),
    ]);
    // A group that could not be asked (the name service is not consulted for these) would make the requester unresolved.
    const requester = { uid: 4000, gid: 4000, name: 'h22nobody-such-user', home: null, groups: ['h22nobody-such-user'], gids: [4000] };
    const request = (p: string, groups = requester.groups): DecisionRequest => ({ user: requester.name, groups, computer: 'PC', collections: [], path: p, args: '', tseActive: false });
    const denyGroups = ['h22d-no-such-group-anywhere', 'temps'];
    // Denied anyway: nothing asked, nothing changed.
    expect(await confirmDenyGroups(index, request('/usr/bin/rm'), requester, denyGroups)).to.equal(requester);
    // No deny rule on those groups matches /usr/bin/ls: nothing asked.
    expect(await confirmDenyGroups(index, request('/usr/bin/ls'), requester, denyGroups)).to.equal(requester);
    // Already in temps: the rule applies without asking.
    const inTemps = { ...requester, groups: ['CORP\\Temps'] };
    expect(await confirmDenyGroups(index, request('/usr/bin/true', inTemps.groups), inTemps, denyGroups)).to.equal(inTemps);
  });

  it("a lookup that outlives one call's time is not cut short: the elevation's next exec gets its answer", async () => {
    const index = compileRules([
      rule('everyone', { action: 'allow', match: { path: '/usr/bin/*' } }),
      rule('no true for temps', { action: 'deny', match: { path: '/usr/bin/true' }, target: { groups: ['temps'] } }),
      rule('no true for contractors', { action: 'deny', match: { path: '/usr/bin/true' }, target: { groups: ['contractors'] } }),
    ]);
    const requester = { uid: 4001, gid: 4001, name: 'h22dalice', home: null, groups: ['h22dalice'], gids: [4001] };
    const request: DecisionRequest = { user: requester.name, groups: requester.groups, computer: 'PC', collections: [], path: '/usr/bin/true', args: '', tseActive: false };
    // A slow directory: temps answers after 300 ms, contractors after 300 ms more; neither lists alice.
    // Each lookup gives up at the limit it is handed, as the real ones do.
    const delays: Record<string, number> = { temps: 300, contractors: 300 };
    const started: string[] = [];
    const lookup: GroupLookup = (group, _member, timeoutMs) => {
      started.push(group);
      const delay = delays[group] ?? 0;
      return new Promise<GroupAnswer | null>((resolve, reject) => {
        if (delay > timeoutMs) setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        else setTimeout(() => resolve({ name: group, gid: 5000, member: false }), delay);
      });
    };
    const answers: GroupAnswers = new Map();
    // The first program: 500 ms for both lookups, which take 600 ms: refused, fail closed.
    const first = await confirmDenyGroups(index, request, requester, ['temps', 'contractors'], { answers, lookup, timeoutMs: 500 });
    expect(first.unresolved).to.equal('the groups that deny rules name were not all read from the name service within 0.5 s');
    // A later exec of the same tree: the lookup of contractors, started with its own 500 ms, answers (not a member).
    const later = await confirmDenyGroups(index, request, requester, ['temps', 'contractors'], { answers, lookup, timeoutMs: 500 });
    expect(later).to.equal(requester);
    expect(started).to.deep.equal(['temps', 'contractors']);
  });
});
