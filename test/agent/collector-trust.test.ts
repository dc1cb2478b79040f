/**
 * Issue 13, finding 1 at the level of the agent's collector client: the agent trusts only
 * the collector whose certificate authority its enrollment token pins, and acts only on
 * decisions signed by the collector's key and bound to its own request.
 *
 * A real collector (buildServer over https, real SQLite) with a CA made here by openssl; the
 * impostors are real https and http servers on loopback: one with a CA of its own (a user who
 * took the port), and one "proxy" holding a certificate the agent trusts (the worst case: a
 * party past TLS) that forges, strips or replays answers.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { Secret, TOTP } from 'otpauth';
import { AgentCollectorClient, type Enrollment } from '../../agent/collector/client.js';
import { signGrant } from '../../src/collector-api/grant.js';
import { joinEnrollmentToken, pinOfCertificate, splitEnrollmentToken } from '../../src/collector-api/pin.js';
import { closeIdleConnections } from '../../src/collector-api/transport.js';
import { buildServer } from '../../src/collector/server/index.js';
import { SqliteStore } from '../../src/collector/storage/index.js';
import { isAscendError } from '../../src/errors.js';

/** A CA and a server certificate for 127.0.0.1 signed by it, made by openssl. */
function makeCa(dir: string, name: string): { caPem: string; cert: string; key: string } {
  const p = (f: string) => join(dir, `${name}-${f}`);
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', `/CN=${name} CA`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(p('ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n');
  run(['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '2', '-out', p('server.pem'), '-extfile', p('ext')]);
  return { caPem: readFileSync(p('ca.pem'), 'utf8'), cert: readFileSync(p('server.pem'), 'utf8') + readFileSync(p('ca.pem'), 'utf8'), key: readFileSync(p('server.key'), 'utf8') };
}

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  nonce: string | undefined;
  body: string;
}

/** A server that records what reaches it and answers with `answer(req)`. */
async function fakeServer(tls: { cert: string; key: string } | null, answer: (s: Seen) => { status: number; body: unknown }): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const s = { method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, nonce: req.headers['ascend-nonce'] as string | undefined, body };
      seen.push(s);
      const a = answer(s);
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.body));
    });
  };
  const server = tls ? https.createServer({ cert: tls.cert, key: tls.key }, handler) : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/`,
    seen,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isAscendError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('agent ↔ collector trust: pinned CA, signed grants bound to the request (issue 13, finding 1)', function () {
  this.timeout(60_000);
  let dir: string;
  let real: ReturnType<typeof makeCa>;
  let other: ReturnType<typeof makeCa>;
  let app: FastifyInstance;
  let store: SqliteStore;
  let url: string;
  let admin: string;
  const grantKey = generateKeyPairSync('ed25519').privateKey;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ascend-trust-'));
    real = makeCa(dir, 'real');
    other = makeCa(dir, 'other');
    store = await SqliteStore.open(join(dir, 'db'));
    app = buildServer({ store, https: { cert: real.cert, key: real.key }, identity: { anchor: real.caPem, grantKey } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `https://127.0.0.1:${(app.server.address() as AddressInfo).port}/`;
    admin = (await store.createApiToken('admin', 'trust-admin')).token;
  });
  after(async () => {
    closeIdleConnections();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function newToken(): Promise<string> {
    const res = await app.inject({ method: 'POST', url: '/api/v1/enroll-tokens', headers: { authorization: `Bearer ${admin}` }, payload: { uses: 1 } });
    expect(res.statusCode, res.body).to.equal(201);
    return (res.json() as { token: string }).token;
  }

  it('an enrollment token carries the pin of the collector CA, and enrollment through it pins that CA and the grant key', async () => {
    const token = await newToken();
    expect(splitEnrollmentToken(token).pin).to.equal(pinOfCertificate(real.caPem));
    const e = await AgentCollectorClient.enroll(url, token, 'PC-TRUST-1');
    expect(e.anchor).to.equal(real.caPem);
    expect(e.insecure).to.equal(false);
    expect(e.grantKey).to.match(/BEGIN PUBLIC KEY/);
  });

  it('an impostor on the collector address with a CA of its own gets no enrollment token: refused before anything is sent', async () => {
    const token = await newToken();
    const impostor = await fakeServer(other, (s) => (s.url === '/api/v1/tls/anchor' ? { status: 200, body: { anchor: other.caPem } } : { status: 201, body: { agentId: 'x', credential: 'y', grantKey: 'z' } }));
    try {
      const r = await refusal(AgentCollectorClient.enroll(impostor.url, token, 'PC-TRUST-2'));
      expect(r.code).to.equal('ASC_COLLECTOR_UNTRUSTED');
      expect(r.message).to.match(/not the one in the enrollment token/);
      expect(impostor.seen.map((s) => s.url)).to.deep.equal(['/api/v1/tls/anchor']);
      expect(impostor.seen.some((s) => s.body.includes(splitEnrollmentToken(token).secret))).to.equal(false);
    } finally {
      await impostor.close();
    }
    // The token was not spent: the real collector still takes it.
    await AgentCollectorClient.enroll(url, token, 'PC-TRUST-2');
  });

  it('an impostor that offers the real CA but cannot present a certificate from it is refused at TLS', async () => {
    const token = await newToken();
    const impostor = await fakeServer(other, (s) => (s.url === '/api/v1/tls/anchor' ? { status: 200, body: { anchor: real.caPem } } : { status: 201, body: {} }));
    try {
      const r = await refusal(AgentCollectorClient.enroll(impostor.url, token, 'PC-TRUST-3'));
      expect(r.code).to.equal('ASC_COLLECTOR_UNTRUSTED');
      expect(impostor.seen.filter((s) => s.url !== '/api/v1/tls/anchor')).to.have.length(0);
    } finally {
      await impostor.close();
    }
  });

  it('an impostor that offers a bundle (the real CA, then its own) is refused: the pin names one certificate, and only that one is trusted', async () => {
    const token = await newToken();
    const impostor = await fakeServer(other, (s) => (s.url === '/api/v1/tls/anchor' ? { status: 200, body: { anchor: real.caPem + other.caPem } } : { status: 201, body: { agentId: 'x', credential: 'y', grantKey: 'z' } }));
    try {
      const r = await refusal(AgentCollectorClient.enroll(impostor.url, token, 'PC-TRUST-6'));
      expect(r.code).to.equal('ASC_COLLECTOR_UNTRUSTED');
      expect(r.message).to.match(/holds 2 certificates/);
      expect(impostor.seen.map((x) => x.url)).to.deep.equal(['/api/v1/tls/anchor']);
    } finally {
      await impostor.close();
    }
  });

  it('plain http is refused unless --insecure-dev, and a token without a pin is refused without --collector-ca', async () => {
    const token = await newToken();
    const plain = await fakeServer(null, () => ({ status: 201, body: {} }));
    try {
      const r = await refusal(AgentCollectorClient.enroll(plain.url, token, 'PC-TRUST-4'));
      expect(r.code).to.equal('ASC_AGENT_CONFIG');
      expect(plain.seen).to.have.length(0);
    } finally {
      await plain.close();
    }
    const bare = splitEnrollmentToken(token).secret;
    const r = await refusal(AgentCollectorClient.enroll(url, bare, 'PC-TRUST-4'));
    expect(r.code).to.equal('ASC_COLLECTOR_UNTRUSTED');
    expect(r.message).to.match(/carries no collector fingerprint/);
    // With the admin's CA file it works, and a CA file that is not the token's pin is refused.
    const r2 = await refusal(AgentCollectorClient.enroll(url, token, 'PC-TRUST-4', { ca: other.caPem }));
    expect(r2.code).to.equal('ASC_COLLECTOR_UNTRUSTED');
    const e = await AgentCollectorClient.enroll(url, bare, 'PC-TRUST-4', { ca: real.caPem });
    expect(e.anchor).to.equal(real.caPem);
  });

  it('a token made by another collector (another pin) is refused by the collector too', async () => {
    const { secret } = splitEnrollmentToken(await newToken());
    const res = await app.inject({ method: 'POST', url: '/api/v1/enroll', payload: { enrollmentToken: joinEnrollmentToken(secret, pinOfCertificate(other.caPem)), computer: 'PC-TRUST-5' } });
    expect(res.statusCode).to.equal(403);
    expect(res.body).to.match(/another certificate authority/);
  });

  describe('decisions are signed and bound to the request', () => {
    let enrollment: Enrollment;
    let client: AgentCollectorClient;

    before(async () => {
      enrollment = await AgentCollectorClient.enroll(url, await newToken(), 'PC-GRANT');
      client = new AgentCollectorClient(enrollment);
      // MFA for alice, by the admin API: the secret comes back once.
      const res = await app.inject({ method: 'POST', url: '/api/v1/mfa/enrollments', headers: { authorization: `Bearer ${admin}` }, payload: { user: 'trust-alice' } });
      expect(res.statusCode, res.body).to.equal(201);
    });

    /** A party past TLS (it holds a certificate from the pinned CA), answering as `answer` says. */
    async function proxy(answer: (s: Seen) => { status: number; body: unknown }): Promise<{ client: AgentCollectorClient; seen: Seen[]; close: () => Promise<void> }> {
      const f = await fakeServer(real, answer);
      return { client: new AgentCollectorClient({ ...enrollment, url: f.url }), seen: f.seen, close: f.close };
    }

    it('the real collector signs an MFA answer the agent accepts; a wrong code is refused', async () => {
      const secret = Secret.fromBase32((await store.getMfa('trust-alice'))!.secret);
      const code = new TOTP({ secret, algorithm: 'SHA1', digits: 6, period: 30 }).generate();
      expect(await client.verifyMfa('trust-alice', code)).to.deep.equal({ verified: true });
      const wrong = code === '000000' ? '111111' : '000000';
      expect((await client.verifyMfa('trust-alice', wrong)).verified).to.equal(false);
    });

    it('an unsigned "verified: true" is refused', async () => {
      const p = await proxy(() => ({ status: 200, body: { user: 'trust-alice', verified: true } }));
      try {
        const r = await refusal(p.client.verifyMfa('trust-alice', '123456'));
        expect(r.code).to.equal('ASC_COLLECTOR_UNTRUSTED');
        expect(r.message).to.match(/no signed grant/);
      } finally {
        await p.close();
      }
    });

    it('a real signed answer replayed to another request is refused (the nonce binds it)', async () => {
      // Capture a real signed "verified: true" (the proxy forwards once to the real collector), then replay it.
      const secret = Secret.fromBase32((await store.getMfa('trust-alice'))!.secret);
      let captured: unknown;
      const p = await proxy(() => ({ status: 200, body: captured }));
      try {
        // The honest exchange, recorded by hand: same agent, its own nonce.
        const code = new TOTP({ secret, algorithm: 'SHA1', digits: 6, period: 30 }).generate({ timestamp: Date.now() + 30_000 });
        const honest = await app.inject({
          method: 'POST',
          url: '/api/v1/agent/mfa/verify',
          headers: { authorization: `Bearer ${enrollment.credential}`, 'ascend-nonce': 'A'.repeat(43) },
          payload: { user: 'trust-alice', code },
        });
        captured = honest.json();
        expect((captured as { verified: boolean; grant?: string }).verified).to.equal(true);
        expect((captured as { grant?: string }).grant).to.be.a('string');
        const r = await refusal(p.client.verifyMfa('trust-alice', '999999'));
        expect(r.code).to.equal('ASC_COLLECTOR_UNTRUSTED');
        expect(r.message).to.match(/another request/);
      } finally {
        await p.close();
      }
    });

    it('a grant signed by another key, or none at all, is refused: approvals, redemptions, revocation lists', async () => {
      const forger = generateKeyPairSync('ed25519').privateKey;
      const p = await proxy((s) => {
        if (s.url.includes('/use')) {
          return { status: 200, body: { request: { requestId: 'r1', status: 'approved' }, grant: signGrant(forger, { kind: 'approval-use', agentId: enrollment.agentId, nonce: 'x'.repeat(43), issuedAt: Date.now(), answer: {} }) } };
        }
        if (s.url.includes('/redeem')) return { status: 200, body: { ok: true, uses: 1, maxUses: null } };
        return { status: 200, body: { revocations: [] } };
      });
      try {
        expect((await refusal(p.client.useApproval('r1'))).code).to.equal('ASC_COLLECTOR_UNTRUSTED');
        expect((await refusal(p.client.redeemPasscode('pc-1'))).code).to.equal('ASC_COLLECTOR_UNTRUSTED');
        // A stripped revocation list (unsigned, empty) is not taken either.
        expect((await refusal(p.client.revocations())).code).to.equal('ASC_COLLECTOR_UNTRUSTED');
      } finally {
        await p.close();
      }
    });

    it('a grant signed by the collector key for this very request but another agent is refused; for this agent it is taken', async () => {
      let forAgent = 'another-agent';
      const p = await proxy((s) => ({
        status: 200,
        body: { grant: signGrant(grantKey, { kind: 'mfa-verify', agentId: forAgent, nonce: s.nonce ?? '', issuedAt: Date.now(), answer: { user: 'trust-alice', verified: true } }) },
      }));
      try {
        const r = await refusal(p.client.verifyMfa('trust-alice', '123456'));
        expect(r.code).to.equal('ASC_COLLECTOR_UNTRUSTED');
        expect(r.message).to.match(/another agent/);
        forAgent = enrollment.agentId;
        expect(await p.client.verifyMfa('trust-alice', '123456')).to.deep.equal({ verified: true });
        // ...and a signed answer about another user is not taken for this one.
        const r2 = await refusal(p.client.verifyMfa('trust-bob', '123456'));
        expect(r2.message).to.match(/another user/);
      } finally {
        await p.close();
      }
    });

    it("a refusal's message is cut and its control characters escaped before it reaches a terminal or a log", async () => {
      const p = await proxy(() => ({ status: 403, body: { error: { code: 'ASC_COLLECTOR_FORBIDDEN', message: `no\u001b]0;pwned\u0007\nFAKE LINE${'x'.repeat(2000)}` } } }));
      try {
        const r = await refusal(p.client.verifyMfa('trust-alice', '123456'));
        expect(r.code).to.equal('ASC_COLLECTOR_FORBIDDEN');
        expect(r.message).to.not.match(/[\u0000-\u001f\u007f]/);
        expect(r.message.length).to.be.lessThan(700);
      } finally {
        await p.close();
      }
    });

    it('the real collector signs approvals, redemptions and revocations the agent accepts', async () => {
      const filed = await client.fileApproval({ requestId: 'trust-req-1', user: 'trust-alice', processPath: '/usr/bin/id', args: '' });
      expect(filed.status).to.equal('pending');
      const pending = await client.pollApproval('trust-req-1', 0);
      expect(pending.status).to.equal('pending');
      const list = await client.revocations();
      expect(list).to.be.an('array');
      const redeem = await client.redeemPasscode('trust-unknown-passcode');
      expect(redeem).to.deep.equal({ ok: false, reason: 'unknown' });
    });
  });
});
