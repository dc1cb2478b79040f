/**
 * The collector's TLS identity (issue 13, finding 1, collector and admin-CLI side): a real
 * `ascend server start` makes a certificate authority in DATA/tls/ and serves HTTPS with a
 * certificate it signed, prints the CA's fingerprint, keeps the CA across restarts and issues
 * a new server certificate when a name is added; private key files are 0600 and a key file
 * others may read is refused; the admin CLI trusts only --ca-file (or the system's CAs) and
 * reaches plain http only when told to.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { loadOrCreateIdentity, wantedNames } from '../../src/collector/server/identity.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RUN = join(ROOT, 'bin', 'run.js');

interface Started {
  proc: ChildProcess;
  url: string;
  fingerprint: string | undefined;
  stdout: () => string;
  stderr: () => string;
  stop: () => Promise<number | null>;
}

/** `ascend server start` until it says how to stop it. */
async function start(args: string[]): Promise<Started> {
  // Human lines: this suite reads the start-up summary as people do (JSON lines are first-hour.test.ts's).
  const proc = spawn(process.execPath, [RUN, 'server', 'start', '--port', '0', '--log-format', 'human', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((done) => proc.on('exit', (code) => done(code)));
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`no start in 60 s; stdout: ${stdout}; stderr: ${stderr}`)), 60_000);
    proc.stdout?.on('data', (b: Buffer) => {
      stdout += b.toString();
      if (stdout.includes('Stop with Ctrl+C')) {
        clearTimeout(timer);
        done();
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`exited ${code}: ${stderr}`));
    });
  });
  const url = /listening on (\S+) /.exec(stdout)?.[1] ?? '';
  const fingerprint = /^Fingerprint: (SHA256:\S+)$/m.exec(stdout)?.[1];
  return {
    proc,
    url,
    fingerprint,
    stdout: () => stdout,
    stderr: () => stderr,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

function ascend(args: string[], env: NodeJS.ProcessEnv = {}) {
  const clean = { ...process.env };
  delete clean.ASCEND_CA_FILE;
  delete clean.ASCEND_INSECURE_HTTP;
  delete clean.NODE_EXTRA_CA_CERTS;
  return spawnSync(process.execPath, [RUN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...clean, ...env } });
}

/** GET over TLS trusting only `ca`; the status, or the TLS error code. */
function httpsGet(url: string, ca: string | Buffer): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((done) => {
    const req = request(url, { method: 'GET', ca, agent: false }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (e: Error & { code?: string }) => done({ error: e.code ?? e.message }));
    req.end();
  });
}

function pinOf(pem: string): string {
  return `SHA256:${createHash('sha256').update(new X509Certificate(pem).raw).digest('base64url')}`;
}

function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

describe('collector TLS identity (issue 13)', function () {
  this.timeout(120_000);
  let dir: string;
  let data: string;
  const running: Started[] = [];

  before(function () {
    if (!existsSync(join(ROOT, 'dist', 'src', 'collector', 'server', 'identity.js'))) throw new Error('the CLI is not built: run "npm run build"');
    if (process.getuid?.() !== 0) throw new Error('these tests run as root (they give a key file to another user)');
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ascend-h1-tls-'));
    data = join(dir, 'data');
  });
  afterEach(async () => {
    for (const s of running.splice(0)) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function started(args: string[]): Promise<Started> {
    const s = await start(args);
    running.push(s);
    return s;
  }

  it('creates a CA on first start, prints its fingerprint (the SHA-256 of its DER), and serves health over TLS verified against ca.pem', async () => {
    const s = await started(['--data', data]);
    expect(s.url).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
    const caPem = readFileSync(join(data, 'tls', 'ca.pem'), 'utf8');
    const ca = new X509Certificate(caPem);
    expect(ca.ca).to.equal(true);
    expect(ca.publicKey.asymmetricKeyType).to.equal('ec');
    expect(ca.publicKey.asymmetricKeyDetails?.namedCurve).to.equal('prime256v1');
    expect(Date.parse(ca.validTo) - Date.now()).to.be.greaterThan(9 * 365 * 86_400_000);
    expect(s.fingerprint).to.equal(pinOf(caPem));
    expect(s.stdout()).to.include(join(data, 'tls', 'ca.pem'));
    expect(s.stderr()).to.not.match(/warning/i);

    const ok = await httpsGet(`${s.url}/api/v1/health`, caPem);
    expect(ok).to.deep.equal({ status: 200, body: JSON.stringify({ status: 'ok', storage: 'sqlite' }) });
    // The same name by "localhost" and "::1" verifies too; another CA does not.
    const port = new URL(s.url).port;
    expect(await httpsGet(`https://localhost:${port}/api/v1/health`, caPem)).to.have.property('status', 200);
    const other = await loadOrCreateIdentity(join(dir, 'other'), { host: '127.0.0.1' });
    expect(await httpsGet(`${s.url}/api/v1/health`, other.anchor)).to.deep.equal({ error: 'SELF_SIGNED_CERT_IN_CHAIN' });

    const leaf = new X509Certificate(readFileSync(join(data, 'tls', 'server.pem')));
    expect(leaf.checkIssued(ca) && leaf.verify(ca.publicKey)).to.equal(true);
    expect(leaf.subjectAltName).to.include('DNS:localhost').and.include('IP Address:127.0.0.1');
    expect(leaf.ca).to.equal(false);
    expect(await s.stop()).to.equal(0);
  });

  it('writes the key files 0600 in a 0700 folder, and refuses a key file its group may read or another user owns, in one line', async () => {
    const s = await started(['--data', data]);
    expect(await s.stop()).to.equal(0);
    expect(mode(join(data, 'tls'))).to.equal(0o700);
    for (const f of ['tls/ca.key', 'tls/server.key', 'grant-signing.key']) expect(mode(join(data, f)), f).to.equal(0o600);
    expect(readFileSync(join(data, 'grant-signing.key'), 'utf8')).to.match(/^-----BEGIN PRIVATE KEY-----/);

    for (const f of ['tls/server.key', 'tls/ca.key', 'grant-signing.key']) {
      const file = join(data, f);
      chmodSync(file, 0o640);
      const r = ascend(['server', 'start', '--port', '0', '--data', data]);
      expect(r.status, `${f}: ${r.stdout}`).to.equal(1);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, r.stderr).to.have.length(1);
      expect(lines[0]).to.include(file).and.match(/mode 640, open to group or others/);
      const j = ascend(['server', 'start', '--port', '0', '--data', data, '--json']);
      expect(JSON.parse(j.stdout).error.code).to.equal('ASC_KEY_FILE_INSECURE');
      chmodSync(file, 0o600);
    }
    chownSync(join(data, 'tls', 'server.key'), 65534, 65534);
    const owned = ascend(['server', 'start', '--port', '0', '--data', data]);
    expect(owned.status).to.equal(1);
    expect(owned.stderr.trimEnd().split('\n')).to.have.length(1);
    expect(owned.stderr).to.match(/server\.key: belongs to another user/);
    chownSync(join(data, 'tls', 'server.key'), 0, 0);
    chmodSync(join(data, 'tls'), 0o755);
    const folder = ascend(['server', 'start', '--port', '0', '--data', data]);
    expect(folder.status).to.equal(1);
    expect(folder.stderr).to.match(/tls: the key folder has mode 755/);
  });

  it('keeps the CA across restarts and issues a new server certificate when --tls-name adds a name', async () => {
    const first = await started(['--data', data]);
    expect(await first.stop()).to.equal(0);
    const serverPem1 = readFileSync(join(data, 'tls', 'server.pem'), 'utf8');

    const same = await started(['--data', data]);
    expect(same.fingerprint).to.equal(first.fingerprint);
    expect(same.stdout()).to.not.match(/Created a certificate authority|Issued a new server certificate/);
    expect(await same.stop()).to.equal(0);
    expect(readFileSync(join(data, 'tls', 'server.pem'), 'utf8')).to.equal(serverPem1);

    const named = await started(['--data', data, '--tls-name', 'collector.h1.example', '--tls-name', '192.0.2.7']);
    expect(named.fingerprint).to.equal(first.fingerprint);
    expect(named.stdout()).to.include('Issued a new server certificate');
    const caPem = readFileSync(join(data, 'tls', 'ca.pem'), 'utf8');
    const leaf = new X509Certificate(readFileSync(join(data, 'tls', 'server.pem')));
    expect(leaf.subjectAltName).to.include('DNS:collector.h1.example').and.include('IP Address:192.0.2.7');
    expect(leaf.verify(new X509Certificate(caPem).publicKey)).to.equal(true);
    expect(await httpsGet(`${named.url}/api/v1/health`, caPem)).to.have.property('status', 200);
    expect(await named.stop()).to.equal(0);

    const bad = ascend(['server', 'start', '--port', '0', '--data', data, '--tls-name', 'evil name\n']);
    expect(bad.status).to.equal(2);
    expect(bad.stderr.trimEnd().split('\n')).to.have.length(1);
    expect(bad.stderr).to.match(/--tls-name must be a DNS name or an IP address/);
  });

  it('issues a new server certificate 30 days before it expires, under the same CA', async () => {
    const now = new Date();
    const a = await loadOrCreateIdentity(data, { host: '127.0.0.1' });
    expect(a.made).to.deep.equal({ ca: true, serverCert: true, grantKey: true });
    const b = await loadOrCreateIdentity(data, { host: '127.0.0.1', now: new Date(now.getTime() + 86_400_000) });
    expect(b.made).to.deep.equal({ ca: false, serverCert: false, grantKey: false });
    expect(b.https.cert).to.equal(a.https.cert);
    const leafEnd = Date.parse(new X509Certificate(a.https.cert).validTo);
    const c = await loadOrCreateIdentity(data, { host: '127.0.0.1', now: new Date(leafEnd - 29 * 86_400_000) });
    expect(c.made.serverCert).to.equal(true);
    expect(c.pin).to.equal(a.pin);
    expect(c.anchor).to.equal(a.anchor);
    expect(c.grantKey.export({ format: 'jwk' })).to.deep.equal(a.grantKey.export({ format: 'jwk' }));
    expect(Date.parse(new X509Certificate(c.https.cert).validTo)).to.be.greaterThan(leafEnd);
    // A specific --host is named; the unspecified addresses are not.
    expect(wantedNames('10.9.8.7', [], 'pc-h1')).to.deep.equal(['localhost', '127.0.0.1', '::1', 'pc-h1', '10.9.8.7']);
    expect(wantedNames('0.0.0.0', ['Collector.Example'], 'pc-h1')).to.deep.equal(['localhost', '127.0.0.1', '::1', 'pc-h1', 'collector.example']);
  });

  it('the admin CLI refuses the https collector without --ca-file (ASC_COLLECTOR_UNTRUSTED, one line, no stack) and works with it or ASCEND_CA_FILE', async () => {
    const s = await started(['--data', data]);
    const tokenFile = join(data, 'bootstrap-admin-token');
    const caFile = join(data, 'tls', 'ca.pem');

    const untrusted = ascend(['server', 'whoami', '--server', s.url, '--token-file', tokenFile]);
    expect(untrusted.status).to.equal(1);
    const lines = untrusted.stderr.trimEnd().split('\n');
    expect(lines, untrusted.stderr).to.have.length(1);
    expect(lines[0]).to.match(/^Error: the server at https:\/\/127\.0\.0\.1:\d+ is not the trusted collector.*pass --ca-file DATA\/tls\/ca\.pem/);
    expect(untrusted.stderr).to.not.match(/\n\s+at /);
    const untrustedJson = ascend(['server', 'enroll-token', 'create', '--server', s.url, '--token-file', tokenFile, '--json']);
    expect(JSON.parse(untrustedJson.stdout).error.code).to.equal('ASC_COLLECTOR_UNTRUSTED');
    const report = ascend(['report', 'approvals', '--server', s.url, '--token-file', tokenFile, '--json']);
    expect(JSON.parse(report.stdout).error.code).to.equal('ASC_COLLECTOR_UNTRUSTED');

    const ok = ascend(['server', 'whoami', '--server', s.url, '--token-file', tokenFile, '--ca-file', caFile, '--json']);
    expect(ok.status, ok.stderr).to.equal(0);
    expect(JSON.parse(ok.stdout)).to.include({ role: 'admin' });
    const byEnv = ascend(['report', 'approvals', '--server', s.url, '--token-file', tokenFile, '--json'], { ASCEND_CA_FILE: caFile });
    expect(byEnv.status, byEnv.stderr).to.equal(0);

    // The enrollment token carries the fingerprint the collector printed.
    const created = ascend(['server', 'enroll-token', 'create', '--server', s.url, '--token-file', tokenFile, '--ca-file', caFile]);
    expect(created.status, created.stderr).to.equal(0);
    const pin = (s.fingerprint ?? '').replace(/^SHA256:/, '');
    expect(created.stdout.split('\n')[0]).to.match(new RegExp(`^[A-Za-z0-9_-]+\\.${pin}$`));
    expect(created.stdout).to.include(`pins the collector's certificate authority ${s.fingerprint}`);
    const createdJson = ascend(['server', 'enroll-token', 'create', '--server', s.url, '--token-file', tokenFile, '--ca-file', caFile, '--json']);
    expect(JSON.parse(createdJson.stdout)).to.include({ fingerprint: s.fingerprint });

    // Another CA (a second collector's) is refused.
    const other = join(dir, 'other');
    mkdirSync(other);
    await loadOrCreateIdentity(other, { host: '127.0.0.1' });
    const wrongCa = ascend(['server', 'whoami', '--server', s.url, '--token-file', tokenFile, '--ca-file', join(other, 'tls', 'ca.pem'), '--json']);
    expect(JSON.parse(wrongCa.stdout).error.code).to.equal('ASC_COLLECTOR_UNTRUSTED');
    // A plain-http URL is refused without --insecure-http.
    const plain = ascend(['server', 'whoami', '--server', s.url.replace('https:', 'http:'), '--token-file', tokenFile, '--json']);
    expect(JSON.parse(plain.stdout).error.code).to.equal('ASC_COLLECTOR_INSECURE_REFUSED');
  });

  it('--insecure-http serves plain HTTP with a warning at every start, and the CLI reaches it only with --insecure-http, saying so', async () => {
    const s = await started(['--data', data, '--insecure-http']);
    expect(s.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(s.stderr()).to.match(/^Warning: serving plain HTTP on 127\.0\.0\.1 \(--insecure-http\), for development only/m);
    expect(s.fingerprint).to.equal(undefined);
    expect(existsSync(join(data, 'grant-signing.key'))).to.equal(true);
    const tokenFile = join(data, 'bootstrap-admin-token');
    const refused = ascend(['server', 'whoami', '--server', s.url, '--token-file', tokenFile]);
    expect(refused.status).to.equal(1);
    expect(refused.stderr).to.match(/^Error: refusing plain http to http:\/\/127\.0\.0\.1:\d+/);
    const ok = ascend(['server', 'whoami', '--server', s.url, '--token-file', tokenFile, '--insecure-http']);
    expect(ok.status, ok.stderr).to.equal(0);
    expect(ok.stderr.match(/Warning: talking to http:\/\/127\.0\.0\.1:\d+ over plain HTTP/g)).to.have.length(1);
    const byEnv = ascend(['server', 'whoami', '--server', s.url, '--token-file', tokenFile], { ASCEND_INSECURE_HTTP: '1' });
    expect(byEnv.status, byEnv.stderr).to.equal(0);
    expect(await s.stop()).to.equal(0);

    const again = await started(['--data', data, '--insecure-http']);
    expect(again.stderr()).to.match(/Warning: serving plain HTTP/);
  });

  it("serves the admin's own certificate: the anchor is --tls-ca, and a chain without its CA is refused in one line", async () => {
    const ssl = (args: string[]) => {
      const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
      expect(r.status, r.stderr).to.equal(0);
    };
    ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-subj', '/CN=H1 Corp CA', '-keyout', 'corp-ca.key', '-out', 'corp-ca.pem']);
    ssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'leaf.key', '-out', 'leaf.csr']);
    writeFileSync(join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
    ssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'corp-ca.pem', '-CAkey', 'corp-ca.key', '-CAcreateserial', '-days', '20', '-extfile', 'ext', '-out', 'leaf.pem']);
    chmodSync(join(dir, 'leaf.key'), 0o600);

    const refused = ascend(['server', 'start', '--port', '0', '--data', data, '--tls-cert', join(dir, 'leaf.pem'), '--tls-key', join(dir, 'leaf.key')]);
    expect(refused.status).to.equal(2);
    expect(refused.stderr.trimEnd().split('\n'), refused.stderr).to.have.length(1);
    expect(refused.stderr).to.match(/does not end with the certificate authority that issued it: give that CA with --tls-ca FILE/);

    const caPem = readFileSync(join(dir, 'corp-ca.pem'), 'utf8');
    const s = await started(['--data', data, '--tls-cert', join(dir, 'leaf.pem'), '--tls-key', join(dir, 'leaf.key'), '--tls-ca', join(dir, 'corp-ca.pem')]);
    expect(s.fingerprint).to.equal(pinOf(caPem));
    expect(await httpsGet(`${s.url}/api/v1/health`, caPem)).to.have.property('status', 200);
    expect(existsSync(join(data, 'tls'))).to.equal(false);
    expect(mode(join(data, 'grant-signing.key'))).to.equal(0o600);
    await s.stop();

    chmodSync(join(dir, 'leaf.key'), 0o644);
    const open = ascend(['server', 'start', '--port', '0', '--data', data, '--tls-cert', join(dir, 'leaf.pem'), '--tls-key', join(dir, 'leaf.key'), '--tls-ca', join(dir, 'corp-ca.pem'), '--json']);
    expect(JSON.parse(open.stdout).error.code).to.equal('ASC_KEY_FILE_INSECURE');
  });
});
