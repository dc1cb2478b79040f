/**
 * Issue 19, Deliver 3: `ascend rules suggest` (the built CLI, a child process) against a real
 * collector over TLS in this process. Discovered runs go in through the collector's real
 * POST /api/v1/events from an enrolled agent (and, for the paging case, straight into the
 * store); the CLI reads the Discovery report, following its cursors, and writes rules into a
 * local policy file with --apply, which `rules lint` and `rules test` then read.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/collector/server/index.js';
import { type CollectorEventInput, SqliteStore } from '../../src/collector/storage/index.js';
import { REPORT_PAGE_MAX } from '../../src/collector-api/reports.js';
import { testTls } from '../support/tls.js';
import { type ChildRun, runChild } from '../support/run-child.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RUN = join(ROOT, 'bin', 'run.js');
const NOW = Date.now();
const WHOAMI = '/usr/bin/whoami';
const sha256Of = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

type Run = ChildRun;

describe('ascend rules suggest (built CLI, real collector)', function () {
  this.timeout(180_000);
  let dir: string;
  let app: FastifyInstance;
  let server: string[];
  let caFile: string;
  let credential: string;
  let store: SqliteStore;

  /** The built CLI; an args list starting with 'sh' runs in a private mount namespace (unshare -m) instead. */
  function ascend(args: string[], extra: string[] = server): Promise<Run> {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ASCEND_CA_FILE: caFile };
    delete env.ASCEND_TOKEN_FILE;
    const [cmd, argv] = args[0] === 'sh' ? ['unshare', ['-m', '--propagation', 'private', ...args, ...extra]] : [process.execPath, [RUN, ...args, ...extra]];
    return runChild(cmd as string, argv as string[], { cwd: dir, env, timeoutMs: 120_000 });
  }

  let seq = 0;
  function discovered(user: string, processPath: string, args: string, extra: { publisher?: string; sha256?: string; result?: string; time?: number } = {}): CollectorEventInput {
    seq++;
    return {
      id: `s${seq}`,
      type: 'elevation-discovered',
      time: extra.time ?? NOW - 3_600_000 + seq,
      user,
      processPath,
      args,
      result: extra.result ?? 'no-rule',
      data: { runAs: 'root', cwd: '/root', source: 'journal', sha256: extra.sha256 ?? '1'.repeat(64), ...(extra.publisher !== undefined ? { publisher: extra.publisher } : {}) },
    } as CollectorEventInput;
  }

  async function post(events: CollectorEventInput[]): Promise<void> {
    const r = await app.inject({ method: 'POST', url: '/api/v1/events', headers: { authorization: `Bearer ${credential}` }, payload: { events } });
    expect(r.statusCode, r.body).to.equal(200);
  }

  before(async function () {
    if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'commands', 'rules', 'suggest.js'))) throw new Error('the CLI is not built: run "npm run build"');
    dir = mkdtempSync(join(tmpdir(), 'ascend-h19c-suggest-'));
    store = await SqliteStore.open(join(dir, 'data'));
    const tls = await testTls(join(dir, 'data'));
    caFile = tls.caFile;
    app = buildServer({ store, ...tls.serverOptions });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
    const tokenFile = join(dir, 'viewer-token');
    writeFileSync(tokenFile, `${(await store.createApiToken('viewer', 'suggest')).token}\n`, { mode: 0o600 });
    server = ['--server', `https://127.0.0.1:${addr.port}`, '--token-file', tokenFile];
    const { token } = await store.createEnrollmentToken({ uses: 1 });
    const r = await app.inject({ method: 'POST', url: '/api/v1/enroll', payload: { enrollmentToken: token, computer: 'SUG-PC1' } });
    credential = (r.json() as { credential: string }).credential;
    await post([
      discovered('CORP\\ann', '/usr/bin/systemctl', 'restart nginx', { publisher: 'deb:systemd' }),
      discovered('CORP\\bob', '/usr/bin/systemctl', 'restart ssh', { publisher: 'deb:systemd' }),
      discovered('CORP\\bob', '/usr/bin/systemctl', 'mask cups', { publisher: 'deb:systemd' }),
      discovered('CORP\\ann', WHOAMI, '', { publisher: 'deb:coreutils', sha256: sha256Of(WHOAMI) }),
      discovered('CORP\\ann', '/usr/bin/vim', '/etc/hosts', { publisher: 'deb:vim' }),
      discovered('CORP\\ann', '/opt/tool/run', 'go', { sha256: 'a'.repeat(64) }),
      discovered('CORP\\ann', '/opt/tool/run', 'go', { sha256: 'b'.repeat(64) }),
      // Already allowed by the rules the agent had: left out.
      discovered('CORP\\ann', '/usr/bin/id', '', { result: 'would-allow' }),
      // Older than --since 30d.
      discovered('CORP\\old', '/usr/bin/uptime', '', { time: NOW - 40 * 86_400_000 }),
    ]);
  });

  after(async () => {
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  interface Suggested {
    index: number;
    rule: { name: string; match: Record<string, string> };
    risky: boolean;
    runs: number;
    users: number;
    computers: number;
    basis: string;
    hashes: number;
    notes: string[];
  }

  it('--json: one rule per program and subcommand, publisher or hash, counts, risk; nothing older than --since or already allowed', async () => {
    const r = await ascend(['rules', 'suggest', '--json']);
    expect(r.status, r.stderr).to.equal(0);
    const body = JSON.parse(r.stdout) as { runs: number; suggestions: Suggested[]; skippedCovered: number };
    expect(body.runs).to.equal(8);
    expect(body.skippedCovered).to.equal(1);
    const by = (args: string, path = '/usr/bin/systemctl') => body.suggestions.find((s) => s.rule.match.path === path && s.rule.match.args === args);
    expect(by('restart *')).to.deep.include({ runs: 2, users: 2, computers: 1, basis: 'publisher', risky: true });
    expect(by('restart *')?.rule.match.publisher).to.equal('deb:systemd');
    expect(by('mask cups')).to.deep.include({ runs: 1, risky: false });
    expect(by('', WHOAMI)).to.deep.include({ basis: 'publisher', risky: false });
    expect(by('/etc/hosts', '/usr/bin/vim')?.risky).to.equal(true);
    const tool = by('go', '/opt/tool/run');
    expect(tool).to.deep.include({ basis: 'sha256', hashes: 2 });
    expect(tool?.rule.match.sha256).to.equal('b'.repeat(64));
    expect(body.suggestions.map((s) => s.rule.match.path)).to.not.include.members(['/usr/bin/id', '/usr/bin/uptime']);
    expect((await ascend(['rules', 'suggest', '--json', '--since', '60d'])).stdout).to.include('/usr/bin/uptime');
  });

  it('table: the suggestions with their risk, the counts line and the notes; --min-users and --computer filter', async () => {
    const r = await ascend(['rules', 'suggest', '--max-width', '80']);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/discovered-systemctl-restart +\/usr\/bin\/systemctl +restart \* +deb:systemd +2 +2 +1 +RISKY: shell/);
    expect(r.stdout, r.stdout).to.match(/\(8 runs since .*; 5 suggestions, 2 risky; left out: 1 already allowed/);
    expect(r.stdout).to.match(/2 different SHA-256 values/);
    const two = JSON.parse((await ascend(['rules', 'suggest', '--json', '--min-users', '2'])).stdout) as { suggestions: Suggested[] };
    expect(two.suggestions.map((s) => s.rule.match.args)).to.deep.equal(['restart *']);
    const none = JSON.parse((await ascend(['rules', 'suggest', '--json', '--computer', 'OTHER-*'])).stdout) as { runs: number; suggestions: Suggested[] };
    expect(none).to.deep.include({ runs: 0, suggestions: [] });
  });

  it('--apply refuses to write without a terminal or --yes, and a --select it does not know', async () => {
    const pol = join(dir, 'refused.pol');
    const r = await ascend(['rules', 'suggest', '--apply', '--policy', pol]);
    expect(r.status).to.not.equal(0);
    expect(r.stderr.trimEnd().split('\n')).to.have.length(1);
    expect(r.stderr).to.match(/without a terminal.*--yes/);
    expect(existsSync(pol)).to.equal(false);
    const bad = await ascend(['rules', 'suggest', '--apply', '--policy', pol, '--yes', '--select', 'nope']);
    expect(bad.status).to.not.equal(0);
    expect(bad.stderr).to.match(/--select: no suggestion "nope"/);
    expect(existsSync(pol)).to.equal(false);
    const noTarget = await ascend(['rules', 'suggest', '--apply']);
    expect(noTarget.stderr).to.match(/--apply needs --gpo or --policy/);
    // --json shows no table: it never asks about (or writes) rules nobody saw without --yes.
    const json = await ascend(['rules', 'suggest', '--apply', '--policy', pol, '--json']);
    expect(json.status).to.not.equal(0);
    expect(json.stdout + json.stderr).to.match(/--json with --apply shows no rules before writing them/);
    expect(existsSync(pol)).to.equal(false);
  });

  it('--apply --yes writes the rules that are not risky; they lint clean, and rules test allows the package file and refuses a modified copy', async () => {
    const pol = join(dir, 'applied.pol');
    const r = await ascend(['rules', 'suggest', '--apply', '--policy', pol, '--yes', '--json']);
    expect(r.status, r.stderr).to.equal(0);
    const body = JSON.parse(r.stdout) as { applied: { rules: string[] }; suggestions: Suggested[] };
    const safe = body.suggestions.filter((s) => !s.risky).map((s) => s.rule.name);
    expect(body.applied.rules).to.deep.equal(safe);
    const listed = JSON.parse((await ascend(['rules', 'list', '--policy', pol, '--json'], [])).stdout) as { rules: { name: string }[] };
    expect(listed.rules.map((x) => x.name).sort()).to.deep.equal([...safe].sort());
    const lint = await ascend(['rules', 'lint', '--policy', pol, '--fail-on', 'high'], []);
    expect(lint.status, lint.stdout + lint.stderr).to.equal(0);

    const test = async (app: string, args: string, more: string[] = []): Promise<string> => {
      const t = await ascend(['rules', 'test', '--policy', pol, '--user', 'CORP\\ann', '--computer', 'SUG-PC1', '--app', app, `--args=${args}`, '--json', ...more], []);
      expect(t.status, t.stderr).to.equal(0);
      return (JSON.parse(t.stdout) as { decision: string }).decision;
    };
    // whoami is coreutils' file, unmodified: its package is looked up in this machine's dpkg database.
    expect(await test(WHOAMI, '')).to.equal('allow');
    expect(await test('/usr/bin/systemctl', 'mask cups', ['--deb-publisher', 'deb:systemd'])).to.equal('allow');
    expect(await test('/usr/bin/systemctl', 'mask cron', ['--deb-publisher', 'deb:systemd'])).to.equal('not-elevated');
    // A modified copy: not dpkg's file any more, so not the package's publisher.
    const copy = join(dir, 'whoami');
    copyFileSync(WHOAMI, copy);
    writeFileSync(copy, Buffer.concat([readFileSync(copy), Buffer.from('modified')]));
    // rules test in a private mount namespace where /usr/bin/whoami is that copy: dpkg's checksum fails.
    const inNs = await ascend(['sh', '-c', 'mount --bind "$1" "$2" && shift 2 && exec "$@"', 'sh', copy, WHOAMI, process.execPath, RUN, 'rules', 'test', '--policy', pol, '--user', 'CORP\\ann', '--computer', 'SUG-PC1', '--app', WHOAMI, '--args=', '--json'], []);
    expect(inNs.status, inNs.stderr).to.equal(0);
    expect(JSON.parse(inNs.stdout)).to.deep.include({ decision: 'not-elevated' });
    expect(JSON.parse(inNs.stdout).debPublisher).to.equal(undefined);
    // The hash-pinned rule allows its hash only.
    expect(await test('/opt/tool/run', 'go', ['--sha256', 'b'.repeat(64)])).to.equal('allow');
    expect(await test('/opt/tool/run', 'go', ['--sha256', 'a'.repeat(64)])).to.equal('not-elevated');

    // Written again: the names exist now, nothing is written twice.
    const again = await ascend(['rules', 'suggest', '--apply', '--policy', pol, '--yes']);
    expect(again.status).to.not.equal(0);
    expect(again.stderr).to.match(/already/);
  });

  it('--select writes a risky rule only when named, with its findings as warnings', async () => {
    const pol = join(dir, 'selected.pol');
    const all = JSON.parse((await ascend(['rules', 'suggest', '--json'])).stdout) as { suggestions: Suggested[] };
    const vim = all.suggestions.find((s) => s.rule.match.path === '/usr/bin/vim') as Suggested;
    const r = await ascend(['rules', 'suggest', '--apply', '--policy', pol, '--yes', '--select', `${vim.index},discovered-systemctl-mask`]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/^Warning: high RISK_SHELL_ESCAPE/m);
    const listed = JSON.parse((await ascend(['rules', 'list', '--policy', pol, '--json'], [])).stdout) as { rules: { name: string }[] };
    expect(listed.rules.map((x) => x.name).sort()).to.deep.equal(['discovered-systemctl-mask', vim.rule.name].sort());
  });

  it(`follows the report's cursors past one page (${REPORT_PAGE_MAX} rows)`, async () => {
    const { token } = await store.createEnrollmentToken({ uses: 1 });
    const agent = (await store.enrollAgent(token, 'SUG-BULK')).agent.id;
    const bulk: CollectorEventInput[] = [];
    for (let i = 0; i < REPORT_PAGE_MAX + 20; i++) bulk.push({ ...discovered(`CORP\\u${i % 7}`, '/usr/bin/apt-get', `install pkg${i % 50}`), id: `b${i}` });
    await store.insertEvents(agent, bulk);
    const r = await ascend(['rules', 'suggest', '--json', '--computer', 'SUG-BULK']);
    expect(r.status, r.stderr).to.equal(0);
    const body = JSON.parse(r.stdout) as { runs: number; suggestions: Suggested[] };
    expect(body.runs).to.equal(REPORT_PAGE_MAX + 20);
    expect(body.suggestions.map((s) => [s.rule.match.args, s.runs, s.users])).to.deep.equal([['install *', REPORT_PAGE_MAX + 20, 7]]);
  });
});
