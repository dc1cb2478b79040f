/**
 * keys publish / passcode revoke / passcode check with --gpo against the real Samba DC of
 * the test run (test/support/samba-dc.ts): the GPO is edited over LDAPS and SMB as
 * "ascend gpo set" does, and its Registry.pol is read back from the DC's own SYSVOL folder.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { requireTestDc, type TestDc } from '../support/samba-dc.js';
import { ascend, cliEnv, expectOk, expectOneLineError, expectRefusal, requireBuiltCli, type Run } from './support.js';

describe('ascend keys publish, passcode revoke and check against a GPO on a real DC', function () {
  this.timeout(180_000);
  const tag = randomBytes(3).toString('hex');
  const gpoName = `Ascend Passcodes ${tag}`;
  let dc: TestDc;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  let guid: string;
  const run = (...args: string[]): Run => ascend(args, env, tmp);
  /** The GPO's Machine\Registry.pol as the DC's SYSVOL folder holds it, folded by "pol effective". */
  const onDisk = (id: string): any => {
    const pol = path.join(dc.sysvolPath, dc.dnsDomain, 'Policies', guid, 'Machine', 'Registry.pol');
    return run('pol', 'effective', pol, '--json').json.policies.find((p: any) => p.id === id);
  };
  const check = (pass: string, ...extra: string[]): Run => run('passcode', 'check', pass, '--computer', 'PC-042', '--user', 'CORP\\bob', '--gpo', gpoName, ...extra, '--json');

  before(async function () {
    dc = await requireTestDc(this);
    requireBuiltCli();
    tmp = mkdtempSync(path.join(tmpdir(), 'ascend-passcode-gpo-'));
    const pw = path.join(tmp, 'password');
    writeFileSync(pw, dc.password);
    chmodSync(pw, 0o600);
    env = cliEnv(tmp);
    Object.assign(env, {
      ASCEND_LDAP_URL: dc.url,
      ASCEND_LDAP_USER: dc.bindDn,
      ASCEND_LDAP_PASSWORD_FILE: pw,
      ASCEND_LDAP_TLS_INSECURE: '1',
      ASCEND_SYSVOL: dc.smbUrl,
    });
    delete env.ASCEND_LDAP_PASSWORD;
    const created = run('gpo', 'create', gpoName, '--json');
    expect(created.status, created.stderr).to.equal(0);
    guid = created.json.gpo.guid;
  });

  after(() => {
    if (!dc || !tmp) return;
    run('gpo', 'delete', gpoName);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('publishes keys into the GPO keeping its TSE values, issues, checks, revokes and checks again', () => {
    const set = run('gpo', 'set', gpoName, 'TemporarySessionElevation', '--state', 'enabled', '--value', 'Groups=S-1-5-32-551', '--value', 'IntegrityLevel=Medium', '--value', 'MaxSessionMinutes=20');
    expect(set.status, set.stderr).to.equal(0);
    const a = run('keys', 'init', '--key-file', 'a.pem', '--json').json.key;
    const pub = run('keys', 'publish', '--gpo', gpoName, '--json');
    expect(pub.status, pub.stderr).to.equal(0);
    expect(pub.json).to.deep.include({ target: `GPO "${gpoName}"`, stateBefore: 'enabled', enabledPolicy: false, changed: true, trustedKeys: [a.kid] });
    expect(onDisk('TemporarySessionElevation').values).to.deep.equal({
      Groups: ['S-1-5-32-551'],
      Privileges: [],
      IntegrityLevel: 'Medium',
      TrustedKeys: [{ name: a.kid, value: a.publicKey }],
      MaxSessionMinutes: 20,
    });
    const shown = run('gpo', 'show', gpoName, '--json').json.settings.find((s: any) => s.id === 'TemporarySessionElevation');
    expect(shown.state).to.equal('enabled');

    const issued = run('passcode', 'new', '--title', 'GPO passcode', '--max-uses', '3', '--duration', '1h', '--computer', 'PC-*', '--out', 'p.ascpass', '--json').json;
    // The client deployment setting is not set yet.
    expectRefusal(check('p.ascpass'), 'offline-not-allowed');
    expect(run('gpo', 'set', gpoName, 'OfflinePasscodes', '--state', 'enabled').status).to.equal(0);
    const ok = check('p.ascpass');
    expectOk(ok);
    expect(ok.json.policySource).to.equal(`GPO "${gpoName}" ${guid}`);
    expect(ok.json.session).to.deep.include({ groups: ['S-1-5-32-551'], integrity: 'Medium', durationSeconds: 1200, usesLeft: 2 });

    // Revocation keeps what the GPO revokes already.
    expect(run('gpo', 'set', gpoName, 'RevokedPasscodes', '--state', 'enabled', '--value', 'Passcodes=earlier=from March').status).to.equal(0);
    const revoke = run('passcode', 'revoke', issued.id, '--gpo', gpoName, '--note', 'lost', '--json');
    expect(revoke.status, revoke.stderr).to.equal(0);
    expect(revoke.json).to.deep.include({ changed: true, revoked: ['earlier', issued.id] });
    expect(onDisk('RevokedPasscodes').values.Passcodes).to.deep.equal([{ name: 'earlier', value: 'from March' }, { name: issued.id, value: 'lost' }]);
    expectRefusal(check('p.ascpass'), 'revoked');
    const version = run('gpo', 'show', gpoName, '--json').json.gpo.machineVersion;
    expect(run('passcode', 'revoke', 'p.ascpass', '--gpo', gpoName).stdout).to.include('already; nothing written');
    expect(run('gpo', 'show', gpoName, '--json').json.gpo.machineVersion).to.equal(version);
  });

  it('rotates keys in the GPO: publish a second key, unpublish the first', () => {
    const first = run('keys', 'init', '--key-file', 'r1.pem', '--json').json.key;
    run('keys', 'publish', '--gpo', gpoName, '--kid', first.kid);
    run('gpo', 'set', gpoName, 'OfflinePasscodes', '--state', 'enabled');
    run('passcode', 'new', '--title', 'old', '--max-uses', '1', '--duration', '1h', '--kid', first.kid, '--out', 'old.ascpass');
    const second = run('keys', 'init', '--key-file', 'r2.pem', '--json').json.key;
    const pub = run('keys', 'publish', '--gpo', gpoName, '--kid', second.kid, '--json');
    expect(pub.json.trustedKeys).to.include.members([first.kid, second.kid]);
    run('passcode', 'new', '--title', 'new', '--max-uses', '1', '--duration', '1h', '--kid', second.kid, '--out', 'new.ascpass');
    expectOk(check('old.ascpass'));
    expectOk(check('new.ascpass'));
    const un = run('keys', 'unpublish', '--gpo', gpoName, '--kid', first.kid, '--json');
    expect(un.status, un.stderr).to.equal(0);
    expect(un.json.trustedKeys).to.not.include(first.kid);
    expectRefusal(check('old.ascpass'), 'unknown-key');
    expectOk(check('new.ascpass'));
  });

  it('a TSE policy Disabled in the GPO refuses with tse-disabled; --ldap-user binds where --user names the passcode user', () => {
    run('keys', 'init', '--key-file', 'd.pem');
    run('passcode', 'new', '--title', 'd', '--max-uses', '1', '--duration', '1h', '--out', 'd.ascpass');
    expect(run('gpo', 'set', gpoName, 'TemporarySessionElevation', '--state', 'disabled').status).to.equal(0);
    const noUserEnv = { ...env };
    delete noUserEnv.ASCEND_LDAP_USER;
    const r = ascend(['passcode', 'check', 'd.ascpass', '--computer', 'PC-1', '--user', 'CORP\\bob', '--gpo', gpoName, '--ldap-user', dc.bindDn, '--json'], noUserEnv, tmp);
    expectRefusal(r, 'tse-disabled');
    const pub = run('keys', 'publish', '--gpo', gpoName, '--json');
    expect(pub.json).to.deep.include({ stateBefore: 'disabled', enabledPolicy: true });
    expectOk(check('d.ascpass'));
  });

  it('a GPO that does not exist is a one-line error', () => {
    run('keys', 'init', '--key-file', 'n.pem');
    run('passcode', 'new', '--title', 'n', '--max-uses', '1', '--duration', '1h', '--out', 'n.ascpass');
    const missing = `No Such GPO ${tag}`;
    expectOneLineError(run('keys', 'publish', '--gpo', missing), new RegExp(`^Error: no GPO named "${missing}"`));
    expectOneLineError(run('passcode', 'revoke', 'n.ascpass', '--gpo', missing), new RegExp(`^Error: no GPO named "${missing}"`));
    expectOneLineError(run('passcode', 'check', 'n.ascpass', '--computer', 'a', '--user', 'b', '--gpo', missing), new RegExp(`^Error: no GPO named "${missing}"`));
  });
});
