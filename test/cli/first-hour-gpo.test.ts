/**
 * Issue 20 item 2 on a real GPO in the Samba DC (test/support/samba-dc.ts; run under
 * `flock /tmp/ascend-dc.lock`): `ascend gpo set` starts from the values the Enabled policy has
 * in the GPO, --reset from the defaults, and every invalid value is reported at once with
 * nothing written (the GPO version does not move).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { requireTestDc, type TestDc } from '../support/samba-dc.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = randomBytes(3).toString('hex');
const GPO = `H20a First Hour ${run}`;

describe('issue 20: ascend gpo set starts from the GPO\'s current values (real DC)', function () {
  this.timeout(180_000);
  let dc: TestDc;
  let tmp: string;
  let env: NodeJS.ProcessEnv;

  const ascend = (args: string[]) => {
    const r = spawnSync(process.execPath, [path.join(root, 'bin', 'run.js'), ...args], { encoding: 'utf8', env });
    let json: any;
    try {
      json = JSON.parse(r.stdout);
    } catch {
      json = undefined;
    }
    return { ...r, json };
  };
  const values = (): { state: string; values: Record<string, unknown> } => {
    const shown = ascend(['gpo', 'show', GPO, '--json']);
    expect(shown.status, shown.stderr).to.equal(0);
    return shown.json.settings.find((s: any) => s.id === 'ClientDataCollection');
  };

  before(async function () {
    dc = await requireTestDc(this);
    tmp = mkdtempSync(path.join(tmpdir(), 'h20a-gpo-'));
    const pw = path.join(tmp, 'password');
    writeFileSync(pw, dc.password);
    chmodSync(pw, 0o600);
    env = { ...process.env, NO_COLOR: '1', ASCEND_LDAP_URL: dc.url, ASCEND_LDAP_USER: dc.bindDn, ASCEND_LDAP_PASSWORD_FILE: pw, ASCEND_LDAP_TLS_INSECURE: '1', ASCEND_SYSVOL: dc.smbUrl };
    delete env.ASCEND_LDAP_PASSWORD;
    const created = ascend(['gpo', 'create', GPO, '--json']);
    expect(created.status, created.stderr).to.equal(0);
  });

  after(() => {
    if (dc) ascend(['gpo', 'delete', GPO]);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('changes only the value named, --reset starts from the defaults, and bad values are all reported with nothing written', () => {
    const first = ascend(['gpo', 'set', GPO, 'ClientDataCollection', '--state', 'enabled', '--value', 'CollectorHost=collector.h20a.example', '--value', 'UploadIntervalSeconds=300', '--json']);
    expect(first.status, first.stderr).to.equal(0);

    // The command of the issue on the Enabled policy: the host and the interval stay.
    const port = ascend(['gpo', 'set', GPO, 'ClientDataCollection', '--state', 'enabled', '--value', 'CollectorPort=9000', '--json']);
    expect(port.status, port.stderr).to.equal(0);
    expect(port.json.kept).to.include.members(['CollectorHost', 'UploadIntervalSeconds']);
    expect(port.json).to.deep.include({ changed: true, versionAfter: port.json.versionBefore + 1 });
    expect(values()).to.deep.include({ state: 'enabled' });
    expect(values().values).to.deep.include({ CollectorHost: 'collector.h20a.example', CollectorPort: 9000, UploadIntervalSeconds: 300 });

    // Every problem in one line; the GPO's version does not move.
    const bad = ascend(['gpo', 'set', GPO, 'ClientDataCollection', '--state', 'enabled', '--value', 'CollectorPort=99999', '--value', 'UseTls=maybe']);
    expect(bad.status).to.equal(1);
    expect(bad.stderr.trimEnd().split('\n')).to.have.length(1);
    expect(bad.stderr).to.include('ClientDataCollection.CollectorPort: 99999 is outside 1..65535; ClientDataCollection.UseTls: "maybe" is not true or false');
    const missing = ascend(['gpo', 'set', GPO, 'ClientDataCollection', '--state', 'enabled', '--reset', '--value', 'CollectorPort=99999', '--json']);
    expect(missing.json.error.message).to.include('ClientDataCollection.CollectorHost: a value is required (no default); ClientDataCollection.CollectorPort: 99999 is outside 1..65535');
    const still = ascend(['gpo', 'show', GPO, '--json']);
    expect(still.json.gpo.version).to.equal(port.json.versionAfter);

    const reset = ascend(['gpo', 'set', GPO, 'ClientDataCollection', '--state', 'enabled', '--reset', '--value', 'CollectorHost=other.h20a.example', '--json']);
    expect(reset.status, reset.stderr).to.equal(0);
    expect(reset.json.kept).to.deep.equal([]);
    expect(values().values).to.deep.include({ CollectorHost: 'other.h20a.example', CollectorPort: 8003, UploadIntervalSeconds: 60 });
  });
});
