import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ascend, cliEnv, expectOk, expectOneLineError, requireBuiltCli, snapshot, type Run } from './support.js';

describe('ascend keys: key files, the key index, public keys', function () {
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  const run = (...args: string[]): Run => ascend(args, env, tmp);
  const mode = (p: string): number => statSync(p).mode & 0o777;

  before(requireBuiltCli);
  beforeEach(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'ascend-keys-'));
    env = cliEnv(tmp);
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('keys init --key-file writes a new mode-600 key file and indexes the public half only', () => {
    const r = run('keys', 'init', '--key-file', 'signing.pem', '--name', 'Helpdesk 2026', '--json');
    expect(r.status, r.stderr).to.equal(0);
    const key = r.json.key;
    expect(key.kid).to.match(/^asc-[0-9a-f]{16}$/);
    expect(key).to.deep.include({ storage: 'file', keyFile: path.join(tmp, 'signing.pem'), label: 'Helpdesk 2026' });
    expect(key.publicKey).to.match(/^MCowBQYDK2VwAyEA[A-Za-z0-9+/]{43}=$/);
    expect(mode(path.join(tmp, 'signing.pem'))).to.equal(0o600);
    expect(readFileSync(path.join(tmp, 'signing.pem'), 'utf8')).to.match(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(r.stdout).to.not.include('PRIVATE KEY');

    const home = env.ASCEND_HOME as string;
    expect(mode(home)).to.equal(0o700);
    const indexFile = path.join(home, 'signing-keys.json');
    expect(mode(indexFile)).to.equal(0o600);
    const index = readFileSync(indexFile, 'utf8');
    expect(index).to.not.include('PRIVATE');
    expect(JSON.parse(index).keys).to.deep.equal([key]);

    const list = run('keys', 'list', '--json');
    expect(list.json.keys).to.deep.equal([key]);
    const human = run('keys', 'list');
    expect(human.stdout).to.match(new RegExp(`${key.kid}\\s+\\S+\\s+${path.join(tmp, 'signing.pem').replace(/[/.]/g, '\\$&')}\\s+Helpdesk 2026`));
  });

  it('never overwrites a key file (O_EXCL), and then indexes nothing', () => {
    writeFileSync(path.join(tmp, 'taken.pem'), 'precious\n', { mode: 0o600 });
    const r = run('keys', 'init', '--key-file', 'taken.pem');
    expectOneLineError(r, /^Error: taken\.pem: exists already; a key file is never overwritten/);
    expect(readFileSync(path.join(tmp, 'taken.pem'), 'utf8')).to.equal('precious\n');
    expect(existsSync(path.join(env.ASCEND_HOME as string, 'signing-keys.json'))).to.equal(false);
    expect(run('keys', 'init', '--key-file', 'taken.pem', '--json').json.error.code).to.equal('ASC_FILE_EXISTS');
  });

  it('without a keychain, keys init asks for --key-file and writes nothing', () => {
    const r = run('keys', 'init');
    expectOneLineError(r, /^Error: no OS keychain is available to keep the private key in: no D-Bus session bus .* \(give --key-file FILE .*\)$/);
    expect(run('keys', 'init', '--json').json.error.code).to.equal('ASC_KEYCHAIN_UNAVAILABLE');
    expect(snapshot(tmp)).to.deep.equal({});
  });

  it('refuses a key file that group or others can read, with a one-line chmod 600 hint, and writes nothing', () => {
    expect(run('keys', 'init', '--key-file', 'k.pem').status).to.equal(0);
    run('keys', 'export-public', '--out', 'trusted.json');
    for (const loose of [0o644, 0o640, 0o604, 0o660]) {
      chmodSync(path.join(tmp, 'k.pem'), loose);
      const before = snapshot(tmp);
      const looseText = loose.toString(8);
      const attempts: string[][] = [
        ['passcode', 'new', '--title', 'x', '--max-uses', '1', '--duration', '30m', '--key-file', 'k.pem', '--out', 'x.ascpass'],
        ['keys', 'export-public', '--key-file', 'k.pem'],
        ['keys', 'publish', '--policy', 'Registry.pol', '--key-file', 'k.pem'],
      ];
      for (const args of attempts) {
        const r = run(...args);
        expectOneLineError(r, new RegExp(`^Error: k\\.pem: the private key file has mode ${looseText}, open to group or others; run chmod 600 k\\.pem$`));
        expect(run(...args, '--json').json.error.code).to.equal('ASC_KEY_FILE_INSECURE');
      }
      expect(snapshot(tmp)).to.deep.equal(before);
    }
    chmodSync(path.join(tmp, 'k.pem'), 0o400);
    expect(run('passcode', 'new', '--title', 'x', '--max-uses', '1', '--duration', '30m', '--key-file', 'k.pem', '--out', 'x.ascpass').status).to.equal(0);
  });

  it('refuses key files that are not Ed25519 PKCS#8 private keys', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    writeFileSync(path.join(tmp, 'rsa.pem'), rsa, { mode: 0o600 });
    writeFileSync(path.join(tmp, 'junk.pem'), 'not a key\n', { mode: 0o600 });
    expectOneLineError(run('keys', 'export-public', '--key-file', 'rsa.pem'), /^Error: rsa\.pem: the signing key is rsa, not Ed25519$/);
    expectOneLineError(run('keys', 'export-public', '--key-file', 'junk.pem'), /^Error: junk\.pem: the signing key is not a PKCS#8 PEM/);
    expectOneLineError(run('keys', 'export-public', '--key-file', 'missing.pem'), /^Error: missing\.pem: no such key file$/);
    expect(run('keys', 'export-public', '--key-file', 'rsa.pem', '--json').json.error.code).to.equal('ASC_KEY_INVALID');
  });

  it('export-public prints or writes {"keys":[{"kid","publicKey"}]}, from the index or a key file', () => {
    const a = run('keys', 'init', '--key-file', 'a.pem', '--json').json.key;
    const b = run('keys', 'init', '--key-file', 'b.pem', '--json').json.key;
    const all = run('keys', 'export-public');
    expect(all.status, all.stderr).to.equal(0);
    expect(JSON.parse(all.stdout)).to.deep.equal({ keys: [{ kid: a.kid, publicKey: a.publicKey }, { kid: b.kid, publicKey: b.publicKey }] });
    expect(all.stdout).to.not.include('PRIVATE');

    expect(run('keys', 'export-public', '--kid', b.kid, '--json').json).to.deep.equal({ keys: [{ kid: b.kid, publicKey: b.publicKey }] });
    expect(JSON.parse(run('keys', 'export-public', '--key-file', 'a.pem').stdout)).to.deep.equal({ keys: [{ kid: a.kid, publicKey: a.publicKey }] });

    const out = run('keys', 'export-public', '--kid', a.kid, '--out', 'trusted.json');
    expect(out.stdout).to.include(`Wrote 1 public key to trusted.json: ${a.kid}`);
    expect(readFileSync(path.join(tmp, 'trusted.json'), 'utf8')).to.equal(`${JSON.stringify({ keys: [{ kid: a.kid, publicKey: a.publicKey }] }, null, 2)}\n`);

    expectOneLineError(run('keys', 'export-public', '--kid', 'asc-0000000000000000'), /^Error: no signing key asc-0000000000000000 in the key index \(known: asc-/);
  });

  it('--trusted-keys reads the export-public file and the keys list --json output, and refuses a key under another id', () => {
    const a = run('keys', 'init', '--key-file', 'a.pem', '--json').json.key;
    run('keys', 'export-public', '--out', 'trusted.json');
    writeFileSync(path.join(tmp, 'list.json'), run('keys', 'list', '--json').stdout);
    expect(run('passcode', 'new', '--title', 'T', '--max-uses', '1', '--duration', '30m', '--out', 'p.ascpass').status).to.equal(0);
    for (const file of ['trusted.json', 'list.json']) expectOk(run('passcode', 'check', 'p.ascpass', '--computer', 'PC1', '--user', 'bob', '--trusted-keys', file, '--json'));

    const other = run('keys', 'init', '--key-file', 'b.pem', '--json').json.key;
    writeFileSync(path.join(tmp, 'forged.json'), JSON.stringify({ keys: [{ kid: a.kid, publicKey: other.publicKey }] }));
    expectOneLineError(run('passcode', 'check', 'p.ascpass', '--computer', 'PC1', '--user', 'bob', '--trusted-keys', 'forged.json'), new RegExp(`^Error: forged\\.json: keys\\[0\\]: the public key's id is ${other.kid}, not ${a.kid}$`));
    writeFileSync(path.join(tmp, 'bad.json'), '{"keys":');
    expectOneLineError(run('passcode', 'check', 'p.ascpass', '--computer', 'PC1', '--user', 'bob', '--trusted-keys', 'bad.json'), /^Error: bad\.json: not JSON/);
  });

  it('publish and passcode new pick the newest key by default, or the one named by --kid', () => {
    const a = run('keys', 'init', '--key-file', 'a.pem', '--json').json.key;
    const b = run('keys', 'init', '--key-file', 'b.pem', '--json').json.key;
    const pub = run('keys', 'publish', '--policy', 'Registry.pol', '--json');
    expect(pub.status, pub.stderr).to.equal(0);
    expect(pub.json.published).to.deep.equal([{ kid: b.kid, publicKey: b.publicKey }]);
    const signed = run('passcode', 'new', '--title', 'T', '--max-uses', '1', '--duration', '30m', '--out', 'p.ascpass', '--json');
    expect(signed.json.kid).to.equal(b.kid);
    const withA = run('passcode', 'new', '--title', 'T', '--max-uses', '1', '--duration', '30m', '--kid', a.kid, '--out', 'q.ascpass', '--json');
    expect(withA.json.kid).to.equal(a.kid);
    expectOneLineError(run('keys', 'publish', '--policy', 'Registry.pol', '--kid', 'asc-ffffffffffffffff'), /^Error: no signing key asc-ffffffffffffffff in the key index/);
  });

  it('with no key at all, signing and publishing say to create one', () => {
    expectOneLineError(run('passcode', 'new', '--title', 'T', '--max-uses', '1', '--duration', '30m', '--out', 'p.ascpass'), /^Error: this console has no signing key yet \(create one with "ascend keys init", or give --key-file\)$/);
    expectOneLineError(run('keys', 'publish', '--policy', 'Registry.pol'), /^Error: this console has no signing key yet/);
    const list = run('keys', 'list');
    expect(list.status).to.equal(0);
    expect(list.stdout).to.include('No signing keys yet');
    expect(snapshot(tmp)).to.deep.equal({});
  });
});
