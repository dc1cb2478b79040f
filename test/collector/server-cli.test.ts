/**
 * `ascend server start` as a child process (the built CLI), and `ascend server enroll-token create`
 * against it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { caFetch } from '../support/tls.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RUN = join(ROOT, 'bin', 'run.js');

function ascend(args: string[]) {
  return spawnSync(process.execPath, [RUN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
}

describe('ascend server (CLI)', function () {
  let dir: string;
  let child: ChildProcess | undefined;

  before(function () {
    if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'commands', 'server', 'start.js'))) throw new Error('the CLI is not built: run "npm run build"');
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ascend-server-cli-'));
  });
  afterEach(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts on a free port over TLS, writes the bootstrap token (0600), serves enroll-token create, and stops on SIGTERM with 0', async () => {
    const data = join(dir, 'data');
    const proc = spawn(process.execPath, [RUN, 'server', 'start', '--port', '0', '--data', data], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let stdout = '';
    let stderr = '';
    proc.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((done) => proc.on('exit', (code) => done(code)));
    const url = await new Promise<string>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`no URL printed in 60 s; stdout: ${stdout}; stderr: ${stderr}`)), 60_000);
      proc.stdout?.on('data', (b: Buffer) => {
        stdout += b.toString();
        const m = /listening on (https:\/\/127\.0\.0\.1:(\d+))/.exec(stdout);
        if (m?.[1] && /Bootstrap admin token written to (\S+)/.test(stdout)) {
          clearTimeout(timer);
          done(m[1]);
        }
      });
      proc.on('exit', (code) => fail(new Error(`exited ${code}: ${stderr}`)));
    });
    expect(url).to.not.match(/:0$/);
    const tokenFile = join(data, 'bootstrap-admin-token');
    expect(stdout).to.include(tokenFile);
    expect(statSync(tokenFile).mode & 0o777).to.equal(0o600);
    const adminToken = readFileSync(tokenFile, 'utf8').trim();
    const caFile = join(data, 'tls', 'ca.pem');
    const fetch = caFetch(readFileSync(caFile, 'utf8'));

    const health = await fetch(`${url}/api/v1/health`);
    expect(health.status).to.equal(200);
    expect(await health.json()).to.deep.equal({ status: 'ok', storage: 'sqlite' });

    // spawnSync would block this process's event loop, which is fine: the server is another process.
    const created = ascend(['server', 'enroll-token', 'create', '--server', url, '--ca-file', caFile, '--token-file', tokenFile, '--uses', '3', '--expires', '1h', '--json']);
    expect(created.status, created.stderr).to.equal(0);
    const out = JSON.parse(created.stdout);
    expect(out.token).to.be.a('string').with.length.greaterThan(20);
    expect(out.uses).to.equal(3);

    const enrolled = await fetch(`${url}/api/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ enrollmentToken: out.token, computer: 'PC-CLI' }) });
    expect(enrolled.status).to.equal(201);

    const wrong = ascend(['server', 'enroll-token', 'create', '--server', url, '--ca-file', caFile, '--token-file', join(dir, 'missing'), '--json']);
    expect(wrong.status).to.equal(1);
    expect(JSON.parse(wrong.stdout).error.code).to.equal('ASC_FILE_NOT_FOUND');

    proc.kill('SIGTERM');
    expect(await exited).to.equal(0);
    expect(stdout).to.include('Stopped (SIGTERM)');
    // Nothing secret in the output or the log.
    expect(stdout + stderr).to.not.include(adminToken);
    expect(stdout + stderr).to.not.include(out.token);
  });

  it('refuses --insecure-http together with a certificate option, with a one-line error', () => {
    const r = ascend(['server', 'start', '--host', '0.0.0.0', '--port', '0', '--insecure-http', '--tls-name', 'collector.example', '--data', join(dir, 'data')]);
    expect(r.status).to.equal(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, r.stderr).to.have.length(1);
    expect(lines[0]).to.match(/^Error: --insecure-http serves plain HTTP: it goes with no --tls-cert/);
    expect(existsSync(join(dir, 'data'))).to.equal(false);
  });

  it('refuses directory sign-in over plain HTTP off loopback, even with --insecure-http, and a sign-in client sending a password that way', () => {
    const r = ascend(['server', 'start', '--host', '0.0.0.0', '--port', '0', '--insecure-http', '--ad-url', 'ldaps://dc1.corp.example', '--data', join(dir, 'data')]);
    expect(r.status).to.equal(1);
    expect(r.stderr.trimEnd().split('\n').filter((l) => !l.startsWith('Warning:'))).to.have.length(1);
    expect(r.stderr).to.match(/refusing Active Directory sign-in on 0\.0\.0\.0 without TLS/);
    expect(existsSync(join(dir, 'data'))).to.equal(false);
    const pw = join(dir, 'pw');
    spawnSync('sh', ['-c', `umask 077; printf 'secret' > '${pw}'`]);
    const c = ascend(['server', 'sign-in', '--server', 'http://collector.corp.example:8003', '--user', 'alice', '--password-file', pw, '--out', join(dir, 'session')]);
    expect(c.status).to.equal(2);
    expect(c.stderr).to.match(/refusing to send a domain password to http:\/\/collector\.corp\.example:8003 over plain HTTP/);
    expect(existsSync(join(dir, 'session'))).to.equal(false);
  });

  it('reports an unreachable server', () => {
    const tokenFile = join(dir, 'token');
    spawnSync('sh', ['-c', `printf 'abc' > '${tokenFile}'`]);
    const r = ascend(['server', 'enroll-token', 'create', '--server', 'https://127.0.0.1:1', '--token-file', tokenFile, '--json']);
    expect(r.status).to.equal(1);
    expect(JSON.parse(r.stdout).error.code).to.equal('ASC_COLLECTOR_UNREACHABLE');
  });
});
