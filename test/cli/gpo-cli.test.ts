import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { requireTestDc, sambaToolOk, type TestDc } from '../support/samba-dc.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = randomBytes(3).toString('hex');

describe('ascend gpo and rsop commands against a real DC', function () {
  this.timeout(180_000);
  let dc: TestDc;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  let ou: string;

  const ascend = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    const r = spawnSync(process.execPath, [path.join(root, 'bin', 'run.js'), ...args], { encoding: 'utf8', env: { ...env, ...extraEnv } });
    let json: any;
    try {
      json = JSON.parse(r.stdout);
    } catch {
      json = undefined;
    }
    return { ...r, json };
  };

  before(async function () {
    dc = await requireTestDc(this);
    tmp = mkdtempSync(path.join(tmpdir(), 'ascend-gpo-cli-'));
    const pw = path.join(tmp, 'password');
    writeFileSync(pw, dc.password);
    chmodSync(pw, 0o600);
    env = {
      ...process.env,
      NO_COLOR: '1',
      ASCEND_LDAP_URL: dc.url,
      ASCEND_LDAP_USER: dc.bindDn,
      ASCEND_LDAP_PASSWORD_FILE: pw,
      ASCEND_LDAP_TLS_INSECURE: '1',
      ASCEND_SYSVOL: dc.smbUrl,
    };
    delete env.ASCEND_LDAP_PASSWORD;
    ou = `OU=AscendCli${run},${dc.baseDn}`;
    sambaToolOk(dc, ['ou', 'create', ou], { local: true });
    sambaToolOk(dc, ['computer', 'create', `CLIPC${run}`, `--computerou=OU=AscendCli${run}`], { local: true });
  });

  after(() => {
    if (!dc) return;
    ascend(['gpo', 'delete', `Ascend CLI ${run}`]);
    spawnSync('samba-tool', ['computer', 'delete', `CLIPC${run}`, '-H', dc.samDb], { stdio: 'ignore' });
    spawnSync('samba-tool', ['ou', 'delete', ou, '-H', dc.samDb, '--force-subtree-delete'], { stdio: 'ignore' });
    rmSync(tmp, { recursive: true, force: true });
  });

  it('creates, sets, links and shows a GPO over LDAPS and SMB, then rsop sees it', () => {
    const created = ascend(['gpo', 'create', `Ascend CLI ${run}`, '--json']);
    expect(created.status, created.stderr).to.equal(0);
    const guid: string = created.json.gpo.guid;
    expect(guid).to.match(/^\{[0-9A-F-]{36}\}$/);

    const set = ascend(['gpo', 'set', `Ascend CLI ${run}`, 'TemporarySessionElevation', '--state', 'enabled', '--value', 'Groups=S-1-5-32-544,CORP\\Helpdesk', '--json']);
    expect(set.status, set.stderr).to.equal(0);
    expect(set.json).to.deep.include({ versionBefore: 0, versionAfter: 1, changed: true });

    expect(ascend(['gpo', 'link', guid, ou, '--json']).json.links[0]).to.deep.include({ linkOrder: 1, enabled: true, enforced: false });

    const shown = ascend(['gpo', 'show', guid, '--json']);
    expect(shown.json.settings.find((s: any) => s.id === 'TemporarySessionElevation').values.Groups).to.deep.equal(['S-1-5-32-544', 'CORP\\Helpdesk']);

    const rsop = ascend(['rsop', '--computer', `CLIPC${run}`, '--json']);
    expect(rsop.status, rsop.stderr).to.equal(0);
    expect(rsop.json.applied.map((g: any) => g.guid)).to.include(guid);
    expect(rsop.json.settings.find((s: any) => s.id === 'TemporarySessionElevation')).to.deep.include({ state: 'enabled', source: { guid, displayName: `Ascend CLI ${run}` } });

    const human = ascend(['rsop', '--computer', `CLIPC${run}`]);
    expect(human.stdout).to.match(new RegExp(`TemporarySessionElevation\\s+enabled\\s+Ascend CLI ${run}`));

    const bulk = ascend(['rsop', '--computers-in', ou, '--json']);
    expect(bulk.json.results.map((r: any) => r.account.name)).to.deep.equal([`CLIPC${run}$`]);

    expect(ascend(['gpo', 'block-inheritance', ou, '--json']).json).to.deep.equal({ container: ou, blockInheritance: true });
    expect(ascend(['gpo', 'unlink', guid, ou, '--json']).json.links).to.deep.equal([]);
  });

  it('bad credentials, missing settings and unknown GPOs: one line, a code, no password', () => {
    const badPw = path.join(tmp, 'bad');
    writeFileSync(badPw, 'WrongPassword-Secret-123');
    chmodSync(badPw, 0o600);
    const bad = ascend(['gpo', 'list'], { ASCEND_LDAP_PASSWORD_FILE: badPw });
    expect(bad.status).to.equal(1);
    expect(bad.stderr.trim().split('\n')).to.have.length(1);
    expect(bad.stderr).to.not.contain('WrongPassword-Secret-123');
    expect(ascend(['gpo', 'list', '--json'], { ASCEND_LDAP_PASSWORD_FILE: badPw }).json.error.code).to.equal('ASC_LDAP_BAD_CREDENTIALS');

    expect(ascend(['gpo', 'list', '--json'], { ASCEND_LDAP_URL: '' }).json.error.code).to.equal('ASC_CONFIG');
    const open = path.join(tmp, 'open');
    writeFileSync(open, dc.password);
    chmodSync(open, 0o644);
    const leaky = ascend(['gpo', 'list', '--json'], { ASCEND_LDAP_PASSWORD_FILE: open });
    expect(leaky.json.error.code).to.equal('ASC_CONFIG');
    expect(leaky.json.error.message).to.match(/can be read by others/);

    const plain = ascend(['gpo', 'list', '--json'], { ASCEND_LDAP_URL: 'ldap://127.0.0.1' });
    expect(plain.json.error.code).to.equal('ASC_LDAP_INSECURE_REFUSED');

    expect(ascend(['gpo', 'show', `No such GPO ${run}`, '--json']).json.error.code).to.equal('ASC_GPO_NOT_FOUND');
    expect(ascend(['rsop', '--computer', `NOPE${run}`, '--json']).json.error.code).to.equal('ASC_ACCOUNT_NOT_FOUND');
    const both = ascend(['rsop', '--computer', 'a', '--user', 'b']);
    expect(both.status).to.equal(2);
  });
});
