/**
 * Running the built `ascend` CLI for the passcode suites: every run gets its own Ascend
 * home (ASCEND_HOME) and, unless it runs inside a keychain session, a session bus address
 * that leads nowhere, so a developer's own keychain is never touched.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { commandWorks, requireComponent } from '../support/components.js';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const bin = path.join(root, 'bin', 'run.js');

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  json: any;
}

export function requireBuiltCli(): void {
  if (!existsSync(path.join(root, 'dist', 'src', 'cli', 'commands', 'passcode'))) throw new Error('the CLI is not built: run "npm run build" (npm test does)');
}

/** The environment of a CLI run: its own Ascend home, no LDAP settings, no keychain. */
export function cliEnv(tmp: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    ASCEND_HOME: path.join(tmp, 'ascend-home'),
    DBUS_SESSION_BUS_ADDRESS: `unix:path=${path.join(tmp, 'no-session-bus')}`,
    ...extra,
  };
  for (const k of Object.keys(env)) if (k.startsWith('ASCEND_LDAP_') || k === 'ASCEND_SYSVOL') delete env[k];
  return { ...env, ...extra };
}

function parse(stdout: string): any {
  try {
    return JSON.parse(stdout);
  } catch {
    return undefined;
  }
}

/** Runs the built CLI as a user would. */
export function ascend(args: readonly string[], env: NodeJS.ProcessEnv, cwd?: string): Run {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: cwd ?? root, encoding: 'utf8', env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json: parse(r.stdout) };
}

/** A user error: non-zero, one line on stderr naming it, no stack trace. */
export function expectOneLineError(r: Run, pattern: RegExp): void {
  expect(r.status, r.stderr).to.not.equal(0);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).to.have.length(1);
  expect(lines[0]).to.match(pattern);
  expect(r.stderr).to.not.match(/\n\s+at /);
}

/** A refusal of `passcode check --json`: exit 1 and {"ok":false,"reason":...}. */
export function expectRefusal(r: Run, reason: string): void {
  expect(r.status, `${r.stdout}\n${r.stderr}`).to.equal(1);
  expect(r.json, r.stdout).to.include({ ok: false, reason });
  expect(r.json.message).to.be.a('string').and.not.include('\n');
}

export function expectOk(r: Run): void {
  expect(r.status, `${r.stdout}\n${r.stderr}`).to.equal(0);
  expect(r.json, r.stdout).to.include({ ok: true });
}

/** Every file under a folder with a hash of its content and its mode: to show that nothing changed. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = `${(st.mode & 0o777).toString(8)} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

export function mkdirs(...dirs: string[]): void {
  for (const d of dirs) mkdirSync(d, { recursive: true, mode: 0o700 });
}

// ---- a real Secret Service: dbus-run-session + gnome-keyring-daemon (Debian's dbus, gnome-keyring)

export function secretServiceAvailable(): boolean {
  return commandWorks('dbus-run-session', ['--version']) && commandWorks('gnome-keyring-daemon', ['--version']);
}

export function requireSecretService(ctx: Mocha.Context): void {
  requireComponent(ctx, secretServiceAvailable(), 'a Secret Service (dbus-run-session and gnome-keyring-daemon)', 'apt-get install dbus gnome-keyring libsecret-tools');
}

/**
 * The environment of a keychain session: its keyring files under DIR/keyring-data and its
 * sockets under DIR/keyring-run, so runs share one keychain (unlocked with a fixed
 * password each time) and nothing lands in the real home.
 */
export function keychainEnv(tmp: string, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const data = path.join(tmp, 'keyring-data');
  const run = path.join(tmp, 'keyring-run');
  mkdirs(data, run);
  const env: NodeJS.ProcessEnv = { ...base, XDG_DATA_HOME: data, XDG_RUNTIME_DIR: run, HOME: path.join(tmp, 'keyring-home') };
  delete env.DBUS_SESSION_BUS_ADDRESS;
  delete env.DISPLAY;
  mkdirs(env.HOME as string);
  return env;
}

const UNLOCK = 'printf %s "$ASCEND_TEST_KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 97; exec "$@"';

/** Runs a program inside a fresh D-Bus session with gnome-keyring unlocked. */
export function inKeychainSession(program: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd?: string): Run {
  const r = spawnSync('dbus-run-session', ['--', 'sh', '-c', UNLOCK, 'sh', program, ...args], {
    cwd: cwd ?? root,
    encoding: 'utf8',
    env: { ...env, ASCEND_TEST_KEYRING_PASSWORD: 'keyring-test-password' },
    timeout: 60_000,
  });
  if (r.status === 97) throw new Error(`gnome-keyring-daemon did not start: ${r.stderr}`);
  // dbus-daemon complains on stderr when it may not raise its fd limit (unprivileged containers); that is not the CLI's output.
  const stderr = r.stderr
    .split('\n')
    .filter((l) => !/^dbus-daemon\[\d+\]: .*fd limit/.test(l))
    .join('\n');
  return { status: r.status, stdout: r.stdout, stderr, json: parse(r.stdout) };
}

/** The CLI inside a keychain session. */
export function ascendWithKeychain(args: readonly string[], env: NodeJS.ProcessEnv, cwd?: string): Run {
  return inKeychainSession(process.execPath, [bin, ...args], env, cwd);
}
