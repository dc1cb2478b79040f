import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { encodeMultiSz, polEntry, RegType, writeRegistryPol } from '../../src/formats/registry-pol/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = path.join(root, 'bin', 'run.js');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  json: any;
}

/** Runs the built CLI as a user would (`npm run build` first; `npm test` does it). */
function ascend(args: string[], cwd = root): Run {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
  let json: any;
  if (args.includes('--json')) {
    try {
      json = JSON.parse(r.stdout);
    } catch {
      json = undefined;
    }
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

/** A user error: non-zero, one line on stderr, no stack trace. */
function expectOneLineError(r: Run, pattern: RegExp): void {
  expect(r.status, r.stderr).to.not.equal(0);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).to.have.length(1);
  expect(lines[0]).to.match(pattern);
  expect(r.stderr).to.not.match(/\n\s+at /);
}

describe('ascend CLI', function () {
  let dir: string;
  before(function () {
    if (!existsSync(path.join(root, 'dist', 'src', 'cli', 'commands'))) throw new Error('the CLI is not built: run "npm run build" (npm test does)');
  });
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ascend-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('pol set / show / effective', () => {
    it('creates a Registry.pol, shows its entries and its effective settings', () => {
      const file = path.join(dir, 'Registry.pol');
      const set = ascend(['pol', 'set', file, 'ClientDataCollection', '--state', 'enabled', '--value', 'CollectorHost=collector.corp.example', '--json']);
      expect(set.status, set.stderr).to.equal(0);
      expect(set.json).to.include({ policy: 'ClientDataCollection', state: 'enabled', created: true });
      expect(set.json.values.CollectorPort).to.equal(8003);

      const show = ascend(['pol', 'show', file, '--json']);
      expect(show.status).to.equal(0);
      expect(show.json.entries[1]).to.deep.equal({
        key: 'SOFTWARE\\Policies\\Ascend\\PrivilegeManager\\ClientDataCollection',
        value: 'CollectorHost',
        type: 'REG_SZ',
        data: 'collector.corp.example',
      });

      const eff = ascend(['pol', 'effective', file, '--json']);
      expect(eff.status).to.equal(0);
      const dc = eff.json.policies.find((p: any) => p.id === 'ClientDataCollection');
      expect(dc).to.deep.include({ state: 'enabled', source: file });
      expect(dc.values).to.include({ CollectorHost: 'collector.corp.example', CollectorPort: 8003, UseTls: true });
      expect(eff.json.policies.find((p: any) => p.id === 'Approvals')).to.deep.equal({ id: 'Approvals', state: 'not-configured', values: {}, source: null });
    });

    it('applies files lowest precedence first: a child Disabled beats a parent Enabled', () => {
      const parent = path.join(dir, 'domain.pol');
      const child = path.join(dir, 'ou.pol');
      expect(ascend(['pol', 'set', parent, 'EphemeralAccounts', '--state', 'enabled']).status).to.equal(0);
      expect(ascend(['pol', 'set', child, 'EphemeralAccounts', '--state', 'disabled']).status).to.equal(0);
      const both = ascend(['pol', 'effective', parent, child, '--json']).json.policies.find((p: any) => p.id === 'EphemeralAccounts');
      expect(both).to.deep.equal({ id: 'EphemeralAccounts', state: 'disabled', values: {}, source: child });
      const human = ascend(['pol', 'effective', parent, child]);
      expect(human.stdout).to.match(/EphemeralAccounts\s+disabled\s+\S*ou\.pol/);
    });

    it('takes list values as a,b,c and repeated --value, with \\, inside an item', () => {
      const file = path.join(dir, 'Registry.pol');
      const r = ascend([
        'pol', 'set', file, 'TemporarySessionElevation', '--state', 'enabled',
        '--value', 'Groups=S-1-5-32-544,CORP\\Helpdesk', '--value', 'Groups=Odd\\,Name', '--value', 'TrustedKeys=k1=AAAA,k2=BBBB', '--json',
      ]);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.json.values.Groups).to.deep.equal(['S-1-5-32-544', 'CORP\\Helpdesk', 'Odd,Name']);
      expect(r.json.values.TrustedKeys).to.deep.equal([{ name: 'k1', value: 'AAAA' }, { name: 'k2', value: 'BBBB' }]);
      const tse = ascend(['pol', 'effective', file, '--json']).json.policies.find((p: any) => p.id === 'TemporarySessionElevation');
      expect(tse.values.Groups).to.deep.equal(['S-1-5-32-544', 'CORP\\Helpdesk', 'Odd,Name']);
      expect(tse.values.IntegrityLevel).to.equal('High');
    });

    it('keeps the entries of other products byte for byte, and Not Configured removes only ours', () => {
      const file = path.join(dir, 'Registry.pol');
      const theirs = writeRegistryPol([polEntry.dword('Software\\Policies\\Contoso', 'Keep', 7), polEntry.deleteValue('Software\\Policies\\Contoso', 'Gone')]);
      writeFileSync(file, theirs);
      expect(ascend(['pol', 'set', file, 'OfflinePasscodes', '--state', 'enabled']).status).to.equal(0);
      const after = readFileSync(file);
      expect(after.subarray(0, theirs.length).equals(Buffer.from(theirs))).to.equal(true);
      expect(after.length).to.be.greaterThan(theirs.length);
      expect(ascend(['pol', 'set', file, 'OfflinePasscodes', '--state', 'not-configured']).status).to.equal(0);
      expect(readFileSync(file).equals(Buffer.from(theirs))).to.equal(true);
    });

    it('shows every data type in the documented JSON form', () => {
      const file = path.join(dir, 'Registry.pol');
      const k = 'Software\\Policies\\Contoso';
      writeFileSync(
        file,
        writeRegistryPol([
          polEntry.sz(k, 'Sz', 'text'),
          polEntry.expandSz(k, 'Exp', '%SystemRoot%'),
          polEntry.dword(k, 'Dw', 4000000000),
          { key: k, valueName: 'Be', type: RegType.REG_DWORD_BIG_ENDIAN, data: Uint8Array.of(0, 0, 1, 2) },
          polEntry.qword(k, 'Qw', 18446744073709551615n),
          { key: k, valueName: 'Multi', type: RegType.REG_MULTI_SZ, data: encodeMultiSz(['a', 'b']) },
          { key: k, valueName: 'Bin', type: RegType.REG_BINARY, data: Uint8Array.of(0xde, 0xad, 0xbe, 0xef) },
          { key: k, valueName: 'None', type: RegType.REG_NONE, data: Uint8Array.of(1) },
        ]),
      );
      const r = ascend(['pol', 'show', file, '--json']);
      expect(r.json.entries.map((e: any) => [e.type, e.data])).to.deep.equal([
        ['REG_SZ', 'text'],
        ['REG_EXPAND_SZ', '%SystemRoot%'],
        ['REG_DWORD', 4000000000],
        ['REG_DWORD_BIG_ENDIAN', 258],
        ['REG_QWORD', '18446744073709551615'],
        ['REG_MULTI_SZ', ['a', 'b']],
        ['REG_BINARY', 'deadbeef'],
        ['REG_NONE', '01'],
      ]);
      expect(ascend(['pol', 'show', file]).stdout).to.match(/Software\\Policies\\Contoso\s+Dw\s+REG_DWORD\s+4000000000/);
    });
  });

  describe('bad input: one line naming the problem, non-zero exit, nothing changed', () => {
    it('a corrupt file names the byte offset; with --json an error object', () => {
      const file = path.join(dir, 'Registry.pol');
      writeFileSync(file, Buffer.from([0x50, 0x52, 0x65, 0x67, 2, 0, 0, 0]));
      expectOneLineError(ascend(['pol', 'show', file]), /Registry\.pol: version is 2 at byte 4 \(expected version 1\)/);
      const j = ascend(['pol', 'show', file, '--json']);
      expect(j.status).to.equal(1);
      expect(j.json.error.code).to.equal('ASC_POL_BAD_VERSION');
      expect(j.json.error.message).to.contain('byte 4');
    });

    it('a refused edit leaves the file exactly as it was', () => {
      const file = path.join(dir, 'Registry.pol');
      expect(ascend(['pol', 'set', file, 'ClientDataCollection', '--state', 'enabled', '--value', 'CollectorHost=a']).status).to.equal(0);
      const before = readFileSync(file);
      expectOneLineError(ascend(['pol', 'set', file, 'ClientDataCollection', '--state', 'enabled', '--value', 'CollectorHost=a', '--value', 'CollectorPort=99999']), /CollectorPort: 99999 is outside 1\.\.65535/);
      expectOneLineError(ascend(['pol', 'set', file, 'ClientDataCollection', '--state', 'enabled', '--value', 'Colour=red']), /no element "Colour".*CollectorHost/);
      expectOneLineError(ascend(['pol', 'set', file, 'NoSuchPolicy', '--state', 'enabled']), /no policy "NoSuchPolicy".*ascend policy list/);
      expectOneLineError(ascend(['pol', 'set', file, 'ClientDataCollection', '--state', 'enabled', '--value', 'CollectorHost']), /is not NAME=VALUE/);
      expect(readFileSync(file).equals(before)).to.equal(true);
    });

    it('refuses to edit a corrupt file rather than rewrite it', () => {
      const file = path.join(dir, 'Registry.pol');
      const corrupt = Buffer.concat([Buffer.from(writeRegistryPol([polEntry.dword('K', 'V', 1)])), Buffer.from([0x5b, 0x00, 0x41])]);
      writeFileSync(file, corrupt);
      expectOneLineError(ascend(['pol', 'set', file, 'OfflinePasscodes', '--state', 'enabled']), /at byte \d+/);
      expect(readFileSync(file).equals(corrupt)).to.equal(true);
    });

    it('a FIFO given as a passcode or key file is refused at once, not waited on', () => {
      const fifo = path.join(dir, 'pipe');
      expect(spawnSync('mkfifo', [fifo]).status).to.equal(0);
      // The same refusal for both: a check of the file's mode or a failed read would say something else.
      const refusal = new RegExp(`^Error: ${fifo.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a regular file$`);
      expectOneLineError(ascend(['passcode', 'inspect', fifo]), refusal);
      expectOneLineError(ascend(['passcode', 'new', '--title', 't', '--max-uses', '1', '--duration', '1h', '--key-file', fifo, '--out', path.join(dir, 'x.ascpass')]), refusal);
      expect(existsSync(path.join(dir, 'x.ascpass'))).to.equal(false);
    });

    it('a missing file, a missing flag and a bad state exit non-zero with one line', () => {
      expectOneLineError(ascend(['pol', 'show', path.join(dir, 'none.pol')]), /none\.pol: no such file/);
      const usage = ascend(['pol', 'set', path.join(dir, 'x.pol'), 'OfflinePasscodes']);
      expectOneLineError(usage, /state/i);
      expect(usage.status).to.equal(2);
      expectOneLineError(ascend(['pol', 'set', path.join(dir, 'x.pol'), 'OfflinePasscodes', '--state', 'maybe']), /maybe/);
      expect(existsSync(path.join(dir, 'x.pol'))).to.equal(false);
      expectOneLineError(ascend(['pol', 'set', path.join(dir, 'no', 'such', 'x.pol'), 'OfflinePasscodes', '--state', 'enabled']), /does not exist/);
    });
  });

  describe('policy list and admx build', () => {
    it('lists the catalog', () => {
      const r = ascend(['policy', 'list', '--json']);
      expect(r.status).to.equal(0);
      expect(r.json.policies.map((p: any) => p.id)).to.include.members(['ClientDataCollection', 'OfflinePasscodes', 'TemporarySessionElevation', 'ElevationRules', 'BlacklistRules']);
      expect(ascend(['policy', 'list']).stdout).to.match(/^TemporarySessionElevation {2}Instant On Demand Privilege Elevation \[Temporary Session Elevation\]\n {2}key: HKLM\\SOFTWARE\\.*\n {2}Groups +list of items/m);
    });

    it('writes the same ADMX/ADML as committed, and --check catches drift', () => {
      const out = path.join(dir, 'admx');
      const built = ascend(['admx', 'build', '--out', out, '--json']);
      expect(built.status, built.stderr).to.equal(0);
      expect(built.json.files.map((f: any) => f.changed)).to.deep.equal([true, true]);
      expect(readFileSync(path.join(out, 'Ascend.admx'), 'utf8')).to.equal(readFileSync(path.join(root, 'admx', 'Ascend.admx'), 'utf8'));
      expect(readFileSync(path.join(out, 'en-US', 'Ascend.adml'), 'utf8')).to.equal(readFileSync(path.join(root, 'admx', 'en-US', 'Ascend.adml'), 'utf8'));
      expect(ascend(['admx', 'build', '--out', out, '--check']).status).to.equal(0);
      writeFileSync(path.join(out, 'en-US', 'Ascend.adml'), 'stale');
      const drift = ascend(['admx', 'build', '--out', out, '--check', '--json']);
      expect(drift.status).to.equal(1);
      expect(drift.json.error.code).to.equal('ASC_ADMX_DRIFT');
      expect(readFileSync(path.join(out, 'en-US', 'Ascend.adml'), 'utf8')).to.equal('stale');
    });

    it('ships a manifest so start-up does not load every command', () => {
      const manifest = JSON.parse(readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8'));
      expect(Object.keys(manifest.commands).sort()).to.deep.equal([
        'admx:build',
        'agent:refresh',
        'agent:run',
        'agent:status',
        'elevate',
        'gpo:block-inheritance',
        'gpo:create',
        'gpo:delete',
        'gpo:link',
        'gpo:list',
        'gpo:set',
        'gpo:show',
        'gpo:unlink',
        'keys:export-public',
        'keys:init',
        'keys:list',
        'keys:publish',
        'keys:unpublish',
        'passcode:check',
        'passcode:inspect',
        'passcode:list',
        'passcode:new',
        'passcode:revoke',
        'pol:effective',
        'pol:set',
        'pol:show',
        'policy:list',
        'policy:show',
        'report',
        'rsop',
        'rules:add',
        'rules:lint',
        'rules:list',
        'rules:remove',
        'rules:suggest',
        'rules:test',
        'server:agent:list',
        'server:agent:revoke',
        'server:approval:approve',
        'server:approval:deny',
        'server:approval:list',
        'server:enroll-token:create',
        'server:mfa:enroll',
        'server:mfa:remove',
        'server:mfa:show',
        'server:passcode:list',
        'server:passcode:register',
        'server:passcode:revoke',
        'server:revocations',
        'server:sign-in',
        'server:sign-out',
        'server:start',
        'server:token:create',
        'server:token:list',
        'server:token:revoke',
        'server:webhook:add',
        'server:webhook:deliveries',
        'server:webhook:list',
        'server:webhook:remove',
        'server:webhook:test',
        'server:whoami',
        'tse:redeem',
        'tse:status',
      ]);
    });
  });
});
