/**
 * The client's behaviour that needs no domain controller: refusals before any network I/O,
 * configuration errors, unreachable and silent servers, and the error mapping.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AlreadyExistsError,
  ConfidentialityRequiredError,
  InsufficientAccessError,
  InvalidCredentialsError,
  NoSuchObjectError,
  StrongAuthRequiredError,
  UnwillingToPerformError,
} from 'ldapts';
import { AscendError, isAscendError } from '../../src/errors.js';
import { Directory, mapLdapError, type DirectoryOptions } from '../../src/directory/index.js';

const PASSWORD = 'S3cret-Pa55word!';

async function connectError(options: Partial<DirectoryOptions>): Promise<AscendError> {
  try {
    const d = await Directory.connect({ url: 'ldaps://127.0.0.1:1', bindDn: 'admin@corp.example.test', password: PASSWORD, ...options });
    await d.close();
  } catch (e) {
    if (isAscendError(e)) {
      expect(e.message).to.not.include(PASSWORD);
      expect(e.hint ?? '').to.not.include(PASSWORD);
      expect(e.message).to.not.include('\n');
      return e;
    }
    throw e;
  }
  throw new Error('connect succeeded');
}

/** A TCP server that accepts and never answers; counts connections. */
/** Polls a condition (a generous deadline: it is for a dead client, not a speed limit). */
async function waitUntil(cond: () => boolean, what: string, deadlineMs = 30_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`not seen within ${deadlineMs / 1000} s: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function silentServer(): Promise<{ server: Server; port: number; connections: () => number; open: () => number; close: () => Promise<void> }> {
  let count = 0;
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    count++;
    sockets.add(s);
    s.resume(); // reads and drops what the client sends, so its hang-up ('end', then 'close') is seen
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    port: (server.address() as AddressInfo).port,
    connections: () => count,
    open: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('directory: connect refusals and configuration errors (no DC)', () => {
  it('refuses a simple bind over plain ldap:// before any network I/O', async () => {
    const srv = await silentServer();
    try {
      const e = await connectError({ url: `ldap://127.0.0.1:${srv.port}` });
      expect(e.code).to.equal('ASC_LDAP_INSECURE_REFUSED');
      expect(e.message).to.match(/ldaps:\/\//);
      expect(e.message).to.match(/StartTLS/);
      // give a connection attempt, had there been one, the time to arrive
      await new Promise((r) => setTimeout(r, 50));
      expect(srv.connections()).to.equal(0);
    } finally {
      await srv.close();
    }
  });

  it('refuses malformed URLs and options with ASC_CONFIG', async () => {
    expect((await connectError({ url: 'http://dc.corp.example.test' })).code).to.equal('ASC_CONFIG');
    expect((await connectError({ url: 'not a url' })).code).to.equal('ASC_CONFIG');
    expect((await connectError({ url: 'ldaps://dc/DC=corp?cn' })).code).to.equal('ASC_CONFIG');
    expect((await connectError({ url: 'ldaps://127.0.0.1', startTls: true })).code).to.equal('ASC_CONFIG');
    expect((await connectError({ password: '' })).code).to.equal('ASC_CONFIG');
    expect((await connectError({ bindDn: ' ' })).code).to.equal('ASC_CONFIG');
    expect((await connectError({ timeoutMs: 0 })).code).to.equal('ASC_CONFIG');
  });

  it('never echoes credentials given inside the URL', async () => {
    const e = await connectError({ url: `ldaps://admin:${PASSWORD}@dc.corp.example.test` });
    expect(e.code).to.equal('ASC_CONFIG');
  });

  it('checks the CA file: missing, or not PEM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'asc-dir-'));
    try {
      expect((await connectError({ caFile: join(dir, 'missing.pem') })).code).to.equal('ASC_FILE_NOT_FOUND');
      writeFileSync(join(dir, 'junk.pem'), 'not a certificate');
      expect((await connectError({ caFile: join(dir, 'junk.pem') })).code).to.equal('ASC_CONFIG');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a refused connection as ASC_LDAP_UNREACHABLE naming the URL', async () => {
    const srv = await silentServer();
    const port = srv.port;
    await srv.close(); // nothing listens there now
    const e = await connectError({ url: `ldaps://127.0.0.1:${port}`, tlsInsecure: true });
    expect(e.code).to.equal('ASC_LDAP_UNREACHABLE');
    expect(e.message).to.include(`ldaps://127.0.0.1:${port}`);
    expect(e.cause).to.be.instanceOf(Error);
  });

  it('reports an unresolvable host as ASC_LDAP_UNREACHABLE', async () => {
    const e = await connectError({ url: 'ldaps://no-such-host.invalid', timeoutMs: 5000 });
    expect(e.code).to.equal('ASC_LDAP_UNREACHABLE');
    expect(e.message).to.include('ldaps://no-such-host.invalid:636');
  });

  it('times out on a server that never answers (TLS handshake, and a plain bind)', async () => {
    // The server never answers and never hangs up, so only the client's own timeout can end
    // these calls (without it they would wait for ever): no clock is read here. Each call
    // reached the server, and each hung up its connection when it gave up.
    const srv = await silentServer();
    try {
      const tls = await connectError({ url: `ldaps://127.0.0.1:${srv.port}`, timeoutMs: 300, tlsInsecure: true });
      expect(tls.code).to.equal('ASC_LDAP_UNREACHABLE');
      expect(tls.message).to.match(/did not answer within 300 ms/);
      expect(srv.connections()).to.equal(1);
      await waitUntil(() => srv.open() === 0, 'the TLS client closed its connection');
      const plain = await connectError({ url: `ldap://127.0.0.1:${srv.port}`, timeoutMs: 300, allowPlainLdap: true });
      expect(plain.code).to.equal('ASC_LDAP_UNREACHABLE');
      expect(plain.message).to.include(`ldap://127.0.0.1:${srv.port}`);
      expect(plain.message).to.match(/did not answer within 300 ms/);
      expect(srv.connections()).to.equal(2);
      await waitUntil(() => srv.open() === 0, 'the plain client closed its connection');
    } finally {
      await srv.close();
    }
  });
});

describe('directory: error mapping', () => {
  const ctx = { url: 'ldaps://dc1.corp.example.test:636', bindDn: 'admin@corp.example.test', secrets: [PASSWORD] };

  it('maps invalidCredentials (49) and explains the AD sub-code, never showing the password', () => {
    const server = new InvalidCredentialsError(`80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 775, v4563 ${PASSWORD}`);
    const e = mapLdapError(server, { ...ctx, operation: 'bind' });
    expect(e.code).to.equal('ASC_LDAP_BAD_CREDENTIALS');
    expect(e.message).to.include('locked out');
    expect(e.message).to.include('admin@corp.example.test');
    expect(e.message).to.not.include(PASSWORD);
    expect(e.cause).to.equal(server);
  });

  it('maps noSuchObject (32) naming the DN', () => {
    const e = mapLdapError(new NoSuchObjectError('0000208D: NameErr: DSID-0310028D, problem 2001 (NO_OBJECT)'), { ...ctx, operation: 'search', dn: 'OU=Gone,DC=corp' });
    expect(e.code).to.equal('ASC_LDAP_NO_SUCH_OBJECT');
    expect(e.message).to.include('OU=Gone,DC=corp');
  });

  it('maps insufficientAccessRights (50), confidentiality/strong auth (13/8), entryAlreadyExists (68)', () => {
    expect(mapLdapError(new InsufficientAccessError('00002098: SecErr'), { ...ctx, operation: 'modify', dn: 'CN=x' }).code).to.equal('ASC_LDAP_INSUFFICIENT_RIGHTS');
    expect(mapLdapError(new ConfidentialityRequiredError(), { ...ctx, operation: 'bind' }).code).to.equal('ASC_LDAP_TLS_REQUIRED');
    expect(mapLdapError(new StrongAuthRequiredError('BindSimple: Transport encryption required.'), { ...ctx, operation: 'bind' }).code).to.equal('ASC_LDAP_TLS_REQUIRED');
    const exists = mapLdapError(new AlreadyExistsError(), { ...ctx, operation: 'add', dn: 'OU=Dup,DC=corp' });
    expect(exists.code).to.equal('ASC_LDAP_ALREADY_EXISTS');
    expect(exists.message).to.include('OU=Dup,DC=corp');
  });

  it('maps any other result code to ASC_LDAP_ERROR with the code', () => {
    const e = mapLdapError(new UnwillingToPerformError('00002035: SvcErr: DSID-03152E29, problem 5003 (WILL_NOT_PERFORM)'), { ...ctx, operation: 'delete', dn: 'CN=x' });
    expect(e.code).to.equal('ASC_LDAP_ERROR');
    expect(e.message).to.match(/result code 53 \(unwillingToPerform\)/);
    expect(e.message).to.include('WILL_NOT_PERFORM');
  });

  it('maps socket errors to ASC_LDAP_UNREACHABLE naming the URL', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH']) {
      const err = Object.assign(new Error(`connect ${code}`), { code });
      const e = mapLdapError(err, { ...ctx, url: 'ldap://dc1:389', operation: 'bind' });
      expect(e.code, code).to.equal('ASC_LDAP_UNREACHABLE');
      expect(e.message).to.include('ldap://dc1:389');
    }
    expect(mapLdapError(new Error('Connection timeout'), { ...ctx, operation: 'bind', timeoutMs: 1500 }).message).to.include('1500 ms');
  });

  it('maps certificate errors to ASC_LDAP_TLS_FAILED with the --ca-file / ASCEND_LDAP_TLS_INSECURE=1 hint', () => {
    for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED']) {
      const e = mapLdapError(Object.assign(new Error('cert'), { code }), { ...ctx, operation: 'bind' });
      expect(e.code, code).to.equal('ASC_LDAP_TLS_FAILED');
      expect(e.hint).to.include('--ca-file');
      expect(e.hint).to.include('ASCEND_LDAP_TLS_INSECURE=1');
    }
    const mismatch = Object.assign(new Error("Hostname/IP does not match certificate's altnames"), {
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
      host: '127.0.0.1',
      cert: { subject: { CN: 'DC1.corp.example.test' } },
    });
    const e = mapLdapError(mismatch, { ...ctx, operation: 'bind' });
    expect(e.code).to.equal('ASC_LDAP_TLS_FAILED');
    expect(e.message).to.include('DC1.corp.example.test');
    expect(e.message).to.include('127.0.0.1');
    // a reset while the TLS socket is being set up
    expect(mapLdapError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), { ...ctx, operation: 'bind' }).code).to.equal('ASC_LDAP_TLS_FAILED');
  });

  it('passes AscendErrors through and wraps anything else as ASC_LDAP_ERROR', () => {
    const own = new AscendError('ASC_CONFIG', 'x');
    expect(mapLdapError(own, { ...ctx, operation: 'search' })).to.equal(own);
    expect(mapLdapError('weird', { ...ctx, operation: 'search' }).code).to.equal('ASC_LDAP_ERROR');
    expect(mapLdapError(new Error(`odd ${PASSWORD}`), { ...ctx, operation: 'search' }).message).to.not.include(PASSWORD);
  });
});
