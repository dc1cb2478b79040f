/**
 * The PowerShell module's Pester suites (ps-module/tests), run by real PowerShell 7.6.10 and
 * Pester 5.7.1 (scripts/install-pwsh.sh puts both into .tools/), against the run's real Samba
 * DC (test/support/samba-dc.ts) and a real collector started here (`ascend server start`,
 * with Active Directory sign-in against that DC), over TLS with the collector's generated CA:
 * the CLI the module runs trusts it through ASCEND_CA_FILE, PowerShell's own web cmdlets
 * through SSL_CERT_FILE (.NET on Linux reads its trusted roots from there).
 *
 * Every Pester test becomes one mocha test with Pester's result, so mocha's passing and failing
 * counts (and .ci/run's closing line) include Pester's real counts. Under CI=true a missing
 * pwsh or Pester fails the suite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import Mocha from 'mocha';
import { commandWorks, requireComponent } from '../support/components.js';
import { requireTestDc, type TestDc } from '../support/samba-dc.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RUN = path.join(ROOT, 'bin', 'run.js');
const PWSH = process.env.ASCEND_PWSH ?? path.join(ROOT, '.tools', 'pwsh', process.platform === 'win32' ? 'pwsh.exe' : 'pwsh');
const PESTER = process.env.ASCEND_PESTER_MODULE ?? path.join(ROOT, '.tools', 'nuget', 'pester', '5.7.1', 'tools', 'Pester.psd1');
const RUNNER = path.join(ROOT, 'ps-module', 'tests', 'run-pester.ps1');

interface PesterTest {
  path: string;
  result: 'Passed' | 'Failed' | 'Skipped' | 'NotRun' | 'Inconclusive';
  error: string | null;
}

interface PesterRun {
  result: string;
  passed: number;
  failed: number;
  skipped: number;
  notRun: number;
  tests: PesterTest[];
  containerErrors: string[];
}

/** Starts `ascend server start` on a free port; resolves with its URL once it listens. */
function startCollector(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [RUN, 'server', 'start', '--port', '0', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`the collector printed no URL in 60 s: ${stdout} ${stderr}`)), 60_000);
    child.stdout?.on('data', (b: Buffer) => {
      stdout += b.toString();
      const m = /listening on (https:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (m?.[1]) {
        clearTimeout(timer);
        done({ child, url: m[1] });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`the collector exited ${String(code)}: ${stderr}`));
    });
  });
}

/** Runs pwsh without blocking this process; resolves with its exit status and output. */
function runPwsh(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(PWSH, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', fail);
    child.on('close', (status) => {
      clearTimeout(timer);
      done({ status, stdout, stderr });
    });
  });
}

describe('PowerShell module Ascend (Pester on pwsh 7.6.10)', function () {
  this.timeout(900_000);
  const tag = randomBytes(3).toString('hex');
  let dc: TestDc;
  let tmp: string;
  let collector: ChildProcess | undefined;
  let run: PesterRun | undefined;
  let pwshOutput = '';
  const suite = this;

  before(async function () {
    requireComponent(this, existsSync(PWSH) && commandWorks(PWSH, ['-NoProfile', '-NonInteractive', '-Command', 'exit 0']), `PowerShell 7.6.10 at ${PWSH}`, 'bash scripts/install-pwsh.sh (dotnet SDK needed)');
    requireComponent(this, existsSync(PESTER), `Pester 5.7.1 at ${PESTER}`, 'bash scripts/install-pwsh.sh');
    if (!existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'commands', 'gpo'))) throw new Error('the CLI is not built: run "npm run build" (npm test does)');
    dc = await requireTestDc(this);

    tmp = mkdtempSync(path.join(tmpdir(), 'ascend-ps-'));
    const secrets = path.join(tmp, 'secrets');
    mkdirSync(secrets, { mode: 0o700 });
    const ldapPassword = path.join(secrets, 'ldap-password');
    writeFileSync(ldapPassword, dc.password, { mode: 0o600 });

    // Connect-AscendServer -Credential signs in as the domain's Administrator (Domain Admins: the
    // collector's default admin group). No account is created for it: adding a user, a group and a
    // membership to the running DC leaves its smbd failing NTLM session setups
    // (NT_STATUS_INTERNAL_ERROR) for a while, which breaks SYSVOL for the suites that follow.
    const adPasswordFile = ldapPassword;

    const data = path.join(tmp, 'collector');
    const started = await startCollector([
      '--data', data,
      '--ad-url', dc.url, '--ad-ca-file', dc.caFile, '--ad-tls-server-name', `DC1.${dc.dnsDomain}`,
      '--ad-domain', dc.dnsDomain,
    ]);
    collector = started.child;

    const resultFile = path.join(tmp, 'pester-result.json');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NO_COLOR: '1',
      ASCEND_CLI: RUN,
      ASCEND_HOME: path.join(tmp, 'ascend-home'),
      DBUS_SESSION_BUS_ADDRESS: `unix:path=${path.join(tmp, 'no-session-bus')}`,
      ASCEND_LDAP_URL: dc.url,
      ASCEND_LDAP_USER: dc.bindDn,
      ASCEND_LDAP_PASSWORD_FILE: ldapPassword,
      ASCEND_LDAP_TLS_INSECURE: '1',
      ASCEND_SYSVOL: dc.smbUrl,
      ASCEND_TEST_TAG: tag,
      ASCEND_TEST_TMP: tmp,
      ASCEND_TEST_DC_BASE_DN: dc.baseDn,
      ASCEND_TEST_DC_SYSVOL_PATH: dc.sysvolPath,
      ASCEND_TEST_DC_DNS_DOMAIN: dc.dnsDomain,
      ASCEND_TEST_COLLECTOR_URL: started.url,
      ASCEND_TEST_COLLECTOR_TOKEN_FILE: path.join(data, 'bootstrap-admin-token'),
      ASCEND_CA_FILE: path.join(data, 'tls', 'ca.pem'),
      SSL_CERT_FILE: path.join(data, 'tls', 'ca.pem'),
      ASCEND_TEST_AD_USER: `${dc.netbiosDomain}\\Administrator`,
      ASCEND_TEST_AD_PASSWORD_FILE: adPasswordFile,
      ASCEND_PESTER_MODULE: PESTER,
      ASCEND_PESTER_RESULT: resultFile,
    };
    delete env.ASCEND_LDAP_PASSWORD;
    delete env.ASCEND_TOKEN_FILE;
    delete env.ASCEND_AGENT_SOCKET;
    delete env.ASCEND_INSECURE_HTTP;
    const r = await runPwsh(['-NoProfile', '-NonInteractive', '-File', RUNNER], env, 840_000);
    pwshOutput = `${r.stdout}\n${r.stderr}`;
    if (!existsSync(resultFile)) throw new Error(`Pester wrote no result (pwsh exited ${String(r.status)}):\n${pwshOutput.slice(-4000)}`);
    run = JSON.parse(readFileSync(resultFile, 'utf8')) as PesterRun;

    // One mocha test per Pester test, with Pester's verdict.
    for (const t of run.tests) {
      const test = new Mocha.Test(`Pester: ${t.path}`, function (this: Mocha.Context) {
        if (t.result === 'Skipped' || t.result === 'NotRun' || t.result === 'Inconclusive') {
          // The suites skip themselves when the DC or collector variables are missing: under CI that is a failure, never a quiet skip.
          if (process.env.CI === 'true') throw new Error(`Pester says ${t.result} under CI=true: a real component it needs is missing`);
          this.skip();
        }
        if (t.result !== 'Passed') throw new Error(t.error ?? `Pester says ${t.result}`);
      });
      suite.addTest(test);
    }
  });

  after(() => {
    if (collector && collector.exitCode === null) collector.kill('SIGTERM');
    if (tmp && process.env.ASCEND_TEST_KEEP !== '1') rmSync(tmp, { recursive: true, force: true });
  });

  it('runs every Pester suite of ps-module/tests to the end, with no container failing to load', () => {
    expect(run, pwshOutput.slice(-4000)).to.not.equal(undefined);
    expect(run!.containerErrors, run!.containerErrors.join('\n')).to.deep.equal([]);
    expect(run!.tests.length).to.be.greaterThan(0);
    expect(run!.passed + run!.failed + run!.skipped + run!.notRun).to.equal(run!.tests.length);
  });
});
