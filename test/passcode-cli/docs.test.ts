import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { REFUSAL_REASONS } from '../../src/passcode/index.js';
import { root } from './support.js';

describe('the README documents the passcode commands and reasons', () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Temporary Session Elevation passcodes'), readme.indexOf('## How policy is written and read'));

  it('has the section, with every reason code of REFUSAL_REASONS in its table, in check order', () => {
    expect(section.length).to.be.greaterThan(1000);
    const rows = [...section.matchAll(/^\| `([a-z-]+)` \| /gm)].map((m) => m[1]);
    expect(rows).to.deep.equal([...REFUSAL_REASONS]);
  });

  it('names every keys and passcode command of the manifest', () => {
    const manifest = JSON.parse(readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8'));
    const ours = Object.keys(manifest.commands).filter((c) => c.startsWith('keys:') || c.startsWith('passcode:'));
    expect(ours).to.have.length(10);
    for (const id of ours) expect(section, id).to.include(`\`ascend ${id.replace(':', ' ')}`);
  });
});
