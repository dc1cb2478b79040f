/**
 * Issue 19, deliver 2: a request carrying a Debian package publisher keeps decide()'s fast
 * path: nothing is allocated per decision when none or one rule matches (measured as
 * ./no-alloc.test.ts does, in a fresh process: ./deb-publisher-no-alloc-probe.ts).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { compileRules, decide, linearDecide } from '../../src/rules/index.js';
import { DEB_REQUESTS, debRules } from './deb-publisher-no-alloc-probe.js';

const PROBE = fileURLToPath(new URL('./deb-publisher-no-alloc-probe.ts', import.meta.url));

describe('rules: deb: publisher requests stay on the allocation-free path (issue 19)', function () {
  this.timeout(120_000);

  it('decides them as linearDecide does, one rule or none matching', () => {
    const rules = debRules();
    const index = compileRules(rules);
    const got = DEB_REQUESTS.map((r) => {
      const d = decide(index, r);
      expect(linearDecide(rules, r)).to.deep.equal(d);
      return `${d.decision}:${d.matchedRules.join(',')}`;
    });
    expect(got).to.deep.equal(['allow:deb-true', 'allow:deb-sudo', 'deny:deb-evil', 'not-elevated:', 'not-elevated:', 'not-elevated:']);
  });

  it('allocates (near) nothing per decision (a fresh process)', () => {
    const probe = spawnSync(process.execPath, ['--import', 'tsx', PROBE], { cwd: fileURLToPath(new URL('../..', import.meta.url)), encoding: 'utf8' });
    expect(probe.status, probe.stderr).to.equal(0);
    expect((JSON.parse(probe.stdout) as { bytesPerDecision: number }).bytesPerDecision, 'bytes per decision').to.be.below(2);
  });
});
