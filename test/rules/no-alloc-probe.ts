/**
 * The measurement of test/rules/no-alloc.test.ts, run in a process of its own (`node --import
 * tsx test/rules/no-alloc-probe.ts`): what the optimising compiler made of decide() depends
 * on every request the process decided before, so the engine's own allocation is measured in
 * a fresh process, not after the other test files. Prints {"bytesPerDecision": n}.
 */
import v8 from 'node:v8';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { compileRules, decide, parseRule, type DecisionRequest, type Rule, type RuleList } from '../../src/rules/index.js';

const rule = (name: string, json: object, list: RuleList = 'ElevationRules'): Rule => parseRule(name, JSON.stringify(json), list);

export function rulesOf(n: number): Rule[] {
  const rules: Rule[] = [];
  for (let i = 0; i < n; i++) {
    const kind = i % 6;
    if (kind === 0) rules.push(rule(`file-${i}`, { action: 'allow', match: { path: `c:\\program files\\vendor${i % 40}\\app${i}.exe` }, target: { groups: [`group${i % 50}`] } }));
    else if (kind === 1) rules.push(rule(`name-${i}`, { action: 'allow', match: { path: `tool${i}.exe` }, controls: ['justify'] }));
    else if (kind === 2) rules.push(rule(`folder-${i}`, { action: 'allow', match: { path: `c:\\suite${i}\\*` }, target: { users: [`user${i % 30}`] } }));
    else if (kind === 3) rules.push(rule(`pre-${i}`, { action: 'allow', match: { path: `setup${i}*.exe` } }));
    else if (kind === 4) rules.push(rule(`net-${i}`, { action: 'deny', match: { path: 'c:\\windows\\system32\\net.exe', args: `localgroup g${i} *` } }, 'BlacklistRules'));
    else rules.push(rule(`hash-${i}`, { action: 'allow', match: { sha256: i.toString(16).padStart(64, '0') } }));
  }
  return rules;
}

export const base = { user: 'user7', groups: ['group3', 's-1-5-32-545'], computer: 'pc-042', collections: ['lab'] } satisfies Partial<DecisionRequest>;

/** Requests in the compared form: lower case, `\` paths, single-spaced arguments. */
export const REQUESTS: DecisionRequest[] = [
  { ...base, path: 'c:\\users\\u\\downloads\\thing.exe', args: 'a b' }, // nothing matches
  { ...base, path: 'c:\\program files\\vendor0\\app0.exe', groups: ['group0'] }, // a file rule
  { ...base, path: 'd:\\apps\\tool1.exe' }, // a file-name rule with a control
  { ...base, path: 'c:\\suite2\\bin\\x.exe', user: 'user2' }, // a folder rule
  { ...base, path: 'c:\\setup3-x64.exe' }, // a name-prefix rule
  { ...base, path: 'c:\\windows\\system32\\net.exe', args: 'localgroup g4 bob /add' }, // a deny rule under an argument key
  { ...base, path: 'c:\\x\\y.exe', sha256: (5).toString(16).padStart(64, '0') }, // a hash rule
  { ...base, path: 'c:\\users\\u\\downloads\\thing.exe', tseActive: true }, // a TSE session, no rule
];

function newSpaceUsed(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_used_size ?? 0;
}

/** Bytes allocated per decide() call over `batches` batches of `size` (median over uninterrupted batches). */
export function bytesPerDecision(index: ReturnType<typeof compileRules>, requests: readonly DecisionRequest[], batches: number, size: number): number {
  const perBatch: number[] = [];
  let sink = 0;
  for (let b = 0; b < batches; b++) {
    const before = newSpaceUsed();
    for (let i = 0; i < size; i++) sink += decide(index, requests[i % requests.length] as DecisionRequest).matchedRules.length;
    const after = newSpaceUsed();
    if (after >= before) perBatch.push((after - before) / size);
  }
  if (sink < 0 || perBatch.length < batches / 2) throw new Error(`only ${perBatch.length} of ${batches} batches ran without a scavenge`);
  perBatch.sort((x, y) => x - y);
  return perBatch[perBatch.length >> 1] as number;
}


if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const index = compileRules(rulesOf(10_000));
  bytesPerDecision(index, REQUESTS, 20, 1000); // warm up: compiled, inline caches and shared decisions made
  process.stdout.write(`${JSON.stringify({ bytesPerDecision: bytesPerDecision(index, REQUESTS, 40, 2500) })}\n`);
}
