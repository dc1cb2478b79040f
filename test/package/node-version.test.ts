import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = path.join(root, 'bin', 'run.js');

/** Runs bin/run.js on this Node, made to report `version` as its own before the entry runs. */
function runAs(version: string | undefined, args: string[]) {
  const pre = version === undefined ? [] : ['--import', `data:text/javascript,Object.defineProperty(process,"versions",{value:{...process.versions,node:${JSON.stringify(version)}}})`];
  return spawnSync(process.execPath, [...pre, bin, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
}

describe('the ascend entry and the Node it runs on (bin/run.js)', () => {
  it('runs on this Node (22.12 or later)', () => {
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
    expect(major > 22 || (major === 22 && minor >= 12), `the suite runs on Node ${process.versions.node}`).to.equal(true);
    const r = runAs(undefined, ['--version']);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.contain(`node-v${process.versions.node}`);
    expect(r.stderr).to.equal('');
  });

  for (const old of ['20.19.0', '22.11.0', '18.20.8']) {
    it(`refuses Node ${old} in one line, before loading anything`, () => {
      const r = runAs(old, ['--version']);
      expect(r.status).to.equal(1);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.equal(`ascend: Node ${old} is too old: Ascend needs Node 22.12 or later (Node 24 LTS is the supported runtime)\n`);
    });
  }

  it('accepts Node 22.12 itself', () => {
    const r = runAs('22.12.0', ['--version']);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^ascend-privilege-manager\/\S+ /);
    expect(r.stderr).to.equal('');
  });
});
