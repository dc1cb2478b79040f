/**
 * Issue 12 finding 11 against a real Samba AD DC: `ascend gpo set` (the built CLI, over
 * LDAPS and SMB) keeps every byte of a GPT.INI written in a Windows code page or in
 * UTF-16LE, changing only the Version digits, and AD's versionNumber matches them; a GPO
 * Ascend creates gets an ASCII-only GPT.INI, as samba-tool's.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Directory } from '../../src/directory/index.js';
import { bumpHalf, parseGptIni } from '../../gpo-extension/layout.js';
import { requireTestDc, sambaToolOk, type TestDc } from '../support/samba-dc.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = randomBytes(3).toString('hex');

/** "Групповая политика" in Windows-1251, the bytes a Russian DC's profile API writes. */
const CP1251_NAME = Buffer.from([0xc3, 0xf0, 0xf3, 0xef, 0xef, 0xee, 0xe2, 0xe0, 0xff, 0x20, 0xef, 0xee, 0xeb, 0xe8, 0xf2, 0xe8, 0xea, 0xe0]);
const ascii = (t: string): Buffer => Buffer.from(t, 'latin1');

describe('GPT.INI keeps its code page through `ascend gpo set` on a real DC (issue 12 #11)', function () {
  this.timeout(180_000);
  let dc: TestDc;
  let dir: Directory;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  const guids: string[] = [];

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
  const gptIniPath = (guid: string): string => path.join(dc.sysvolPath, dc.dnsDomain, 'Policies', guid, 'GPT.INI');
  const createGpo = (name: string): string => {
    const created = ascend(['gpo', 'create', name, '--json']);
    expect(created.status, created.stderr).to.equal(0);
    const guid: string = created.json.gpo.guid;
    guids.push(guid);
    return guid;
  };
  const adVersion = async (guid: string): Promise<number> => {
    const e = await dir.get(`CN=${guid},CN=Policies,CN=System,${dc.baseDn}`, ['versionNumber']);
    return Number(e?.attrs.versionnumber?.[0]);
  };

  before(async function () {
    dc = await requireTestDc(this);
    tmp = mkdtempSync(path.join(tmpdir(), 'ascend-h7-gptini-'));
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
    dir = await Directory.connect({ url: dc.url, bindDn: dc.bindDn, password: dc.password, tlsInsecure: true });
  });

  after(async () => {
    for (const guid of guids) ascend(['gpo', 'delete', guid]);
    await dir?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  // 99999 = user half 1, computer half 0x869F; the bump makes it 100000, one digit longer.
  const cases: { name: string; file: (version: number) => Buffer; again?: boolean }[] = [
    {
      name: 'Windows-1251, CRLF, another section after',
      again: true,
      file: (v) => Buffer.concat([ascii(`[General]\r\nVersion=${v}\r\ndisplayName=`), CP1251_NAME, ascii('\r\n[Other]\r\nKey=\xe9\r\n')]),
    },
    {
      name: 'UTF-16LE with a BOM, LF only, no final newline',
      file: (v) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`[General]\nVersion=${v}\ndisplayName=Групповая политика`, 'utf16le')]),
    },
  ];
  for (const c of cases) {
    it(`${c.name}: only the Version digits change, and AD's versionNumber matches them`, async () => {
      const guid = createGpo(`Ascend H7 GptIni ${run} ${guids.length}`);
      await dir.modify(`CN=${guid},CN=Policies,CN=System,${dc.baseDn}`, [{ operation: 'replace', attribute: 'versionNumber', values: ['99999'] }]);
      // Overwritten in place, so the file keeps the NT ACL samba gave it.
      writeFileSync(gptIniPath(guid), c.file(99999));

      const set = ascend(['gpo', 'set', guid, 'OfflinePasscodes', '--state', 'enabled', '--json']);
      expect(set.status, set.stderr).to.equal(0);
      const next = bumpHalf(99999, 'machine');
      expect(next).to.equal(100000);
      expect(set.json).to.deep.include({ versionBefore: 99999, versionAfter: next, changed: true });

      const after = readFileSync(gptIniPath(guid));
      expect(after.toString('hex')).to.equal(c.file(next).toString('hex'));
      expect(parseGptIni(after).version).to.equal(next);
      expect(await adVersion(guid)).to.equal(next);

      if (!c.again) return;
      // And the next edit reads the file it wrote.
      const again = ascend(['gpo', 'set', guid, 'OfflinePasscodes', '--state', 'disabled', '--json']);
      expect(again.status, again.stderr).to.equal(0);
      expect(readFileSync(gptIniPath(guid)).toString('hex')).to.equal(c.file(next + 1).toString('hex'));
      expect(await adVersion(guid)).to.equal(next + 1);
    });
  }

  it('a new GPO with a non-ASCII name gets an ASCII GPT.INI without displayName, as samba-tool writes it', () => {
    const name = `Ascend H7 Политика ${run}`;
    const out = sambaToolOk(dc, ['gpo', 'create', `${name} samba`]);
    const samba = /\{[0-9A-Fa-f-]{36}\}/.exec(out)?.[0];
    expect(samba, out).to.be.a('string');
    try {
      expect(readFileSync(gptIniPath(samba as string)).toString('latin1')).to.equal('[General]\r\nVersion=0\r\n');
    } finally {
      sambaToolOk(dc, ['gpo', 'del', samba as string]);
    }

    const ours = createGpo(name);
    expect(readFileSync(gptIniPath(ours)).toString('latin1')).to.equal('[General]\r\nVersion=0\r\n');
  });
});
