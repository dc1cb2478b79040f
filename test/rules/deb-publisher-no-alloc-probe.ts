/**
 * The allocation probe of ./deb-publisher-no-alloc.test.ts (run in a process of its own):
 * ./no-alloc-probe.ts's rules and measurement, with package-publisher rules and requests that
 * carry a package (deb:) in the compared form. Prints {"bytesPerDecision": n}.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { compileRules, parseRule, type DecisionRequest, type Rule } from '../../src/rules/index.js';
import { base, bytesPerDecision, rulesOf } from './no-alloc-probe.js';

export function debRules(): Rule[] {
  return [
    ...rulesOf(10_000),
    parseRule('deb-true', JSON.stringify({ action: 'allow', match: { path: 'true', publisher: 'deb:coreutils' } }), 'ElevationRules'),
    parseRule('deb-sudo', JSON.stringify({ action: 'allow', match: { publisher: 'deb:sudo' }, controls: ['justify'] }), 'ElevationRules'),
    parseRule('deb-evil', JSON.stringify({ action: 'deny', match: { publisher: 'deb:evil*' } }), 'BlacklistRules'),
  ];
}

export const DEB_REQUESTS: DecisionRequest[] = [
  { ...base, path: '\\usr\\bin\\true', debPublisher: 'deb:coreutils' }, // a file-name rule with a package
  { ...base, path: '\\usr\\bin\\sudo', debPublisher: 'deb:sudo' }, // a package rule (by publisher)
  { ...base, path: '\\usr\\bin\\x', debPublisher: 'deb:evil-tools' }, // a package deny (residual)
  { ...base, path: '\\usr\\bin\\ls', debPublisher: 'deb:coreutils' }, // a package, no rule
  { ...base, path: '\\opt\\x\\true' }, // no package: nothing
  { ...base, path: '\\usr\\bin\\true', publisher: 'deb:coreutils' }, // a signer named deb:...: nothing
];

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const index = compileRules(debRules());
  bytesPerDecision(index, DEB_REQUESTS, 20, 1000);
  process.stdout.write(`${JSON.stringify({ bytesPerDecision: bytesPerDecision(index, DEB_REQUESTS, 40, 2500) })}\n`);
}
