/**
 * One RSoP (issue 15): gpo-extension's resolveAppliedGpos is the one answer to "which GPOs
 * apply to this account, in which order, with which Registry.pol". resolveRsop (`ascend rsop`),
 * the agent's domain policy source (DomainPolicy) and `ascend rules test --rsop-computer` all
 * take it, so against the real Samba DC they see the same GPOs in the same order, and the
 * settings and rules the admin is shown are those the agent enforces from its one fold.
 * Everything is created under one OU per run, so the suite shares the DC with others.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ASCEND_CATALOG } from '../../src/catalog/index.js';
import { Directory } from '../../src/directory/index.js';
import { compileRules, decide, formatRule, ruleFromJson, rulesFromSources, type DecisionRequest, type RuleList } from '../../src/rules/index.js';
import type { PolSource } from '../../src/policy/index.js';
import { AscendError } from '../../src/errors.js';
import { writeRegistryPol, polEntry } from '../../src/formats/registry-pol/index.js';
import { readPolFile } from '../../src/local-policy/index.js';
import { GpoAdmin, type GpoInfo } from '../../gpo-extension/admin.js';
import { connectDomain } from '../../gpo-extension/connection.js';
import { FsSysvolStore, type SysvolStore } from '../../gpo-extension/sysvol/index.js';
import { gpoSysvolPath } from '../../gpo-extension/layout.js';
import { resolveAppliedGpos, resolveRsop, type AppliedGpos, type RsopResult } from '../../gpo-extension/rsop.js';
import { DomainPolicy, effectiveOf, foldSnapshot, LocalPolicyFiles, type DomainPolicySettings } from '../../agent/policy/index.js';
import { requireTestDc, type TestDc } from '../support/samba-dc.js';
import { expectCode } from '../support/expect-code.js';
import { requireComponent } from '../support/components.js';
import { ascend, cliEnv, requireBuiltCli } from '../passcode-cli/support.js';

const run = randomBytes(3).toString('hex');

/** A rule list value as `ascend rules add` writes it. */
const ruleValue = (name: string, list: RuleList, json: Record<string, unknown>): { name: string; value: string } => ({ name, value: formatRule(ruleFromJson(name, json, list)) });

/** Sources as plain data (entries decode some fields lazily, so the objects are compared by what they say). */
const plain = (sources: readonly PolSource[]) =>
  sources.map((s) => ({ source: s.source, entries: s.entries.map((e) => ({ key: e.key, valueName: e.valueName, type: e.type, data: Buffer.from(e.data).toString('hex') })) }));

/** What the agent's settings look like next to the RSoP's (the RSoP names the winning GPO, the agent its GUID). */
const asAgentSees = (r: RsopResult) => r.settings.map((s) => ({ id: s.id, state: s.state, values: s.values, source: s.source?.guid ?? null }));

describe('one RSoP for admin and agent (gpo-extension resolveAppliedGpos) against a real Samba AD DC', function () {
  this.timeout(180_000);
  let dc: TestDc;
  let dir: Directory;
  let store: SysvolStore;
  let admin: GpoAdmin;
  let top: string;
  let machines: string;
  let tmp: string;
  let settings: DomainPolicySettings;
  let passwordFile: string;
  const computer = `ONE${run}`.toUpperCase();
  const created: string[] = [];
  const gpos: Record<string, GpoInfo> = {};

  const make = async (key: string, policies: [string, string, Record<string, unknown>][]): Promise<GpoInfo> => {
    const g = await admin.create(`Ascend OneRsop ${key} ${run}`);
    created.push(g.guid);
    for (const [policy, state, values] of policies) await admin.setPolicy(g.guid, policy, state, values as never);
    gpos[key] = await admin.find(g.guid);
    return gpos[key]!;
  };
  const ours = (guids: readonly string[]): string[] => {
    const byGuid = new Map(Object.entries(gpos).map(([k, g]) => [g.guid, k]));
    return guids.map((g) => byGuid.get(g)).filter((k): k is string => k !== undefined);
  };
  /** The one RSoP read over the machine's own connection, as the agent makes it. */
  const asTheMachine = async (): Promise<AppliedGpos> => {
    const conn = await connectDomain(settings, {});
    try {
      return await resolveAppliedGpos(conn.dir, conn.store, computer, 'computer');
    } finally {
      await conn.close();
    }
  };

  before(async function () {
    dc = await requireTestDc(this);
    dir = await Directory.connect({ url: dc.url, bindDn: dc.bindDn, password: dc.password, tlsInsecure: true });
    store = new FsSysvolStore(dc.sysvolPath);
    admin = new GpoAdmin(dir, store, ASCEND_CATALOG);
    top = `OU=AscendOneRsop${run},${dc.baseDn}`;
    machines = `OU=Machines,${top}`;
    await dir.add(top, { objectClass: ['top', 'organizationalUnit'] });
    await dir.add(machines, { objectClass: ['top', 'organizationalUnit'] });
    const password = `Aa1!${randomBytes(18).toString('base64url')}`;
    await dir.add(`CN=${computer},${machines}`, {
      objectClass: ['top', 'person', 'organizationalPerson', 'user', 'computer'],
      sAMAccountName: `${computer}$`,
      userAccountControl: '4096',
      dNSHostName: `${computer.toLowerCase()}.${dc.dnsDomain}`,
      unicodePwd: Buffer.from(`"${password}"`, 'utf16le'),
    });
    tmp = await fs.mkdtemp(path.join(tmpdir(), 'ascend-one-rsop-'));
    passwordFile = path.join(tmp, 'machine-password');
    await fs.writeFile(passwordFile, password, { mode: 0o600 });
    settings = { url: dc.url, user: `${computer}$@${dc.dnsDomain}`, passwordFile, tlsInsecure: true, sysvol: dc.smbUrl, computer };

    // Top (on the top OU), Ou (on the computer's OU, wins over Top), Forced (Enforced on the
    // top OU: applies last and wins over Ou), Off (a disabled link: does not apply).
    await make('Top', [
      ['ClientDataCollection', 'enabled', { CollectorHost: 'top.corp.example.test' }],
      ['ElevationRules', 'enabled', { Rules: [ruleValue('tool-mfa', 'ElevationRules', { action: 'allow', match: { path: 'C:\\Tools\\tool.exe' }, controls: ['mfa'] })] }],
    ]);
    await make('Ou', [
      ['ClientDataCollection', 'enabled', { CollectorHost: 'ou.corp.example.test' }],
      ['ElevationRules', 'enabled', { Rules: [ruleValue('tool-approval', 'ElevationRules', { action: 'allow', match: { path: 'tool.exe' }, controls: ['approval'] })] }],
      ['BlacklistRules', 'enabled', { Rules: [ruleValue('no-net-admins', 'BlacklistRules', { action: 'deny', match: { path: 'net.exe', args: 'localgroup administrators*' } })] }],
    ]);
    await make('Forced', [['OfflinePasscodes', 'enabled', {}]]);
    await make('Off', [['ClientDataCollection', 'enabled', { CollectorHost: 'off.corp.example.test' }]]);
    await admin.link(gpos.Top!.guid, top);
    await admin.link(gpos.Forced!.guid, top, { enforced: true });
    await admin.link(gpos.Ou!.guid, machines);
    await admin.link(gpos.Off!.guid, machines, { disabled: true });
  });

  after(async () => {
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
    if (!dir) return;
    for (const guid of created) await admin.delete(guid).catch(() => undefined);
    await dir.deleteTree(top).catch(() => undefined);
    await dir.close();
  });

  it('resolveRsop, the agent and the machine itself get the same GPOs in the same order, with the same Registry.pol', async () => {
    const one = await resolveAppliedGpos(dir, store, computer, 'computer');
    expect(ours(one.applied.map((g) => g.guid))).to.deep.equal(['Top', 'Ou', 'Forced']);
    expect(ours(one.notApplied.map((g) => g.guid))).to.deep.equal(['Off']);
    expect(one.sources.map((s) => s.source)).to.deep.equal(one.applied.map((g) => g.guid));
    expect(one.damaged).to.deep.equal([]);
    expect(one.account).to.include({ name: `${computer}$`, kind: 'computer' });
    expect(one.account.sid).to.match(/^S-1-5-21-/);

    // resolveRsop is that answer plus one fold.
    const rsop = await resolveRsop(dir, store, ASCEND_CATALOG, computer, 'computer');
    expect(rsop.account).to.deep.equal(one.account);
    expect(rsop.applied).to.deep.equal(one.applied);
    expect(rsop.notApplied).to.deep.equal(one.notApplied);
    expect(rsop.notes).to.deep.equal(one.notes);

    // The agent's domain source (bound as the computer) is that answer too.
    const snap = await new DomainPolicy(settings, {}).load();
    const machine = await asTheMachine();
    expect(machine.applied).to.deep.equal(one.applied);
    expect(plain(machine.sources)).to.deep.equal(plain(one.sources));
    expect(plain(snap.sources)).to.deep.equal(plain(machine.sources));
    expect(plain(one.sources).every((s) => s.entries.length > 0)).to.equal(true);
    expect(snap.labels).to.deep.equal(Object.fromEntries(machine.applied.map((g) => [g.guid, g.displayName])));
    expect(snap.problems).to.deep.equal(machine.notes);
    expect(snap.computer).to.deep.equal({ name: machine.account.name, dn: machine.account.dn, sid: machine.account.sid, groupSids: machine.groupSids });
    expect([...machine.groupSids].sort()).to.deep.equal([...one.groupSids].sort());

    // What the admin is shown is what the agent enforces: one fold, settings and rules from it.
    const folded = foldSnapshot(snap);
    expect(folded.effective).to.deep.equal(asAgentSees(rsop));
    expect(folded.effective).to.deep.equal(effectiveOf(snap));
    expect(folded.rules).to.deep.equal(rulesFromSources(snap.sources));
    const collection = folded.effective.find((p) => p.id === 'ClientDataCollection');
    expect(collection).to.include({ state: 'enabled', source: gpos.Ou!.guid });
    expect(collection!.values).to.include({ CollectorHost: 'ou.corp.example.test' });
    expect(folded.effective.find((p) => p.id === 'OfflinePasscodes')).to.include({ state: 'enabled', source: gpos.Forced!.guid });
    expect(folded.rules.rules.map((r) => [r.name, r.source])).to.deep.equal([
      ['tool-mfa', gpos.Top!.guid],
      ['tool-approval', gpos.Ou!.guid],
      ['no-net-admins', gpos.Ou!.guid],
    ]);
  });

  it('`ascend rules test --rsop-computer` decides as the agent decides from its fold', async function () {
    requireBuiltCli();
    const folded = foldSnapshot(await new DomainPolicy(settings, {}).load());
    const env = cliEnv(tmp, { ASCEND_LDAP_URL: dc.url, ASCEND_LDAP_USER: settings.user, ASCEND_LDAP_PASSWORD_FILE: passwordFile, ASCEND_LDAP_TLS_INSECURE: '1', ASCEND_SYSVOL: dc.smbUrl });
    const cases: { flags: string[]; request: DecisionRequest }[] = [
      { flags: ['--app', 'C:\\Tools\\tool.exe'], request: { user: 'CORP\\bob', groups: [], computer, collections: [], path: 'C:\\Tools\\tool.exe', tseActive: false } },
      {
        flags: ['--app', 'C:\\Windows\\System32\\net.exe', '--args', 'localgroup administrators bob /add', '--tse-active'],
        request: { user: 'CORP\\bob', groups: [], computer, collections: [], path: 'C:\\Windows\\System32\\net.exe', args: 'localgroup administrators bob /add', tseActive: true },
      },
      { flags: ['--app', 'C:\\Other\\x.exe'], request: { user: 'CORP\\bob', groups: [], computer, collections: [], path: 'C:\\Other\\x.exe', tseActive: false } },
    ];
    const seen: string[] = [];
    for (const c of cases) {
      const r = ascend(['rules', 'test', '--rsop-computer', computer, '--user', 'CORP\\bob', '--computer', computer, ...c.flags, '--json'], env);
      expect(r.status, r.stderr).to.equal(0);
      const agent = decide(compileRules(folded.rules.rules), c.request);
      expect({ decision: r.json.decision, controls: r.json.controls, matchedRules: r.json.matchedRules, reason: r.json.reason }).to.deep.equal({
        decision: agent.decision,
        controls: agent.controls,
        matchedRules: agent.matchedRules,
        reason: agent.reason,
      });
      seen.push(agent.decision);
    }
    // The cases reach every kind of answer, so the comparison means something.
    expect(seen).to.deep.equal(['allow', 'deny', 'not-elevated']);
  });

  it('a damaged Registry.pol: the one answer names it; the RSoP fails on it and the agent leaves that GPO out', async () => {
    const bad = await make('Bad', [['ClientDataCollection', 'enabled', { CollectorHost: 'bad.corp.example.test' }]]);
    await admin.link(bad.guid, machines);
    await store.write([...gpoSysvolPath(bad.guid, dc.dnsDomain), 'Machine', 'Registry.pol'], Buffer.from('PReg\x01\x00\x00\x00[garbage', 'latin1'));
    try {
      const one = await resolveAppliedGpos(dir, store, computer, 'computer');
      expect(ours(one.applied.map((g) => g.guid)), 'a new link goes last in its container: lowest precedence there').to.deep.equal(['Top', 'Bad', 'Ou', 'Forced']);
      expect(ours(one.sources.map((s) => s.source))).to.deep.equal(['Top', 'Ou', 'Forced']);
      expect(one.damaged.map((d) => [d.gpo.guid, d.error.code.startsWith('ASC_POL_')])).to.deep.equal([[bad.guid, true]]);
      const code = one.damaged[0]!.error.code;
      await expectCode(resolveRsop(dir, store, ASCEND_CATALOG, computer, 'computer'), code);
      const snap = await new DomainPolicy(settings, {}).load();
      expect(plain(snap.sources)).to.deep.equal(plain((await asTheMachine()).sources));
      expect(snap.problems.some((p) => p.includes(bad.guid) && p.includes('was left out'))).to.equal(true);
    } finally {
      await admin.unlink(bad.guid, machines).catch(() => undefined);
    }
  });
});

describe('one readPolFile (src/local-policy) for the CLI and the agent', () => {
  let tmp: string;
  before(async () => {
    tmp = await fs.mkdtemp(path.join(tmpdir(), 'ascend-one-pol-'));
  });
  after(async () => {
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it("the agent's local source reads a file as the CLI reads it (the same function, through the root-only opener)", async function () {
    requireComponent(this, process.getuid?.() === 0, "root (the agent reads only files root alone can change)", 'run the tests as root');
    const file = path.join(tmp, 'a.pol');
    await fs.writeFile(file, writeRegistryPol([polEntry.dword('Software\\Policies\\Ascend\\PrivilegeManager\\ClientDeployment', 'AllowOfflinePasscodes', 1)]));
    const snap = await new LocalPolicyFiles([file]).load();
    expect(plain(snap.sources)).to.deep.equal(plain([{ source: file, entries: await readPolFile(file) }]));
  });

  it('a FIFO in the place of a file is refused at once, not waited on', async () => {
    const fifo = path.join(tmp, 'fifo.pol');
    execFileSync('mkfifo', [fifo]);
    await expectCode(readPolFile(fifo), 'ASC_FILE_UNREADABLE');
  });

  it('the opener decides how the file is opened: its refusal passes through, a missing file is ASC_FILE_NOT_FOUND naming it', async () => {
    const refusal = new AscendError('ASC_AGENT_CONFIG', 'refused by the opener');
    expect(await readPolFile(path.join(tmp, 'x.pol'), { open: () => Promise.reject(refusal) }).catch((e: unknown) => e)).to.equal(refusal);
    const missing = path.join(tmp, 'missing.pol');
    const e = await expectCode(readPolFile(missing), 'ASC_FILE_NOT_FOUND');
    expect(e.message).to.equal(`${missing}: no such file`);
  });

  it('a file over the size cap is refused before it is read', async () => {
    const file = path.join(tmp, 'big.pol');
    await fs.writeFile(file, Buffer.alloc(64));
    await expectCode(readPolFile(file, { maxBytes: 63 }), 'ASC_POL_TOO_LARGE');
  });
});
