/**
 * `ascend server start` over HTTPS with sign-in through the real Samba AD DC: an admin signs
 * in with their directory password and gets the role their group gives; plain HTTP to the
 * TLS port gets nothing; the CLI reaches the server over TLS with the CA in NODE_EXTRA_CA_CERTS.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { requireTestDc, sambaToolOk, type TestDc } from '../support/samba-dc.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RUN = join(ROOT, 'bin', 'run.js');

function httpsJson(url: string, ca: Buffer, method: string, body?: unknown, token?: string): Promise<{ status: number; json: any }> {
  return new Promise((done, fail) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      url,
      { method, ca, headers: { ...(data === undefined ? {} : { 'content-type': 'application/json' }), ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) } },
      (res) => {
        let text = '';
        res.on('data', (b: Buffer) => (text += b.toString()));
        res.on('end', () => done({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
      },
    );
    req.on('error', fail);
    req.end(data);
  });
}

describe('collector over HTTPS with Active Directory sign-in (real DC)', function () {
  this.timeout(180_000);
  let dc: TestDc;
  let dir: string;
  let child: ChildProcess | undefined;
  let url: string;
  let ca: Buffer;
  const run = randomBytes(3).toString('hex');
  const user = `tls${run}a`;
  const outsider = `tls${run}z`;
  const group = `Ascend Tls Approvers ${run}`;
  const password = `Pw-${randomBytes(6).toString('hex')}-aA1!`;

  before(async function () {
    dc = await requireTestDc(this);
    sambaToolOk(dc, ['user', 'create', user, password], { local: true });
    sambaToolOk(dc, ['user', 'create', outsider, password], { local: true });
    sambaToolOk(dc, ['group', 'add', group], { local: true });
    sambaToolOk(dc, ['group', 'addmembers', group, user], { local: true });

    dir = mkdtempSync(join(tmpdir(), 'ascend-tls-'));
    const key = join(dir, 'collector.key');
    const cert = join(dir, 'collector.crt');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { encoding: 'utf8' });
    expect(made.status, made.stderr).to.equal(0);
    ca = readFileSync(cert);

    const ldapsPort = new URL(dc.url).port || '636';
    const proc = spawn(
      process.execPath,
      [
        RUN, 'server', 'start', '--port', '0', '--data', join(dir, 'data'), '--tls-cert', cert, '--tls-key', key,
        '--ad-url', `ldaps://127.0.0.1:${ldapsPort}`, '--ad-ca-file', dc.caFile, '--ad-tls-server-name', `DC1.${dc.dnsDomain}`,
        '--ad-domain', dc.dnsDomain, '--ad-approver-group', group,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    let stdout = '';
    let stderr = '';
    proc.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    url = await new Promise<string>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`no URL in 60 s: ${stdout} ${stderr}`)), 60_000);
      proc.stdout?.on('data', (b: Buffer) => {
        stdout += b.toString();
        const m = /listening on (https:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
        if (m?.[1]) {
          clearTimeout(timer);
          done(m[1]);
        }
      });
      proc.on('exit', (code) => fail(new Error(`server exited ${code}: ${stderr}`)));
    });
  });

  after(() => {
    if (child && child.exitCode === null) child.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('signs a directory user in with the role of their group, and refuses a wrong password and a user in no group', async () => {
    const ok = await httpsJson(`${url}/api/v1/sign-in`, ca, 'POST', { user, password });
    expect(ok.status, JSON.stringify(ok.json)).to.equal(201);
    expect(ok.json).to.include({ role: 'approver' });
    const who = await httpsJson(`${url}/api/v1/whoami`, ca, 'GET', undefined, ok.json.token);
    expect(who.json).to.include({ role: 'approver', source: 'ad' });
    const wrong = await httpsJson(`${url}/api/v1/sign-in`, ca, 'POST', { user, password: `${password}x` });
    expect(wrong.status).to.equal(401);
    expect(wrong.json.error.code).to.equal('ASC_COLLECTOR_UNAUTHENTICATED');
    expect(JSON.stringify(wrong.json)).to.not.include(password);
    const none = await httpsJson(`${url}/api/v1/sign-in`, ca, 'POST', { user: outsider, password });
    expect(none.status).to.equal(403);
    expect(none.json.error.code).to.equal('ASC_COLLECTOR_FORBIDDEN');
  });

  it('serves the CLI over TLS when the CA is trusted, and nothing over plain HTTP', async () => {
    const tokenFile = join(dir, 'data', 'bootstrap-admin-token');
    const r = spawnSync(process.execPath, [RUN, 'report', 'approvals', '--server', url, '--token-file', tokenFile, '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'collector.crt') },
    });
    expect(r.status, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.include({ report: 'approvals' });
    // Without the CA: refused as an untrusted server (the certificate is self-signed), in one line.
    const untrusted = spawnSync(process.execPath, [RUN, 'report', 'approvals', '--server', url, '--token-file', tokenFile], { cwd: ROOT, encoding: 'utf8' });
    expect(untrusted.status).to.equal(1);
    const line = `Error: the server at ${url} is not the trusted collector: its certificate failed verification (DEPTH_ZERO_SELF_SIGNED_CERT)`;
    expect(untrusted.stderr.trim().startsWith(`${line} (`), untrusted.stderr).to.equal(true); // then the hint, in parentheses
    expect(untrusted.stderr.trim()).to.match(/\(pass --ca-file .*\)$/);
    expect(untrusted.stderr.trim().split('\n')).to.have.length(1);
    const untrustedJson = spawnSync(process.execPath, [RUN, 'report', 'approvals', '--server', url, '--token-file', tokenFile, '--json'], { cwd: ROOT, encoding: 'utf8' });
    expect(untrustedJson.status).to.equal(1);
    expect(JSON.parse(untrustedJson.stdout).error.code).to.equal('ASC_COLLECTOR_UNTRUSTED');
    // Plain HTTP to the TLS port: no HTTP answer at all, the connection is closed (at most a TLS alert record comes back).
    const { port } = new URL(url);
    const back = await new Promise<Buffer>((done, fail) => {
      const chunks: Buffer[] = [];
      const sock = connect(Number(port), '127.0.0.1', () => sock.write('GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
      sock.on('data', (b: Buffer) => chunks.push(b));
      sock.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : fail(e)));
      sock.on('close', () => done(Buffer.concat(chunks)));
    });
    expect(back.toString('latin1'), 'an HTTP answer over plain HTTP').to.not.match(/HTTP\//);
    if (back.length > 0) expect(back[0], 'a TLS alert record (content type 21)').to.equal(21);
  });
});
