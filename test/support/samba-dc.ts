/**
 * One real Samba AD domain controller for the whole mocha run (DESIGN section 10).
 *
 * getTestDc() provisions and starts it on first use (scripts/test-dc.sh in a fresh temp
 * folder); mochaGlobalTeardown (this file is in .mocharc.cjs's `require`) stops it and
 * removes the folder. ASCEND_TEST_DC_DIR=/path uses a DC already running from that folder
 * instead (password from ASCEND_TEST_DC_PASSWORD or DIR/admin-password); it is neither
 * started nor stopped. ASCEND_TEST_DC_KEEP=1 leaves the temp folder for a post-mortem.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireComponent } from './components.js';

export interface TestDc {
  /** ldaps://127.0.0.1 */
  url: string;
  /** Administrator@corp.example.test */
  bindDn: string;
  password: string;
  /** DC=corp,DC=example,DC=test */
  baseDn: string;
  /** CORP.EXAMPLE.TEST */
  realm: string;
  /** corp.example.test */
  dnsDomain: string;
  /** NetBIOS domain, CORP */
  netbiosDomain: string;
  /** The sysvol share's folder on the DC: DIR/state/sysvol */
  sysvolPath: string;
  /** The DC's self-signed CA: DIR/private/tls/ca.pem */
  caFile: string;
  /** smb://127.0.0.1/sysvol */
  smbUrl: string;
  /** The DC's folder */
  dir: string;
  /** DIR/private/sam.ldb, for samba-tool -H */
  samDb: string;
  /** DIR/etc/smb.conf */
  smbConf: string;
  /** True when this run started the DC (and will stop it). */
  ownedByThisRun: boolean;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = join(ROOT, 'scripts/test-dc.sh');
/** Provisioning (about 5 s) plus start (a few seconds); generous for slow CI machines. */
const START_TIMEOUT_MS = 180_000;
/** A DC whose run died without teardown ends itself after this long. */
const MAX_RUNTIME_S = 4 * 3600;

interface State {
  promise?: Promise<TestDc>;
  owned?: TestDc;
  exitHook?: boolean;
}

// On globalThis so that every import of this module (mocha's `require` and the suites') shares one DC.
const STATE_KEY = Symbol.for('ascend.test.samba-dc');
function state(): State {
  const g = globalThis as { [STATE_KEY]?: State };
  return (g[STATE_KEY] ??= {});
}

function factsFor(dir: string, password: string, owned: boolean): TestDc {
  return {
    url: 'ldaps://127.0.0.1',
    bindDn: 'Administrator@corp.example.test',
    password,
    baseDn: 'DC=corp,DC=example,DC=test',
    realm: 'CORP.EXAMPLE.TEST',
    dnsDomain: 'corp.example.test',
    netbiosDomain: 'CORP',
    sysvolPath: join(dir, 'state/sysvol'),
    caFile: join(dir, 'private/tls/ca.pem'),
    smbUrl: 'smb://127.0.0.1/sysvol',
    dir,
    samDb: join(dir, 'private/sam.ldb'),
    smbConf: join(dir, 'etc/smb.conf'),
    ownedByThisRun: owned,
  };
}

function readPassword(file: string): string {
  const pw = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  if (pw === '') throw new Error(`${file} is empty`);
  return pw;
}

/** samba-tool's own error line ("ERROR(...): ..."), else the last line it printed. */
function sambaToolError(r: SambaToolResult): string {
  const lines = `${r.stderr}\n${r.stdout}`.split('\n').map((l) => l.trim());
  return lines.find((l) => l.startsWith('ERROR')) ?? (lastLine(r.stderr) || lastLine(r.stdout));
}

/** The last non-empty line of a script's stderr: test-dc.sh puts its one-line error there. */
function lastLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '').pop() ?? '';
}

function runScript(args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    execFile('bash', [SCRIPT, ...args], { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const why = lastLine(stderr) || err.message;
        reject(new Error(`scripts/test-dc.sh ${args[0] ?? ''} failed: ${why}`));
      } else {
        resolvePromise({ stdout, stderr });
      }
    });
  });
}

async function useExisting(dir: string): Promise<TestDc> {
  const abs = resolve(dir);
  if (!existsSync(join(abs, 'etc/smb.conf'))) throw new Error(`ASCEND_TEST_DC_DIR=${abs} holds no provisioned DC (no etc/smb.conf)`);
  const fromEnv = process.env.ASCEND_TEST_DC_PASSWORD;
  let password: string;
  if (fromEnv !== undefined && fromEnv !== '') password = fromEnv;
  else if (existsSync(join(abs, 'admin-password'))) password = readPassword(join(abs, 'admin-password'));
  else throw new Error(`ASCEND_TEST_DC_DIR=${abs}: set ASCEND_TEST_DC_PASSWORD (there is no admin-password file)`);
  const dc = factsFor(abs, password, false);
  const r = sambaTool(dc, ['domain', 'level', 'show'], { timeoutMs: 30_000 });
  if (r.status !== 0) {
    throw new Error(`the DC in ${abs} does not answer (is its samba running? is the password right?): ${sambaToolError(r)}`);
  }
  return dc;
}

async function startOwn(): Promise<TestDc> {
  const dir = mkdtempSync(join(tmpdir(), 'ascend-test-dc-'));
  const s = state();
  if (!s.exitHook) {
    // A run that ends without mocha's teardown (an uncaught error, process.exit) still stops the DC.
    process.once('exit', () => stopOwnSync());
    s.exitHook = true;
  }
  let stdout: string;
  try {
    ({ stdout } = await runScript(['start', dir, '--max-runtime', String(MAX_RUNTIME_S)], START_TIMEOUT_MS));
  } catch (e) {
    // The script stops what it started when it fails; keep the folder only when asked.
    if (process.env.ASCEND_TEST_DC_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const json = lastLine(stdout);
  let facts: { passwordFile?: unknown };
  try {
    facts = JSON.parse(json) as { passwordFile?: unknown };
  } catch {
    throw new Error(`scripts/test-dc.sh start printed no JSON facts (last line: ${json.slice(0, 200)})`);
  }
  const pwFile = typeof facts.passwordFile === 'string' ? facts.passwordFile : join(dir, 'admin-password');
  const dc = factsFor(dir, readPassword(pwFile), true);
  s.owned = dc;
  return dc;
}

/** The run's domain controller, started on first call. Rejects with the reason when none can be had. */
export function getTestDc(): Promise<TestDc> {
  const s = state();
  if (s.promise === undefined) {
    const dir = process.env.ASCEND_TEST_DC_DIR;
    s.promise = dir !== undefined && dir !== '' ? useExisting(dir) : startOwn();
    // Keep a failure from being reported as an unhandled rejection before a suite asks.
    s.promise.catch(() => undefined);
  }
  return s.promise;
}

/**
 * For a suite's before(): the DC, or (when none can be had) a failure under CI=true and a
 * skip with the reason elsewhere.
 */
export async function requireTestDc(ctx: Mocha.Context): Promise<TestDc> {
  try {
    return await getTestDc();
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    requireComponent(
      ctx,
      false,
      `a Samba AD domain controller (${reason})`,
      'apt-get install samba-ad-dc samba-ad-provision smbclient ldap-utils krb5-user; run as root; or set ASCEND_TEST_DC_DIR and ASCEND_TEST_DC_PASSWORD for a running DC',
    );
    throw e; // not reached: requireComponent throws or skips
  }
}

function stopOwnSync(): void {
  const s = state();
  const dc = s.owned;
  if (dc === undefined) return;
  s.owned = undefined;
  spawnSync('bash', [SCRIPT, 'stop', dc.dir], { stdio: 'ignore', timeout: 60_000 });
  if (process.env.ASCEND_TEST_DC_KEEP !== '1') rmSync(dc.dir, { recursive: true, force: true });
}

/** Stops the DC this run started (none when ASCEND_TEST_DC_DIR named one). */
export async function stopTestDc(): Promise<void> {
  const s = state();
  const dc = s.owned;
  if (dc === undefined) return;
  s.owned = undefined;
  s.promise = undefined;
  try {
    await runScript(['stop', dc.dir], 60_000);
  } finally {
    if (process.env.ASCEND_TEST_DC_KEEP !== '1') rmSync(dc.dir, { recursive: true, force: true });
  }
}

/** mocha's global teardown (this file is loaded through .mocharc.cjs `require`). */
export async function mochaGlobalTeardown(): Promise<void> {
  await stopTestDc();
}

export interface SambaToolResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs samba-tool against the DC. By default over ldap://127.0.0.1 (SASL with signing, as
 * Administrator): that works for every subcommand, `gpo create` included, which needs
 * the network. `{ local: true }` opens DIR/private/sam.ldb directly instead (fine for gpo
 * list/show, ou/user/computer create, group addmembers; not for gpo create).
 * The password goes through the PASSWD environment variable, never the command line, and
 * is masked in the returned output.
 */
export function sambaTool(dc: TestDc, args: readonly string[], opts: { local?: boolean; timeoutMs?: number } = {}): SambaToolResult {
  const conn = opts.local
    ? ['-H', dc.samDb, '-s', dc.smbConf]
    : ['-H', 'ldap://127.0.0.1', `--user=${dc.netbiosDomain}/Administrator`];
  const env: NodeJS.ProcessEnv = { ...process.env, PASSWD: dc.password };
  delete env.PASSWD_FD;
  delete env.PASSWD_FILE;
  const r = spawnSync('samba-tool', [...args, ...conn], {
    env,
    input: '',
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const mask = (t: string | null | undefined): string => (t ?? '').split(dc.password).join('***');
  const stderr = r.error ? `${mask(r.stderr)}${r.error.message}` : mask(r.stderr);
  return { status: r.status, stdout: mask(r.stdout), stderr };
}

/** sambaTool that throws (with the command and samba-tool's error, never the password) unless it exits 0. */
export function sambaToolOk(dc: TestDc, args: readonly string[], opts: { local?: boolean; timeoutMs?: number } = {}): string {
  const r = sambaTool(dc, args, opts);
  if (r.status !== 0) {
    throw new Error(`samba-tool ${args.join(' ')} exited ${String(r.status)}: ${sambaToolError(r)}`);
  }
  return r.stdout;
}
