/**
 * Which groups the agent asks of the name service before a decision (agent/daemon/deny-groups.ts):
 * those deny rules name, once each, never a SID; and only one that would turn this request into a
 * denial (the name service itself: test/agent/identity-deny-groups.test.ts).
 */
import { expect } from 'chai';
import { confirmDenyGroups, denyRuleGroups } from '../../agent/daemon/deny-groups.js';
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
});
