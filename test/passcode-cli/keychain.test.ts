/**
 * The keychain path under a real Secret Service: each CLI run is spawned inside its own
 * `dbus-run-session` with gnome-keyring-daemon unlocked, its keyring files in a temporary
 * XDG_DATA_HOME, so the runs of one test share one keychain. Under CI=true a missing
 * dbus-run-session or gnome-keyring-daemon fails the suite.
 */
import { createPrivateKey, createPublicKey, createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ascend, ascendWithKeychain, cliEnv, expectOk, expectOneLineError, inKeychainSession, keychainEnv, requireBuiltCli, requireSecretService, snapshot, type Run } from './support.js';

describe('ascend keys in the OS keychain (a real Secret Service: gnome-keyring on D-Bus)', function () {
  this.timeout(180_000);
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  let kcEnv: NodeJS.ProcessEnv;
  const withKeychain = (...args: string[]): Run => ascendWithKeychain(args, kcEnv, tmp);
  const noKeychain = (...args: string[]): Run => ascend(args, env, tmp);
  const secretTool = (...args: string[]): Run => inKeychainSession('secret-tool', args, kcEnv, tmp);

  before(function () {
    requireSecretService(this);
    requireBuiltCli();
  });
  beforeEach(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'ascend-keychain-'));
    env = cliEnv(tmp);
    kcEnv = keychainEnv(tmp, env);
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('keys init stores the private key in the keychain (service ascend-tse-signing, account = key id), never in a file or on stdout', () => {
    const r = withKeychain('keys', 'init', '--name', 'desk', '--json');
    expect(r.status, r.stderr).to.equal(0);
    const key = r.json.key;
    expect(key).to.deep.include({ storage: 'keychain', label: 'desk' });
    expect(key).to.not.have.property('keyFile');
    expect(r.stdout).to.not.include('PRIVATE KEY');

    // What the keychain holds, read back with libsecret's own tool.
    const lookup = secretTool('lookup', 'service', 'ascend-tse-signing', 'username', key.kid);
    expect(lookup.status, lookup.stderr).to.equal(0);
    expect(lookup.stdout).to.match(/^-----BEGIN PRIVATE KEY-----\n/);
    const publicDer = createPublicKey(createPrivateKey(lookup.stdout)).export({ type: 'spki', format: 'der' });
    expect(publicDer.toString('base64')).to.equal(key.publicKey);
    expect(`asc-${createHash('sha256').update(publicDer.subarray(12)).digest('hex').slice(0, 16)}`).to.equal(key.kid);

    // Only the key index and the keyring's own files were written; no PEM anywhere else.
    const written = Object.keys(snapshot(tmp)).filter((f) => !f.startsWith('keyring-'));
    expect(written).to.deep.equal([path.join('ascend-home', 'signing-keys.json')]);
    const list = withKeychain('keys', 'list');
    expect(list.stdout).to.match(new RegExp(`${key.kid}\\s+\\S+\\s+keychain\\s+desk`));
  });

  it('signs passcodes with the keychain key; they check against its exported public key', () => {
    const first = withKeychain('keys', 'init', '--json').json.key;
    const second = withKeychain('keys', 'init', '--json').json.key;
    const byDefault = withKeychain('passcode', 'new', '--title', 'From the keychain', '--max-uses', '1', '--duration', '15m', '--out', 'a.ascpass', '--json');
    expect(byDefault.status, byDefault.stderr).to.equal(0);
    expect(byDefault.json.kid).to.equal(second.kid);
    const byKid = withKeychain('passcode', 'new', '--title', 'Older key', '--max-uses', '1', '--duration', '15m', '--kid', first.kid, '--out', 'b.ascpass', '--json');
    expect(byKid.json.kid).to.equal(first.kid);

    // Exporting public keys needs no keychain at all.
    const exported = noKeychain('keys', 'export-public', '--out', 'trusted.json');
    expect(exported.status, exported.stderr).to.equal(0);
    for (const f of ['a.ascpass', 'b.ascpass']) expectOk(noKeychain('passcode', 'check', f, '--computer', 'PC1', '--user', 'bob', '--trusted-keys', 'trusted.json', '--json'));
    const pub = noKeychain('keys', 'publish', '--policy', 'Registry.pol', '--kid', first.kid, '--kid', second.kid, '--json');
    expect(pub.json.trustedKeys).to.deep.equal([first.kid, second.kid]);
  });

  it('a keychain key cannot sign where the keychain is not running, or once it is gone from the keychain', () => {
    const key = withKeychain('keys', 'init', '--json').json.key;
    const before = snapshot(tmp);
    const r = noKeychain('passcode', 'new', '--title', 'x', '--max-uses', '1', '--duration', '15m', '--out', 'x.ascpass');
    expectOneLineError(r, /^Error: the OS keychain could not be read: .* \(.*--key-file FILE\)$/);
    expect(noKeychain('passcode', 'new', '--title', 'x', '--max-uses', '1', '--duration', '15m', '--out', 'x.ascpass', '--json').json.error.code).to.equal('ASC_KEYCHAIN_UNAVAILABLE');
    expect(snapshot(tmp)).to.deep.equal(before);

    expect(secretTool('clear', 'service', 'ascend-tse-signing', 'username', key.kid).status).to.equal(0);
    const gone = withKeychain('passcode', 'new', '--title', 'x', '--max-uses', '1', '--duration', '15m', '--out', 'x.ascpass');
    expectOneLineError(gone, new RegExp(`^Error: the keychain no longer holds signing key ${key.kid} \\(`));
    expect(existsSync(path.join(tmp, 'x.ascpass'))).to.equal(false);
  });

  it('with a keychain running, --key-file still keeps the key in a file', () => {
    const r = withKeychain('keys', 'init', '--key-file', 'file.pem', '--json');
    expect(r.status, r.stderr).to.equal(0);
    expect(r.json.key).to.deep.include({ storage: 'file', keyFile: path.join(tmp, 'file.pem') });
    const lookup = secretTool('lookup', 'service', 'ascend-tse-signing', 'username', r.json.key.kid);
    expect(lookup.stdout).to.equal('');
    expect(readdirSync(tmp)).to.include('file.pem');
  });
});
