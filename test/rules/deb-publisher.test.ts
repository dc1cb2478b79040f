/**
 * Issue 19, deliver 2: `deb:<package>` publisher patterns. They are parsed and checked as
 * rules are, matched by the engine (and its oracle, linearDecide) against the request's
 * debPublisher only, never against a Windows signer's name that happens to start with
 * "deb:", and `rules lint` says what a package publisher alone allows.
 */
import { expect } from 'chai';
import { compileRules, decide, linearDecide, parseRule, ruleFindings, type DecisionRequest, type Rule } from '../../src/rules/index.js';

function rule(name: string, match: Record<string, unknown>, action: 'allow' | 'deny' = 'allow'): Rule {
  return parseRule(name, JSON.stringify({ action, match }), action === 'deny' ? 'BlacklistRules' : 'ElevationRules');
}

const base: DecisionRequest = { user: 'bob', computer: 'pc1', path: '/usr/bin/true' };

function both(rules: Rule[], req: DecisionRequest): string {
  const fast = decide(compileRules(rules), req);
  const slow = linearDecide(rules, req);
  expect(fast).to.deep.equal(slow);
  return `${fast.decision}:${fast.matchedRules.join(',')}`;
}

describe('deb: publisher patterns (issue 19)', () => {
  describe('parsing', () => {
    for (const ok of ['deb:coreutils', 'deb:*', 'DEB:CoreUtils', 'deb:lib*-dev', 'deb:g++', 'deb:python3.11', ' deb:sudo ']) {
      it(`accepts ${JSON.stringify(ok)}`, () => expect(rule('r', { publisher: ok }).match.publisher).to.equal(ok));
    }
    for (const bad of ['deb:', 'deb:coreutils:amd64', 'deb:core utils', 'deb:a/b', 'deb:ünïcode', 'deb:x,y']) {
      it(`refuses ${JSON.stringify(bad)} with a message naming the form`, () => {
        expect(() => rule('r', { publisher: bad })).to.throw(/match\.publisher.*deb:<package>/);
      });
    }
    it('leaves other publishers (signer names) as they were', () => {
      expect(rule('r', { publisher: 'Microsoft Windows' }).match.publisher).to.equal('Microsoft Windows');
      expect(rule('r', { publisher: 'debian*' }).match.publisher).to.equal('debian*');
    });
  });

  describe('matching', () => {
    const rules = [rule('coreutils', { publisher: 'deb:coreutils' }), rule('any package true', { path: 'true', publisher: 'deb:*' }), rule('signer', { publisher: 'Contoso Ltd' })];

    it('deb:coreutils and deb:* match the package the request carries', () => {
      expect(both(rules, { ...base, debPublisher: 'deb:coreutils' })).to.equal('allow:any package true,coreutils');
      expect(both(rules, { ...base, path: '/usr/bin/ls', debPublisher: 'deb:coreutils' })).to.equal('allow:coreutils');
      expect(both(rules, { ...base, debPublisher: 'deb:busybox' })).to.equal('allow:any package true');
      expect(both(rules, { ...base, debPublisher: 'DEB:CoreUtils ' })).to.equal('allow:any package true,coreutils');
    });

    it('a request without a package (unowned or modified file) matches no deb: rule', () => {
      expect(both(rules, base)).to.equal('not-elevated:');
      expect(both([rule('deny pkg', { publisher: 'deb:coreutils' }, 'deny')], base)).to.equal('not-elevated:');
    });

    it('a Windows signer named "deb:coreutils" never matches a deb: pattern', () => {
      expect(both(rules, { ...base, publisher: 'deb:coreutils' })).to.equal('not-elevated:');
      expect(both(rules, { ...base, publisher: 'deb:busybox', path: 'C:\\x\\true' })).to.equal('not-elevated:');
    });

    it('a signer pattern never matches a package, and a debPublisher without the deb: prefix is ignored', () => {
      const signerAny = [rule('any signer', { publisher: '*' }), rule('deb signer?', { publisher: 'd*' })];
      expect(both(signerAny, { ...base, debPublisher: 'deb:coreutils' })).to.equal('not-elevated:');
      expect(both(rules, { ...base, debPublisher: 'coreutils' })).to.equal('not-elevated:');
      expect(both(signerAny, { ...base, publisher: 'Contoso Ltd' })).to.equal('allow:any signer');
    });

    it('a signer and a package in one request each meet their own patterns', () => {
      expect(both(rules, { ...base, publisher: 'Contoso Ltd', debPublisher: 'deb:coreutils' })).to.equal('allow:any package true,coreutils,signer');
      expect(both(rules, { ...base, publisher: 'deb:coreutils', debPublisher: 'deb:coreutils' })).to.equal('allow:any package true,coreutils');
    });

    it('a deny rule on a package denies that package', () => {
      const r = [...rules, rule('no coreutils', { publisher: 'deb:core*' }, 'deny')];
      expect(both(r, { ...base, debPublisher: 'deb:coreutils' })).to.equal('deny:no coreutils');
      expect(both(r, { ...base, debPublisher: 'deb:sudo' })).to.equal('allow:any package true');
    });
  });

  describe('rules lint', () => {
    it('a package publisher alone is flagged, deb:* high', () => {
      const [one] = ruleFindings(rule('r', { publisher: 'deb:coreutils' }));
      expect(one).to.include({ code: 'RISK_PUBLISHER_ONLY', severity: 'medium' });
      expect(one?.message).to.match(/every program package "?coreutils"? installed/);
      const [any] = ruleFindings(rule('r', { publisher: 'deb:*' }));
      expect(any).to.include({ code: 'RISK_PUBLISHER_ONLY', severity: 'high' });
      expect(ruleFindings(rule('r', { path: '/usr/bin/true', publisher: 'deb:coreutils' }))).to.deep.equal([]);
    });
  });
});
