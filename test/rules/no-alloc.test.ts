/**
 * Issue 16, deliver 5: decide() allocates nothing per decision on its fast path (a request
 * in the compared form; no rule or one rule matching), so its latency does not carry the
 * garbage collector. Measured, not timed: the young generation's used bytes before and after
 * batches of decisions (a batch a scavenge interrupted reads lower after than before and is
 * left out), over 100,000 decisions, median per batch; in a process of its own (./no-alloc-probe.ts).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { compileRules, decide, linearDecide, type DecisionRequest } from '../../src/rules/index.js';
import { base, REQUESTS, rulesOf } from './no-alloc-probe.js';

const PROBE = fileURLToPath(new URL('./no-alloc-probe.ts', import.meta.url));

describe('rules: decide() allocates nothing on its fast path (issue 16)', function () {
  this.timeout(120_000);
  const rules = rulesOf(10_000);
  const index = compileRules(rules);

  it('decides the fast-path requests as linearDecide does (one rule or none matching)', () => {
    const kinds = REQUESTS.map((r) => {
      const d = decide(index, r);
      expect(linearDecide(rules, r)).to.deep.equal(d);
      expect(d.matchedRules.length).to.be.at.most(1);
      return d.decision;
    });
    expect(kinds).to.include.members(['not-elevated', 'allow', 'deny']);
  });

  it('allocates (near) nothing per decision over 100,000 decisions with 10,000 rules (a fresh process)', () => {
    const probe = spawnSync(process.execPath, ['--import', 'tsx', PROBE], { cwd: fileURLToPath(new URL('../..', import.meta.url)), encoding: 'utf8' });
    expect(probe.status, probe.stderr).to.equal(0);
    const bytes = (JSON.parse(probe.stdout) as { bytesPerDecision: number }).bytesPerDecision;
    // One object of any kind is at least 12 bytes; the statistics call itself is spread over 2,500 decisions.
    expect(bytes, `bytes per decision`).to.be.below(2);
  });

  it('a decision is frozen: one shared between calls cannot be changed by a caller', () => {
    const d = decide(index, REQUESTS[2] as DecisionRequest);
    expect(Object.isFrozen(d) && Object.isFrozen(d.controls) && Object.isFrozen(d.matchedRules)).to.equal(true);
    expect(() => (d.controls as string[]).push('mfa')).to.throw(TypeError);
    expect(decide(index, REQUESTS[2] as DecisionRequest).controls).to.deep.equal(['justify']);
  });

  it('a request not in the compared form is still decided the same (it may allocate)', () => {
    const r: DecisionRequest = { ...base, user: ' USER2 ', path: 'C:/Suite2//Bin/X.EXE', collections: [' Lab '] };
    expect(decide(index, r)).to.deep.equal(linearDecide(rules, r));
    expect(decide(index, r).matchedRules).to.deep.equal(['folder-2']);
  });
});
