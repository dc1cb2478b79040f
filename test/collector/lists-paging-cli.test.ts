/**
 * Issue 18: the built CLI's list commands follow every cursor of the paged admin lists (the
 * whole list, as before paging), or print one page with --limit / --cursor and a last line
 * "(more: --cursor C)". A real collector over TLS in this process; the CLI is a child process.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/collector/server/index.js';
import { SqliteStore } from '../../src/collector/storage/index.js';
import { REPORT_PAGE_ROWS } from '../../src/collector-api/reports.js';
import { testTls } from '../support/tls.js';
import { type ChildRun, runChild } from '../support/run-child.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RUN = join(ROOT, 'bin', 'run.js');
const T0 = Date.parse('2026-06-02T08:00:00Z');
/** More passcodes than one default page holds. */
const PASSCODES = REPORT_PAGE_ROWS + 203;
const DELIVERIES = 7;

type Run = ChildRun;

describe('ascend server ... list follows the list cursors (built CLI)', function () {
  this.timeout(180_000);
  let dir: string;
  let app: FastifyInstance;
  let base: string[];
  let caFile: string;
  let store: SqliteStore;

  function ascend(args: string[]): Promise<Run> {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ASCEND_CA_FILE: caFile };
    delete env.ASCEND_TOKEN_FILE;
    return runChild(process.execPath, [RUN, ...args, ...base], { cwd: ROOT, env });
  }

  function ok(r: Run): Run {
    expect(r.status, r.stderr).to.equal(0);
    return r;
  }

  function oneLineError(r: Run, pattern: RegExp): void {
    expect(r.status, r.stderr).to.not.equal(0);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, r.stderr).to.have.length(1);
    expect(lines[0]).to.match(pattern);
    expect(r.stdout).to.equal('');
  }

  function marker(out: string): string {
    const last = out.trimEnd().split('\n').pop() as string;
    const m = /^\(more: --cursor ([A-Za-z0-9_.-]+)(, or --all)?\)$/.exec(last);
    expect(m, last).to.not.equal(null);
    return (m as RegExpExecArray)[1] as string;
  }

  before(async function () {
    if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'shared', 'list-pages.js'))) throw new Error('the CLI is not built (or is older than the list paging): run "npm run build"');
    dir = mkdtempSync(join(tmpdir(), 'ascend-h18e-cli-'));
    store = await SqliteStore.open(join(dir, 'data'));
    const tls = await testTls(join(dir, 'data'));
    caFile = tls.caFile;
    app = buildServer({ store, webhooks: false, ...tls.serverOptions });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
    const tokenFile = join(dir, 'admin-token');
    writeFileSync(tokenFile, `${(await store.createApiToken('admin', 'cli lists')).token}\n`, { mode: 0o600 });
    base = ['--server', `https://127.0.0.1:${addr.port}`, '--token-file', tokenFile];
    for (let i = 0; i < PASSCODES; i++) await store.registerPasscode({ id: `pc-${String(i).padStart(5, '0')}`, title: 'cli', maxUses: null, issuedAt: T0 + Math.floor(i / 3) });
    for (let i = 0; i < 3; i++) {
      const { token } = await store.createEnrollmentToken({ uses: 1 });
      const agent = (await store.enrollAgent(token, `CLI-L${i}`, T0)).agent.id;
      await store.createApprovalRequest(agent, { requestId: `cli-${i}`, user: 'CORP\\pat', processPath: 'z.exe' });
      await store.revokePasscode(`pc-0000${i}`, 'cli', T0 + i);
    }
    for (let i = 0; i < 3; i++) await store.createApiToken('viewer', `cli-viewer-${i}`, T0);
    const hooks = store.webhookStore();
    const hook = await hooks.add({ name: 'cli hook', url: 'https://hooks.example.invalid/x', events: ['approval.requested'], format: 'json', createdBy: 'test', seal: () => 'unused' }, T0);
    for (const n of [2, 3]) await hooks.add({ name: `cli hook ${n}`, url: 'https://hooks.example.invalid/y', events: ['agent.revoked'], format: 'json', createdBy: 'test', seal: () => 'unused' }, T0);
    for (let i = 0; i < DELIVERIES; i++) await hooks.enqueue({ key: `cli-${i}`, type: 'approval.requested', occurredAt: T0, data: {} }, { only: hook.id, now: T0 + i });
  });

  after(async () => {
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('server passcode list: the whole list over several pages (json and table), no "more" line', async () => {
    const json = JSON.parse(ok(await ascend(['server', 'passcode', 'list', '--json'])).stdout) as { passcodes: { id: string }[]; nextCursor: string | null };
    expect(json.passcodes).to.have.length(PASSCODES);
    expect(new Set(json.passcodes.map((p) => p.id)).size).to.equal(PASSCODES);
    expect(json.nextCursor).to.equal(null);
    const table = ok(await ascend(['server', 'passcode', 'list'])).stdout;
    expect(table.split('\n').filter((l) => /\bpc-\d{5}\b/.test(l))).to.have.length(PASSCODES);
    expect(table).to.not.include('(more:');
  });

  it('--limit prints one page and the cursor of the next; --cursor goes on from there; every row once', async () => {
    const first = ok(await ascend(['server', 'passcode', 'list', '--limit', '500']));
    expect(first.stdout.split('\n').filter((l) => /\bpc-\d{5}\b/.test(l))).to.have.length(500);
    marker(first.stdout);
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const r = ok(await ascend(['server', 'passcode', 'list', '--json', '--limit', '450', ...(cursor === null ? [] : ['--cursor', cursor])]));
      const body = JSON.parse(r.stdout) as { passcodes: { id: string }[]; nextCursor: string | null };
      ids.push(...body.passcodes.map((p) => p.id));
      cursor = body.nextCursor;
    } while (cursor !== null);
    expect(ids).to.have.length(PASSCODES);
    expect(new Set(ids).size).to.equal(PASSCODES);
    // The table's cursor is the same kind: the rest of the list after the first 500.
    const rest = JSON.parse(ok(await ascend(['server', 'passcode', 'list', '--json', '--cursor', marker(first.stdout)])).stdout) as { passcodes: { id: string }[] };
    expect(rest.passcodes[0]?.id).to.equal('pc-00500');
  });

  it('server agent|token|webhook|approval list and server revocations: the whole list; --limit 1 shows the marker', async () => {
    const agents = JSON.parse(ok(await ascend(['server', 'agent', 'list', '--json'])).stdout) as { agents: unknown[]; nextCursor: null };
    expect(agents.agents).to.have.length(3);
    expect(agents.nextCursor).to.equal(null);
    const tokens = JSON.parse(ok(await ascend(['server', 'token', 'list', '--json'])).stdout) as { tokens: unknown[] };
    expect(tokens.tokens).to.have.length(4);
    const hooks = JSON.parse(ok(await ascend(['server', 'webhook', 'list', '--json'])).stdout) as { webhooks: { name: string; deliveries: { pending: number } }[] };
    expect(hooks.webhooks).to.have.length(3);
    expect(hooks.webhooks.map((h) => [h.name, h.deliveries.pending])).to.have.deep.members([['cli hook', DELIVERIES], ['cli hook 2', 0], ['cli hook 3', 0]]);
    const approvals = JSON.parse(ok(await ascend(['server', 'approval', 'list', '--json'])).stdout) as { requests: unknown[] };
    expect(approvals.requests).to.have.length(3);
    const revocations = JSON.parse(ok(await ascend(['server', 'revocations', '--json', '--since', new Date(T0).toISOString()])).stdout) as { revocations: unknown[]; nextCursor: null };
    expect(revocations.revocations).to.have.length(3);
    expect(revocations.nextCursor).to.equal(null);
    for (const cmd of [['agent', 'list'], ['token', 'list'], ['webhook', 'list'], ['approval', 'list'], ['revocations']]) {
      const one = ok(await ascend(['server', ...cmd, '--limit', '1']));
      const c = marker(one.stdout);
      const next = JSON.parse(ok(await ascend(['server', ...cmd, '--json', '--limit', '1', '--cursor', c])).stdout) as { nextCursor: string | null };
      expect(next.nextCursor, cmd.join(' ')).to.be.a('string');
    }
  });

  it('server webhook deliveries: one page (newest first) with a marker, --all every page', async () => {
    const page = ok(await ascend(['server', 'webhook', 'deliveries', '--limit', '3']));
    expect(page.stdout.split('\n').filter((l) => l.includes('approval.requested'))).to.have.length(3);
    const c = marker(page.stdout);
    const next = JSON.parse(ok(await ascend(['server', 'webhook', 'deliveries', '--json', '--limit', '3', '--cursor', c])).stdout) as { deliveries: { createdAt: string }[] };
    expect(next.deliveries.map((d) => Date.parse(d.createdAt))).to.deep.equal([T0 + 3, T0 + 2, T0 + 1]);
    const all = JSON.parse(ok(await ascend(['server', 'webhook', 'deliveries', '--json', '--all', '--limit', '2'])).stdout) as { deliveries: { id: string }[]; nextCursor: string | null; more: boolean };
    expect(all.deliveries).to.have.length(DELIVERIES);
    expect(new Set(all.deliveries.map((d) => d.id)).size).to.equal(DELIVERIES);
    expect(all.nextCursor).to.equal(null);
    expect(all.more).to.equal(false);
  });

  it('a cursor that is not one, or of another list: one line, non-zero', async () => {
    oneLineError(await ascend(['server', 'passcode', 'list', '--cursor', 'not a cursor']), /--cursor is not a cursor/);
    const agentCursor = marker(ok(await ascend(['server', 'agent', 'list', '--limit', '1'])).stdout);
    oneLineError(await ascend(['server', 'passcode', 'list', '--cursor', agentCursor]), /not a cursor this collector gave out/);
    oneLineError(await ascend(['server', 'token', 'list', '--limit', '10001']), /10000/);
  });
});
