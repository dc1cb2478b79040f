import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { ERROR_CODES } from '../src/errors.js';

describe('error catalogue', () => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  const documented = new Set([...doc.matchAll(/^\| `(ASC_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]));

  it('documents every error code in docs/errors.md', () => {
    const missing = Object.keys(ERROR_CODES).filter((c) => !documented.has(c));
    expect(missing, 'codes missing from docs/errors.md').to.deep.equal([]);
  });

  it('documents no code that does not exist', () => {
    const stale = [...documented].filter((c) => c !== undefined && !(c in ERROR_CODES));
    expect(stale, 'codes in docs/errors.md that the catalogue lacks').to.deep.equal([]);
  });
});
