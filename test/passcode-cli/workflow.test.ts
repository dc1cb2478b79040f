import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { REFUSAL_REASONS } from '../../src/passcode/index.js';
import { ascend, cliEnv, expectOk, expectOneLineError, expectRefusal, requireBuiltCli, snapshot, type Run } from './support.js';

describe('ascend passcode: the Passcode Manager workflow on local Registry.pol files', function () {
  this.timeout(120_000);
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  const run = (...args: string[]): Run => ascend(args, env, tmp);
  const file = (name: string): string => path.join(tmp, name);
  const effective = (...pols: string[]): any[] => run('pol', 'effective', ...pols, '--json').json.policies;
  const tse = (...pols: string[]): any => effective(...pols).find((p) => p.id === 'TemporarySessionElevation');
  const newKey = (name: string): { kid: string; publicKey: string } => {
    const r = run('keys', 'init', '--key-file', name, '--json');
    expect(r.status, r.stderr).to.equal(0);
    return r.json.key;
  };
  const issue = (out: string, ...extra: string[]): any => {
    const r = run('passcode', 'new', '--title', `Passcode ${out}`, '--max-uses', '2', '--duration', '30m', '--out', out, ...extra, '--json');
    expect(r.status, r.stderr).to.equal(0);
    return r.json;
  };
  const check = (pass: string, ...extra: string[]): Run => run('passcode', 'check', pass, '--computer', 'PC-042', '--user', 'CORP\\bob', ...extra, '--json');

  before(requireBuiltCli);
  beforeEach(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'ascend-passcode-'));
    env = cliEnv(tmp);
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('end to end: key, publish, offline passcodes, new, check ok, revoke, check revoked', () => {
    const key = newKey('signing.pem');
    const pub = run('keys', 'publish', '--policy', 'domain.pol', '--json');
    expect(pub.status, pub.stderr).to.equal(0);
    expect(pub.json).to.deep.include({ stateBefore: 'not-configured', enabledPolicy: true, changed: true, trustedKeys: [key.kid] });
    expect(run('pol', 'set', 'domain.pol', 'OfflinePasscodes', '--state', 'enabled').status).to.equal(0);
    const t = tse('domain.pol');
    expect(t).to.deep.include({ state: 'enabled', source: 'domain.pol' });
    expect(t.values).to.deep.equal({ Groups: [], Privileges: [], IntegrityLevel: 'High', TrustedKeys: [{ name: key.kid, value: key.publicKey }], MaxSessionMinutes: 0 });

    const issued = issue('bob.ascpass', '--computer', 'PC-0*', '--user', 'CORP\\bob', '--end-processes', '--privilege', 'sebackupprivilege');
    expect(issued.kid).to.equal(key.kid);
    expect(statSync(file('bob.ascpass')).mode & 0o777).to.equal(0o600);

    const ok = check('bob.ascpass', '--policy', 'domain.pol');
    expectOk(ok);
    expect(ok.json.kid).to.equal(key.kid);
    expect(ok.json.terms.id).to.equal(issued.id);
    expect(ok.json.session).to.deep.equal({ groups: ['S-1-5-32-544'], privileges: ['SeBackupPrivilege'], integrity: 'High', durationSeconds: 1800, endProcesses: true, usesLeft: 1 });
    const human = run('passcode', 'check', 'bob.ascpass', '--computer', 'pc-042', '--user', 'corp\\BOB', '--policy', 'domain.pol');
    expect(human.status).to.equal(0);
    expect(human.stdout).to.match(/^OK: passcode "Passcode bob\.ascpass"/);

    const revoke = run('passcode', 'revoke', issued.id, '--policy', 'domain.pol', '--note', 'laptop stolen', '--json');
    expect(revoke.status, revoke.stderr).to.equal(0);
    expect(revoke.json).to.deep.include({ id: issued.id, note: 'laptop stolen', changed: true, revoked: [issued.id], title: 'Passcode bob.ascpass' });
    const revoked = check('bob.ascpass', '--policy', 'domain.pol');
    expectRefusal(revoked, 'revoked');
    const refusedHuman = run('passcode', 'check', 'bob.ascpass', '--computer', 'PC-042', '--user', 'CORP\\bob', '--policy', 'domain.pol');
    expect(refusedHuman.status).to.equal(1);
    expect(refusedHuman.stdout).to.match(/^REFUSED \(revoked\): passcode "Passcode bob\.ascpass" \(.*\): it has been revoked\n$/);
    // The other policies of the file are untouched.
    expect(tse('domain.pol').values.TrustedKeys).to.deep.equal([{ name: key.kid, value: key.publicKey }]);
    expect(effective('domain.pol').find((p) => p.id === 'OfflinePasscodes').state).to.equal('enabled');
  });

  it('publish keeps the values and keys an Enabled TSE policy has, and changes nothing when the key is trusted already', () => {
    const a = newKey('a.pem');
    const b = newKey('b.pem');
    const set = run('pol', 'set', 'ou.pol', 'TemporarySessionElevation', '--state', 'enabled', '--value', 'Groups=S-1-5-32-551,S-1-5-21-1-2-3-1001', '--value', 'Privileges=SeDebugPrivilege',
      '--value', 'IntegrityLevel=Medium', '--value', 'MaxSessionMinutes=45', '--value', `TrustedKeys=${a.kid}=${a.publicKey}`);
    expect(set.status, set.stderr).to.equal(0);
    const other = run('pol', 'set', 'ou.pol', 'ClientDataCollection', '--state', 'enabled', '--value', 'CollectorHost=c.example');
    expect(other.status).to.equal(0);
    const before = effective('ou.pol');

    const pub = run('keys', 'publish', '--policy', 'ou.pol', '--kid', b.kid, '--json');
    expect(pub.json).to.deep.include({ stateBefore: 'enabled', enabledPolicy: false, changed: true, trustedKeys: [a.kid, b.kid] });
    const after = effective('ou.pol');
    const t = after.find((p) => p.id === 'TemporarySessionElevation');
    expect(t.values).to.deep.equal({
      Groups: ['S-1-5-32-551', 'S-1-5-21-1-2-3-1001'],
      Privileges: ['SeDebugPrivilege'],
      IntegrityLevel: 'Medium',
      TrustedKeys: [{ name: a.kid, value: a.publicKey }, { name: b.kid, value: b.publicKey }],
      MaxSessionMinutes: 45,
    });
    expect(after.filter((p) => p.id !== 'TemporarySessionElevation')).to.deep.equal(before.filter((p) => p.id !== 'TemporarySessionElevation'));

    const bytes = readFileSync(file('ou.pol'));
    const again = run('keys', 'publish', '--policy', 'ou.pol', '--kid', b.kid);
    expect(again.stdout).to.include(`trusts ${b.kid} already; nothing written`);
    expect(readFileSync(file('ou.pol')).equals(bytes)).to.equal(true);
  });

  it('publish enables a Disabled TSE policy with the defaults and the key', () => {
    const key = newKey('k.pem');
    expect(run('pol', 'set', 'p.pol', 'TemporarySessionElevation', '--state', 'disabled').status).to.equal(0);
    const pub = run('keys', 'publish', '--policy', 'p.pol', '--json');
    expect(pub.json).to.deep.include({ stateBefore: 'disabled', enabledPolicy: true });
    expect(tse('p.pol')).to.deep.include({ state: 'enabled' });
    expect(tse('p.pol').values).to.deep.equal({ Groups: [], Privileges: [], IntegrityLevel: 'High', TrustedKeys: [{ name: key.kid, value: key.publicKey }], MaxSessionMinutes: 0 });
  });

  it('the effective policy of several files decides: Disabled in a child beats an Enabled parent, Not Configured inherits', () => {
    newKey('k.pem');
    run('keys', 'publish', '--policy', 'domain.pol');
    run('pol', 'set', 'domain.pol', 'OfflinePasscodes', '--state', 'enabled');
    issue('p.ascpass');
    // A child that configures something else leaves TSE Not Configured: the parent's Enabled applies.
    run('pol', 'set', 'notconf.pol', 'ClientDataCollection', '--state', 'enabled', '--value', 'CollectorHost=c.example');
    expect(tse('domain.pol', 'notconf.pol').state).to.equal('enabled');
    expectOk(check('p.ascpass', '--policy', 'domain.pol', '--policy', 'notconf.pol'));
    // A child with TSE Disabled wins over the parent.
    run('pol', 'set', 'disabled.pol', 'TemporarySessionElevation', '--state', 'disabled');
    expectRefusal(check('p.ascpass', '--policy', 'domain.pol', '--policy', 'disabled.pol'), 'tse-disabled');
    // ... unless the Enabled file has the higher precedence (comes last).
    expectOk(check('p.ascpass', '--policy', 'disabled.pol', '--policy', 'domain.pol'));
    // Offline passcodes Disabled in a child, or configured nowhere.
    run('pol', 'set', 'nooffline.pol', 'OfflinePasscodes', '--state', 'disabled');
    expectRefusal(check('p.ascpass', '--policy', 'domain.pol', '--policy', 'nooffline.pol'), 'offline-not-allowed');
    run('pol', 'set', 'domain.pol', 'OfflinePasscodes', '--state', 'not-configured');
    expectRefusal(check('p.ascpass', '--policy', 'domain.pol'), 'offline-not-allowed');
  });

  it('rotates keys: two trusted keys both verify; unpublishing one refuses its passcodes with unknown-key', () => {
    const oldKey = newKey('old.pem');
    run('keys', 'publish', '--policy', 'domain.pol', '--kid', oldKey.kid);
    run('pol', 'set', 'domain.pol', 'OfflinePasscodes', '--state', 'enabled');
    issue('old.ascpass', '--kid', oldKey.kid);
    const newer = newKey('new.pem');
    const pub = run('keys', 'publish', '--policy', 'domain.pol', '--json');
    expect(pub.json.trustedKeys).to.deep.equal([oldKey.kid, newer.kid]);
    expect(issue('new.ascpass').kid).to.equal(newer.kid);
    expectOk(check('old.ascpass', '--policy', 'domain.pol'));
    expectOk(check('new.ascpass', '--policy', 'domain.pol'));
    // The same through a trusted-keys file of both keys.
    run('keys', 'export-public', '--out', 'both.json');
    expectOk(check('old.ascpass', '--trusted-keys', 'both.json'));
    expectOk(check('new.ascpass', '--trusted-keys', 'both.json'));
    // A child GPO that trusts only the new key replaces the list (non-additive).
    run('keys', 'publish', '--policy', 'child.pol', '--kid', newer.kid);
    expectRefusal(check('old.ascpass', '--policy', 'domain.pol', '--policy', 'child.pol'), 'unknown-key');
    expectOk(check('new.ascpass', '--policy', 'domain.pol', '--policy', 'child.pol'));

    const un = run('keys', 'unpublish', '--policy', 'domain.pol', '--kid', oldKey.kid, '--json');
    expect(un.status, un.stderr).to.equal(0);
    expect(un.json.trustedKeys).to.deep.equal([newer.kid]);
    const refused = check('old.ascpass', '--policy', 'domain.pol');
    expectRefusal(refused, 'unknown-key');
    expect(refused.json.message).to.include(oldKey.kid);
    expectOk(check('new.ascpass', '--policy', 'domain.pol'));
    expectOneLineError(run('keys', 'unpublish', '--policy', 'domain.pol', '--kid', oldKey.kid), new RegExp(`^Error: file domain\\.pol does not trust ${oldKey.kid} \\(it trusts: ${newer.kid}\\)$`));
  });

  it('gives every reason code of REFUSAL_REASONS through the CLI', () => {
    const key = newKey('k.pem');
    const stranger = newKey('stranger.pem');
    run('keys', 'publish', '--policy', 'domain.pol', '--kid', key.kid);
    run('pol', 'set', 'domain.pol', 'OfflinePasscodes', '--state', 'enabled');
    run('keys', 'export-public', '--kid', key.kid, '--out', 'trusted.json');
    const seen = new Set<string>();
    const refuse = (r: Run, reason: string): void => {
      expectRefusal(r, reason);
      seen.add(reason);
    };
    const tk = ['--trusted-keys', 'trusted.json'];

    issue('plain.ascpass', '--kid', key.kid);
    const text = readFileSync(file('plain.ascpass'), 'utf8');
    const token = /-----BEGIN ASCEND PASSCODE-----\n(.*)\n/.exec(text)?.[1] as string;
    // malformed: a damaged token, or no token at all
    writeFileSync(file('dot.ascpass'), text.replace(token, token.replace('.', '!')));
    refuse(check('dot.ascpass', ...tk), 'malformed');
    writeFileSync(file('empty.ascpass'), 'nothing here\n');
    const empty = check('empty.ascpass', ...tk);
    refuse(empty, 'malformed');
    expect(empty.json.message).to.equal('empty.ascpass: no passcode in the file (no "-----BEGIN ASCEND PASSCODE-----" line)');
    // bad-signature: one character of the signature changed
    const sigAt = token.lastIndexOf('.') + 10;
    const flipped = token.slice(0, sigAt) + (token[sigAt] === 'A' ? 'B' : 'A') + token.slice(sigAt + 1);
    writeFileSync(file('sig.ascpass'), text.replace(token, flipped));
    refuse(check('sig.ascpass', ...tk), 'bad-signature');
    // unknown-key
    issue('stranger.ascpass', '--kid', stranger.kid);
    refuse(check('stranger.ascpass', ...tk), 'unknown-key');
    // revoked, tse-disabled, offline-not-allowed: from policy files
    const r = issue('revoked.ascpass', '--kid', key.kid);
    run('pol', 'set', 'revoked.pol', 'RevokedPasscodes', '--state', 'enabled', '--value', `Passcodes=${r.id}=gone`);
    refuse(check('revoked.ascpass', '--policy', 'domain.pol', '--policy', 'revoked.pol'), 'revoked');
    run('pol', 'set', 'tseoff.pol', 'TemporarySessionElevation', '--state', 'disabled');
    refuse(check('plain.ascpass', '--policy', 'domain.pol', '--policy', 'tseoff.pol'), 'tse-disabled');
    run('pol', 'set', 'offline-off.pol', 'OfflinePasscodes', '--state', 'disabled');
    refuse(check('plain.ascpass', '--policy', 'domain.pol', '--policy', 'offline-off.pol'), 'offline-not-allowed');
    // the activation window, to the second
    issue('window.ascpass', '--kid', key.kid, '--not-before', '2098-01-01T00:00:00Z', '--not-after', '2098-01-31T12:00:00Z');
    refuse(check('window.ascpass', ...tk, '--at', '2097-12-31T23:59:59Z'), 'not-yet-valid');
    expectOk(check('window.ascpass', ...tk, '--at', '2098-01-01T00:00:00Z'));
    expectOk(check('window.ascpass', ...tk, '--at', '2098-01-31T12:00:00Z'));
    refuse(check('window.ascpass', ...tk, '--at', '2098-01-31T12:00:01Z'), 'expired');
    expectOk(check('window.ascpass', ...tk, '--at', '2098-01-31T14:00:00+02:00'));
    // names: wildcards, case-insensitive, literal otherwise
    issue('names.ascpass', '--kid', key.kid, '--computer', 'PC-0*', '--computer', 'LAB?', '--user', 'CORP\\bob');
    expectOk(run('passcode', 'check', 'names.ascpass', '--computer', 'lab7', '--user', 'corp\\BOB', ...tk, '--json'));
    refuse(run('passcode', 'check', 'names.ascpass', '--computer', 'LAB77', '--user', 'CORP\\bob', ...tk, '--json'), 'wrong-computer');
    refuse(run('passcode', 'check', 'names.ascpass', '--computer', 'PC-042', '--user', 'CORP\\alice', ...tk, '--json'), 'wrong-user');
    // weekdays and hours, in the passcode's zone
    issue('hours.ascpass', '--kid', key.kid, '--weekdays', 'mon-fri', '--hours', '08:00-18:00', '--utc-offset', '+02:00');
    expectOk(check('hours.ascpass', ...tk, '--at', '2098-01-06T06:00:00Z')); // Monday 08:00 at +02:00
    refuse(check('hours.ascpass', ...tk, '--at', '2098-01-06T05:59:59Z'), 'outside-hours');
    refuse(check('hours.ascpass', ...tk, '--at', '2098-01-04T10:00:00Z'), 'outside-hours'); // Saturday
    // uses
    expectOk(check('plain.ascpass', ...tk, '--uses', '1'));
    refuse(check('plain.ascpass', ...tk, '--uses', '2'), 'uses-exhausted');

    expect([...seen].sort()).to.deep.equal([...REFUSAL_REASONS].sort());
  });

  it('.ascpass: a readable summary, then the token; readers trust only the token', () => {
    const key = newKey('k.pem');
    const issued = issue('p.ascpass', '--kid', key.kid, '--computer', 'PC-0*', '--hours', '08:00-18:00', '--group', 'S-1-5-32-551', '--integrity', 'system');
    const text = readFileSync(file('p.ascpass'), 'utf8');
    const lines = text.split('\n');
    expect(lines[0]).to.equal('Ascend TSE passcode. The summary is for people; only the signed token below counts.');
    expect(lines).to.include(`Id: ${issued.id}`);
    expect(lines).to.include('Title: Passcode p.ascpass');
    expect(lines).to.include(`Key-Id: ${key.kid}`);
    expect(lines).to.include('Max-Uses: 2');
    expect(lines).to.include('Duration: 30m from activation');
    expect(lines).to.include('Computers: PC-0*');
    expect(lines).to.include("Hours: 08:00-18:00 (the machine's time zone)");
    expect(lines).to.include('Integrity: System');
    const begin = lines.indexOf('-----BEGIN ASCEND PASSCODE-----');
    expect(lines[begin - 1]).to.equal('');
    expect(lines[begin + 1]).to.match(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(lines.slice(begin + 2)).to.deep.equal(['-----END ASCEND PASSCODE-----', '']);

    // A forged summary changes nothing: inspect and check read the token.
    writeFileSync(file('forged.ascpass'), text.replace('Title: Passcode p.ascpass', 'Title: Anything you like').replace('Max-Uses: 2', 'Max-Uses: 1000'));
    const inspect = run('passcode', 'inspect', 'forged.ascpass', '--json');
    expect(inspect.status, inspect.stderr).to.equal(0);
    expect(inspect.json).to.deep.include({ verified: false });
    expect(inspect.json.terms).to.deep.include({ title: 'Passcode p.ascpass', maxUses: 2, id: issued.id, integrity: 'System', groups: ['S-1-5-32-551'] });
    expect(inspect.json.header).to.deep.equal({ alg: 'EdDSA', kid: key.kid, typ: 'ascend-tse+jws' });
    const human = run('passcode', 'inspect', 'forged.ascpass');
    expect(human.stdout.split('\n')[0]).to.equal('NOT VERIFIED: decoded without checking the signature (use "ascend passcode check" for that).');
    expect(human.stdout).to.match(/Title:\s+Passcode p\.ascpass/);
    run('keys', 'export-public', '--out', 'trusted.json');
    const ok = run('passcode', 'check', 'forged.ascpass', '--computer', 'PC-01', '--user', 'u', '--trusted-keys', 'trusted.json', '--at', '2098-01-06T10:00:00Z', '--utc-offset', 'Z', '--json');
    expectOk(ok);
    expect(ok.json.terms.maxUses).to.equal(2);

    // A bare token file is read too, and a CRLF copy.
    const token = lines[begin + 1] as string;
    writeFileSync(file('bare.txt'), `${token}\n`);
    expect(run('passcode', 'inspect', 'bare.txt', '--json').json.terms.id).to.equal(issued.id);
    writeFileSync(file('crlf.ascpass'), text.replace(/\n/g, '\r\n'));
    expect(run('passcode', 'inspect', 'crlf.ascpass', '--json').json.terms.id).to.equal(issued.id);
    expectOneLineError(run('passcode', 'inspect', 'k.pem'), /^Error: k\.pem: no passcode in the file/);
  });

  it('passcode list shows the issued registry, which keeps the token hash and never the token', () => {
    const key = newKey('k.pem');
    const first = issue('one.ascpass', '--kid', key.kid, '--user', 'CORP\\bob', '--not-after', '2099-12-31Z');
    const second = issue('two.ascpass', '--kid', key.kid, '--issuer', 'CORP\\helpdesk', '--weekdays', 'sat,sun');
    const list = run('passcode', 'list', '--json');
    expect(list.status, list.stderr).to.equal(0);
    expect(list.json.passcodes.map((p: any) => p.id)).to.deep.equal([first.id, second.id]);
    const [a, b] = list.json.passcodes;
    expect(a).to.deep.include({ title: 'Passcode one.ascpass', kid: key.kid, maxUses: 2, durationSeconds: 1800, users: ['CORP\\bob'], notAfter: '2099-12-31T23:59:59Z', file: file('one.ascpass') });
    expect(a.issuer).to.match(/^.+@.+$/);
    expect(b).to.deep.include({ issuer: 'CORP\\helpdesk', weekdays: [0, 6] });
    const token = /-----BEGIN ASCEND PASSCODE-----\n(.*)\n/.exec(readFileSync(file('one.ascpass'), 'utf8'))?.[1] as string;
    expect(a.tokenSha256).to.equal(createHash('sha256').update(token).digest('hex'));
    const registry = path.join(env.ASCEND_HOME as string, 'issued-passcodes.jsonl');
    expect(statSync(registry).mode & 0o777).to.equal(0o600);
    const raw = readFileSync(registry, 'utf8');
    expect(raw).to.not.include(token.split('.')[2] as string);
    expect(raw.trim().split('\n')).to.have.length(2);
    const human = run('passcode', 'list');
    expect(human.stdout).to.match(new RegExp(`${first.id}\\s+Passcode one\\.ascpass\\s+2\\s+30m\\s+`));
  });

  it('revoke adds to the additive list of that file, keeping what is there, and takes a .ascpass', () => {
    newKey('k.pem');
    const p = issue('p.ascpass');
    run('pol', 'set', 'r.pol', 'RevokedPasscodes', '--state', 'enabled', '--value', 'Passcodes=older-one=revoked in March');
    const r = run('passcode', 'revoke', 'p.ascpass', '--policy', 'r.pol', '--json');
    expect(r.status, r.stderr).to.equal(0);
    expect(r.json).to.deep.include({ id: p.id, stateBefore: 'enabled', changed: true, revoked: ['older-one', p.id] });
    expect(r.json.note).to.match(/^revoked by .+@.+ on \d{4}-\d\d-\d\d$/);
    const values = effective('r.pol').find((x) => x.id === 'RevokedPasscodes').values.Passcodes;
    expect(values).to.deep.equal([{ name: 'older-one', value: 'revoked in March' }, { name: p.id, value: r.json.note }]);
    const bytes = readFileSync(file('r.pol'));
    const again = run('passcode', 'revoke', p.id.toUpperCase(), '--policy', 'r.pol');
    expect(again.stdout).to.include('already; nothing written');
    expect(readFileSync(file('r.pol')).equals(bytes)).to.equal(true);
    // Additive across files: a child's own list does not hide the parent's.
    run('passcode', 'revoke', 'child-only', '--policy', 'child.pol');
    const merged = effective('r.pol', 'child.pol').find((x) => x.id === 'RevokedPasscodes').values.Passcodes.map((v: any) => v.name);
    expect(merged).to.have.members(['older-one', p.id, 'child-only']);
  });

  it('bad input gets one line and changes nothing', () => {
    newKey('k.pem');
    run('keys', 'publish', '--policy', 'domain.pol');
    issue('p.ascpass');
    const before = snapshot(tmp);
    const cases: [string[], RegExp][] = [
      [['passcode', 'new', '--title', 'x', '--max-uses', '0', '--duration', '30m', '--out', 'n.ascpass'], /^Error: maxUses: 0 is not allowed/],
      [['passcode', 'new', '--title', 'x', '--max-uses', '1', '--duration', '30 parsecs', '--out', 'n.ascpass'], /^Error: duration: "30 parsecs" is not a duration/],
      [['passcode', 'new', '--title', 'x', '--max-uses', '1', '--duration', '30m', '--privilege', 'SeMagicPrivilege', '--out', 'n.ascpass'], /^Error: privileges: "SeMagicPrivilege" is not a Windows privilege/],
      [['passcode', 'new', '--title', 'x', '--max-uses', '1', '--duration', '30m', '--group', 'Administrators', '--out', 'n.ascpass'], /^Error: groups: "Administrators" is not a SID/],
      [['passcode', 'new', '--title', 'x', '--max-uses', '1', '--duration', '30m', '--hours', '25:00-26:00', '--out', 'n.ascpass'], /^Error: hours: /],
      [['passcode', 'new', '--title', 'x', '--max-uses', '1', '--duration', '30m', '--not-after', '2020-01-01Z', '--out', 'n.ascpass'], /^Error: notAfter: .* is already past/],
      [['passcode', 'new', '--title', 'x', '--max-uses', '1', '--duration', '30m', '--integrity', 'ultra', '--out', 'n.ascpass'], /^Error: integrity: "ultra" is not Medium, High or System$/],
      [['passcode', 'new', '--title', 'x', '--max-uses', '1', '--duration', '30m', '--out', 'p.ascpass'], /^Error: p\.ascpass: exists already; a passcode file is never overwritten/],
      [['passcode', 'new', '--title', 'x', '--max-uses', '1', '--duration', '30m', '--out', 'no/such/dir/n.ascpass'], /^Error: no\/such\/dir\/n\.ascpass: folder no\/such\/dir does not exist$/],
      [['passcode', 'new', '--max-uses', '1', '--duration', '30m', '--out', 'n.ascpass'], /^Error: Missing required flag title/],
      [['passcode', 'check', 'p.ascpass', '--computer', 'a', '--user', 'b'], /^Error: Exactly one of the following must be provided: --gpo, --policy, --trusted-keys/],
      [['passcode', 'check', 'p.ascpass', '--computer', 'a', '--user', 'b', '--policy', 'domain.pol', '--at', 'yesterday'], /^Error: --at: "yesterday" is not a date/],
      [['passcode', 'check', 'missing.ascpass', '--computer', 'a', '--user', 'b', '--policy', 'domain.pol'], /^Error: missing\.ascpass: no such file$/],
      [['passcode', 'check', 'p.ascpass', '--computer', 'a', '--user', 'b', '--policy', 'missing.pol'], /^Error: missing\.pol: no such file$/],
      [['passcode', 'revoke', 'not an id', '--policy', 'domain.pol'], /^Error: "not an id" is not a passcode id/],
      [['passcode', 'revoke', 'some-id'], /^Error: Exactly one of the following must be provided: --gpo, --policy/],
      [['keys', 'publish', '--gpo', 'G', '--policy', 'domain.pol'], /^Error: --gpo cannot also be provided when using --policy/],
      [['keys', 'unpublish', '--policy', 'domain.pol', '--kid', 'nonsense'], /^Error: --kid: "nonsense" is not a key id/],
      [['keys', 'unpublish', '--policy', 'nothing.pol', '--kid', 'asc-0123456789abcdef'], /^Error: file nothing\.pol: the TSE policy is not-configured, so it trusts no key to remove$/],
      [['passcode', 'inspect', 'domain.pol'], /^Error: domain\.pol: no passcode in the file/],
    ];
    for (const [args, pattern] of cases) {
      const r = run(...args);
      expectOneLineError(r, pattern);
    }
    expect(snapshot(tmp)).to.deep.equal(before);
    expect(existsSync(file('n.ascpass'))).to.equal(false);
  });
});
