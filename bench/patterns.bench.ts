/**
 * Wildcard patterns against adversarial input (issue 20, item 9): the speed checks that
 * used to sit in the unit tests (test/passcode/pattern.test.ts, test/rules/decide.test.ts),
 * where a slow machine could fail a correct build. The unit tests keep the answers.
 *
 * Rows:
 *   passcode matchPattern   `*a` x 100 then `b` against `a` x N (no match): the passcode's
 *                           computer and user patterns (src/passcode/pattern.ts)
 *   rules decide            one rule whose path is `*a` x 30 then `*b`, a request whose path is
 *                           `a` x N (no match): compileRules once, decide timed
 *                           (src/rules)
 * For N = 2,500, 5,000 and 10,000: the median time of one call over the rounds, and the
 * growth per doubling of N (about 2 for a linear matcher, 4 for a quadratic one; a
 * backtracking regex engine does not finish). Targets (the former test limits) at N = 5,000:
 * matchPattern under 1 s, decide under 200 ms.
 *
 * Run with `npm run bench -- patterns` or `npx tsx bench/patterns.bench.ts`.
 */
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { matchPattern } from '../src/passcode/index.js';
import { compileRules, decide, parseRule } from '../src/rules/index.js';
import { median, row } from './support.js';

const SIZES = [2_500, 5_000, 10_000] as const;
const ROUNDS = 31;
const WARMUP = 30;
const TARGET_AT = 5_000;

export interface PatternsBenchRow {
  name: string;
  /** Median ms of one call, by N. */
  ms: Record<number, number>;
  /** ms(2N) / ms(N), for each doubling. */
  growth: number[];
  targetMs: number;
  met: boolean;
}

function timeOne(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

function measure(name: string, targetMs: number, call: (n: number) => () => boolean): PatternsBenchRow {
  const ms: Record<number, number> = {};
  const fns = SIZES.map((n) => call(n));
  // Warm up every size first, so the optimiser's work is not counted against the smallest.
  for (const [i, fn] of fns.entries()) {
    for (let k = 0; k < WARMUP; k++) if (fn() !== false) throw new Error(`${name}: the adversarial input of ${SIZES[i]} characters matched`);
  }
  for (const [i, fn] of fns.entries()) ms[SIZES[i] as number] = median(Array.from({ length: ROUNDS }, () => timeOne(fn)));
  const growth = SIZES.slice(1).map((n, i) => (ms[n] as number) / Math.max(ms[SIZES[i] as number] as number, 1e-6));
  return { name, ms, growth, targetMs, met: (ms[TARGET_AT] as number) < targetMs };
}

export async function run(): Promise<PatternsBenchRow[]> {
  const passcodePattern = `${'*a'.repeat(100)}b`;
  const rules = compileRules([parseRule('slow?', JSON.stringify({ action: 'allow', match: { path: `${'*a'.repeat(30)}*b` } }), 'ElevationRules')]);
  const rows = [
    measure('passcode matchPattern', 1000, (n) => {
      const value = 'a'.repeat(n);
      return () => matchPattern(passcodePattern, value);
    }),
    measure('rules decide', 200, (n) => {
      const req = { user: 'CORP\\bob', computer: 'PC-042', path: 'a'.repeat(n) };
      return () => decide(rules, req).decision !== 'not-elevated';
    }),
  ];
  const widths = [22, 11, 11, 11, 14, 18];
  console.log(row(['', ...SIZES.map((n) => `N=${n.toLocaleString('en-US')}`), 'growth x2', `target N=${TARGET_AT.toLocaleString('en-US')}`], widths));
  for (const r of rows) {
    console.log(
      row(
        [r.name, ...SIZES.map((n) => `${((r.ms[n] as number) * 1000).toFixed(1)} µs`), r.growth.map((g) => g.toFixed(1)).join(' / '), `< ${r.targetMs} ms ${r.met ? 'met' : 'MISSED'}`],
        widths,
      ),
    );
  }
  console.log(`(median of ${ROUNDS} calls each; growth = time(2N) / time(N): about 2 when linear)`);
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await run();
}
