import { expect } from 'chai';
import { mapLdapError } from '../../src/directory/index.js';

describe('directory: secrets in error messages', () => {
  it('a short password does not show through our own wording', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:636'), { code: 'ECONNREFUSED' });
    const e = mapLdapError(refused, { url: 'ldaps://127.0.0.1:636', operation: 'bind', bindDn: 'admin@corp', secrets: ['y'] });
    expect(e.message).to.contain('Cannot reach the directory');
    expect(e.message).to.not.contain('***');
  });

  it('a password echoed in text from the server or socket is replaced', () => {
    const echoed = new Error('unexpected reply near "S3cret-Passw0rd" from peer');
    const e = mapLdapError(echoed, { url: 'ldaps://dc', operation: 'search', secrets: ['S3cret-Passw0rd'] });
    expect(e.message).to.not.contain('S3cret-Passw0rd');
    expect(e.message).to.contain('***');
  });
});
