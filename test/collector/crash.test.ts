/**
 * kill -9 of the real collector process under load (issue 5): several agents post batches
 * with unique event ids over HTTPS; the server is SIGKILLed after some acknowledgements, then
 * restarted on the same data (same SQLite folder, or the same PostgreSQL database). Every
 * event whose HTTP 200 arrived must be stored exactly once. The batches that were in flight
 * when the server died (committed or not: the agent cannot know) are then resent, with one
 * batch already acknowledged per agent, and afterwards every sent id is stored exactly once
 * and nothing else is. The server is the built CLI: run `npm run build` first.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { type CollectorStore, PostgresStore, SqliteStore } from '../../src/collector/storage/index.js';
import { getTestPostgres } from '../support/postgres.js';
import { type CaFetch, caFetch } from '../support/tls.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RUN = join(ROOT, 'bin', 'run.js');

const AGENTS = 6;
const BATCH = 40;
/** SIGKILL once this many events are acknowledged (all agents are posting by then). */
const KILL_AFTER = 3_000;
/** Requests over TLS trusting the collector's generated CA (DATA/tls/ca.pem, kept across the restart). */
let tlsFetch: CaFetch | undefined;

interface Server {
  proc: ChildProcess;
  url: string;
  log: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startServer(data: string, database: string | undefined): Promise<Server> {
  const args = [RUN, 'server', 'start', '--port', '0', '--data', data, ...(database ? ['--database', database] : [])];
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ASCEND_RATE_LIMIT: 'off', ASCEND_LOG_LEVEL: 'warn' },
  });
  const log: string[] = [];
  proc.stderr?.on('data', (b: Buffer) => log.push(b.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => proc.once('exit', (code, signal) => done({ code, signal })));
  let stdout = '';
  const url = await new Promise<string>((done, fail) => {
    proc.stdout?.on('data', (b: Buffer) => {
      stdout += b.toString('utf8');
      const m = /listening on (https:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (m?.[1] && /Bootstrap admin token/.test(stdout)) done(m[1]);
    });
    void exited.then(({ code, signal }) => fail(new Error(`the server exited (${String(code ?? signal)}) before listening: ${stdout} ${log.join('')}`)));
  });
  tlsFetch = caFetch(readFileSync(join(data, 'tls', 'ca.pem'), 'utf8'));
  return { proc, url, log, exited };
}

async function postJson(url: string, path: string, token: string | undefined, body: unknown): Promise<{ status: number; json: unknown }> {
  if (tlsFetch === undefined) throw new Error('no collector started');
  const res = await tlsFetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

interface Agent {
  id: string;
  credential: string;
}

interface Batch {
  agent: number;
  ids: string[];
}

function batchEvents(b: Batch): Record<string, unknown>[] {
  return b.ids.map((id, i) => ({ id, type: 'process-elevated', time: 1_770_000_000_000 + i, user: 'CORP\\alice', processPath: 'C:\\Tools\\tool.exe', sessionId: `s-${b.agent}` }));
}

/** Counts every stored event id per agent. */
async function storedIds(store: CollectorStore, agents: readonly Agent[]): Promise<Map<string, number>[]> {
  const out: Map<string, number>[] = [];
  for (const a of agents) {
    const counts = new Map<string, number>();
    for (const e of await store.listEvents(a.id)) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
    out.push(counts);
  }
  return out;
}

function crashSuite(name: string, setup: (ctx: Mocha.Context) => Promise<{ data: string; database?: string; open: () => Promise<CollectorStore> }>): void {
  describe(`collector kill -9 under load: ${name}`, function () {
    this.timeout(90_000);
    const dirs: string[] = [];
    const servers: Server[] = [];
    let env: { data: string; database?: string; open: () => Promise<CollectorStore> };

    before(async function () {
      if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'commands', 'server', 'start.js'))) throw new Error('the CLI is not built: run "npm run build"');
      env = await setup(this);
      dirs.push(env.data);
    });
    after(() => {
      for (const s of servers) if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGKILL');
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    });

    it('keeps every acknowledged event exactly once, and a resent in-flight batch once', async () => {
      const { data, database, open } = env;

      // --- first life: enroll, then load until KILL_AFTER events are acknowledged
      const first = await startServer(data, database);
      servers.push(first);
      const adminToken = readFileSync(join(data, 'bootstrap-admin-token'), 'utf8').trim();
      const tok = await postJson(first.url, '/api/v1/enroll-tokens', adminToken, { uses: AGENTS });
      expect(tok.status, JSON.stringify(tok.json)).to.equal(201);
      const agents: Agent[] = [];
      for (let i = 0; i < AGENTS; i++) {
        const r = await postJson(first.url, '/api/v1/enroll', undefined, { enrollmentToken: (tok.json as { token: string }).token, computer: `CRASH-${i}` });
        expect(r.status, JSON.stringify(r.json)).to.equal(201);
        const j = r.json as { agentId: string; credential: string };
        agents.push({ id: j.agentId, credential: j.credential });
      }

      const acked: Batch[] = [];
      const inFlight: Batch[] = [];
      const failures: string[] = [];
      let ackedEvents = 0;
      let killed = false;
      const kill = (): void => {
        if (killed) return;
        killed = true;
        first.proc.kill('SIGKILL');
      };
      const loops = agents.map(async (a, agent) => {
        for (let b = 0; ; b++) {
          const batch: Batch = { agent, ids: Array.from({ length: BATCH }, (_, i) => `a${agent}-b${b}-e${i}`) };
          let status: number;
          let json: unknown;
          try {
            ({ status, json } = await postJson(first.url, '/api/v1/events', a.credential, { events: batchEvents(batch) }));
          } catch {
            // The connection died with the server: committed or not, the agent cannot know.
            inFlight.push(batch);
            return;
          }
          if (status !== 200) {
            // Only possible in the last moments (e.g. 503 while closing); this batch too is unknown.
            if (!killed) failures.push(`agent ${agent} batch ${b}: HTTP ${status} ${JSON.stringify(json)}`);
            inFlight.push(batch);
            return;
          }
          expect((json as { accepted: number }).accepted).to.equal(BATCH);
          acked.push(batch);
          ackedEvents += BATCH;
          if (ackedEvents >= KILL_AFTER) kill();
        }
      });
      const died = await first.exited;
      await Promise.all(loops);
      expect(failures).to.deep.equal([]);
      expect(died.signal).to.equal('SIGKILL');
      expect(ackedEvents).to.be.at.least(KILL_AFTER);
      expect(inFlight.length, 'each agent ends with one unacknowledged batch').to.equal(AGENTS);

      // --- second life on the same data: every acknowledged id is there, once
      const second = await startServer(data, database);
      servers.push(second);
      const probe = await open();
      let afterRestart: Map<string, number>[];
      try {
        afterRestart = await storedIds(probe, agents);
      } finally {
        await probe.close();
      }
      const missing: string[] = [];
      for (const b of acked) for (const id of b.ids) if (afterRestart[b.agent]?.get(id) !== 1) missing.push(id);
      expect(missing, 'acknowledged events missing or duplicated after kill -9').to.deep.equal([]);
      // An in-flight batch is either all there or not at all (one transaction per request).
      for (const b of inFlight) {
        const present = b.ids.filter((id) => afterRestart[b.agent]?.has(id)).length;
        expect([0, BATCH], `in-flight batch of agent ${b.agent}: ${present} of ${BATCH} stored`).to.include(present);
      }

      // Resend the in-flight batches, and one acknowledged batch per agent: both idempotent.
      for (const b of inFlight) {
        const before = b.ids.filter((id) => afterRestart[b.agent]?.has(id)).length;
        const r = await postJson(second.url, '/api/v1/events', agents[b.agent]!.credential, { events: batchEvents(b) });
        expect(r.status, JSON.stringify(r.json)).to.equal(200);
        expect(r.json).to.deep.equal({ accepted: BATCH, stored: BATCH - before });
      }
      for (let agent = 0; agent < AGENTS; agent++) {
        const again = acked.find((b) => b.agent === agent);
        if (again === undefined) continue;
        const r = await postJson(second.url, '/api/v1/events', agents[agent]!.credential, { events: batchEvents(again) });
        expect(r.status, JSON.stringify(r.json)).to.equal(200);
        expect(r.json).to.deep.equal({ accepted: BATCH, stored: 0 });
      }

      second.proc.kill('SIGTERM');
      expect((await second.exited).code, second.log.join('')).to.equal(0);

      // --- after a clean stop: exactly the sent-and-acknowledged ids, each once
      const store = await open();
      let final: Map<string, number>[];
      try {
        final = await storedIds(store, agents);
      } finally {
        await store.close();
      }
      for (let agent = 0; agent < AGENTS; agent++) {
        const expected = new Set([...acked, ...inFlight].filter((b) => b.agent === agent).flatMap((b) => b.ids));
        const counts = final[agent]!;
        const wrong = [...expected].filter((id) => counts.get(id) !== 1);
        expect(wrong, `agent ${agent}: ids not stored exactly once`).to.deep.equal([]);
        const unexpected = [...counts.keys()].filter((id) => !expected.has(id));
        expect(unexpected, `agent ${agent}: ids stored that were never sent`).to.deep.equal([]);
      }
    });
  });
}

crashSuite('SQLite', async () => {
  const data = mkdtempSync(join(tmpdir(), 'ascend-crash-'));
  return { data, open: () => SqliteStore.open(data) };
});

crashSuite('PostgreSQL', async (ctx) => {
  const server = await getTestPostgres(ctx);
  const database = await server.createDatabase('crash');
  const data = mkdtempSync(join(tmpdir(), 'ascend-crash-pg-'));
  return { data, database, open: () => PostgresStore.open(database) };
});
