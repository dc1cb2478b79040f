/**
 * Collector ingestion benchmark (issue 5, DESIGN section 8): the real server, started as
 * `node bin/run.js server start --port 0` (the built CLI, so run `npm run build` first), fed
 * by simulated agents in another process (bench/collector-load.ts), for SQLite and for a real
 * PostgreSQL (Debian's server binaries, started for the run through test/support/postgres.ts
 * and stopped at the end). In the same run, a bare better-sqlite3 loop inserts the same kind
 * of rows into the same schema with the same pragmas (WAL, synchronous=FULL) and the same
 * batch per transaction: the ceiling the server is compared against.
 *
 * Per backend the load generator enrolls AGENTS agents over HTTP, then runs
 *   - a closed loop: each agent posts BATCH events, waits for the acknowledgement, posts the
 *     next (a warm-up, then ROUNDS timed rounds; the table shows the median round);
 *   - a paced open loop at PACED_RATE events/s: each agent sends PACED_BATCH events once per
 *     second at its own phase; latency counted from the scheduled send time.
 * Every acknowledgement is an HTTP 200 sent after the commit. At the end the server is
 * stopped (SIGTERM) and the number of stored events must equal the number acknowledged.
 *
 * Targets: >= 20,000 events/s durable on SQLite with 200 concurrent agents; p99 < 100 ms at
 * 2,000 events/s. The server runs with ASCEND_RATE_LIMIT=off so a per-credential limit does
 * not throttle the simulated agents; any HTTP 429 is counted and reported.
 *
 * Run with `npm run bench -- collector` or `npx tsx bench/collector.bench.ts`.
 * ASCEND_BENCH_COLLECTOR_PROFILE=DIR also writes the server's V8 CPU profiles to DIR.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { PostgresStore, SqliteStore } from '../src/collector/storage/index.js';
import { getTestPostgres, postgresAvailable, stopTestPostgres } from '../test/support/postgres.js';
import { type LoadConfig, makeEvent, type PhaseConfig, type PhaseResult } from './collector-load.js';
import { median, row } from './support.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const RUN = join(ROOT, 'bin', 'run.js');
const LOAD = join(HERE, 'collector-load.ts');

const AGENTS = 200;
/** Events per POST in the closed loop: an agent uploading a minute of a busy machine's events. */
const BATCH = 200;
const WARMUP_MS = 2_000;
const ROUNDS = 3;
const ROUND_MS = 7_000;
const PACED_BATCH = 10;
const PACED_PERIOD_MS = 1_000;
const PACED_MS = 10_000;
const PACED_RATE = (AGENTS * PACED_BATCH * 1000) / PACED_PERIOD_MS;
const BARE_ROUNDS = 3;
const TARGET_EVENTS_PER_S = 20_000;
const TARGET_P99_MS = 100;
const START_TIMEOUT_MS = 60_000;

const n = (x: number): string => Math.round(x).toLocaleString('en-US');
const fmtMs = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

interface RunningServer {
  proc: ChildProcess;
  url: string;
  adminToken: string;
  /** The last lines of its stderr (the pino log), for failure messages. */
  logTail: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** CPU time (user + system, ms) a process used so far, from /proc (Linux). */
function cpuMsOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ": state is field 0, utime 11, stime 12 (clock ticks, 100/s on Linux).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

async function startServer(data: string, database: string | undefined, label: string): Promise<RunningServer> {
  const profileDir = process.env.ASCEND_BENCH_COLLECTOR_PROFILE;
  const nodeArgs = profileDir ? ['--cpu-prof', '--cpu-prof-dir', resolve(profileDir), '--cpu-prof-name', `collector-${label}-${Date.now()}.cpuprofile`] : [];
  const args = [...nodeArgs, RUN, 'server', 'start', '--port', '0', '--data', data, ...(database ? ['--database', database] : [])];
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ASCEND_RATE_LIMIT: 'off' } });
  const logTail: string[] = [];
  let partial = '';
  proc.stderr?.on('data', (b: Buffer) => {
    const lines = (partial + b.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    logTail.push(...lines);
    if (logTail.length > 40) logTail.splice(0, logTail.length - 40);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => proc.once('exit', (code, signal) => done({ code, signal })));
  let stdout = '';
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`the ${label} server printed no URL in ${START_TIMEOUT_MS / 1000} s: ${logTail.join('\n')}`)), START_TIMEOUT_MS);
    proc.stdout?.on('data', (b: Buffer) => {
      stdout += b.toString('utf8');
      const m = /listening on (https?:\/\/\S+)/.exec(stdout);
      if (m?.[1] && /Bootstrap admin token/.test(stdout)) {
        clearTimeout(timer);
        done(m[1]);
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      fail(new Error(`the ${label} server exited ${String(code)} before listening: ${stdout} ${logTail.join('\n')}`));
    });
  });
  const adminToken = readFileSync(join(data, 'bootstrap-admin-token'), 'utf8').trim();
  return { proc, url, adminToken, logTail, exited };
}

async function stopServer(s: RunningServer): Promise<void> {
  if (s.proc.exitCode !== null || s.proc.signalCode !== null) return;
  s.proc.kill('SIGTERM');
  const timer = setTimeout(() => s.proc.kill('SIGKILL'), 30_000);
  const { code } = await s.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`the server exited ${String(code)} on SIGTERM: ${s.logTail.join('\n')}`);
}

interface LoadOutcome {
  phases: (PhaseResult & { serverCpuMs: number })[];
}

/** Runs bench/collector-load.ts in its own node process against the server. */
async function runLoadProcess(server: RunningServer, cfg: LoadConfig): Promise<LoadOutcome> {
  const proc = spawn(process.execPath, ['--import', 'tsx', LOAD, JSON.stringify(cfg)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const phases: LoadOutcome['phases'] = [];
  let stderr = '';
  let failure: string | undefined;
  let partial = '';
  let cpuAtStart = Number.NaN;
  proc.stderr?.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  proc.stdout?.on('data', (b: Buffer) => {
    const lines = (partial + b.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('start ')) cpuAtStart = cpuMsOf(server.proc.pid);
      else if (line.startsWith('result ')) phases.push({ ...(JSON.parse(line.slice(7)) as PhaseResult), serverCpuMs: cpuMsOf(server.proc.pid) - cpuAtStart });
      else if (line.startsWith('error ')) failure = line.slice(6);
    }
  });
  const code = await new Promise<number | null>((done) => proc.once('exit', (c) => done(c)));
  if (code !== 0 || failure !== undefined) {
    throw new Error(`the load generator failed (exit ${String(code)}): ${failure ?? stderr.trim()}\nserver log tail:\n${server.logTail.slice(-10).join('\n')}`);
  }
  return { phases };
}

function loadConfig(server: RunningServer, runId: string): LoadConfig {
  const phases: PhaseConfig[] = [{ kind: 'closed', name: 'warm-up', batch: BATCH, durationMs: WARMUP_MS }];
  for (let i = 1; i <= ROUNDS; i++) phases.push({ kind: 'closed', name: `round ${i}`, batch: BATCH, durationMs: ROUND_MS });
  phases.push({ kind: 'paced', name: 'paced', batch: PACED_BATCH, periodMs: PACED_PERIOD_MS, durationMs: PACED_MS });
  return { url: server.url, adminToken: server.adminToken, agents: AGENTS, runId, phases };
}

interface BackendResult {
  label: string;
  rounds: PhaseResult[];
  paced: PhaseResult;
  all: (PhaseResult & { serverCpuMs: number })[];
  acked: number;
  storedReported: number;
  storedCounted: number;
  refused: Record<string, number>;
}

function summarizeBackend(label: string, load: LoadOutcome, storedCounted: number): BackendResult {
  const rounds = load.phases.filter((p) => p.name.startsWith('round '));
  const paced = load.phases.find((p) => p.kind === 'paced');
  if (paced === undefined || rounds.length !== ROUNDS) throw new Error(`${label}: the load generator reported ${load.phases.length} phases`);
  const refused: Record<string, number> = {};
  for (const p of load.phases) for (const [k, v] of Object.entries(p.refused)) refused[k] = (refused[k] ?? 0) + v;
  return {
    label,
    rounds,
    paced,
    all: load.phases,
    acked: load.phases.reduce((s, p) => s + p.ackedEvents, 0),
    storedReported: load.phases.reduce((s, p) => s + p.storedEvents, 0),
    storedCounted,
    refused,
  };
}

async function benchSqliteServer(runId: string, dirs: string[]): Promise<BackendResult> {
  const data = mkdtempSync(join(tmpdir(), 'ascend-bench-collector-'));
  dirs.push(data);
  const server = await startServer(data, undefined, 'sqlite');
  let load: LoadOutcome;
  try {
    load = await runLoadProcess(server, loadConfig(server, runId));
  } finally {
    await stopServer(server);
  }
  const store = await SqliteStore.open(data);
  try {
    return summarizeBackend('SQLite server', load, await store.countEvents());
  } finally {
    await store.close();
  }
}

async function benchPostgresServer(runId: string, dirs: string[]): Promise<BackendResult> {
  const ctx = {
    skip(): never {
      throw new Error('PostgreSQL is missing');
    },
  } as unknown as Mocha.Context;
  const pgServer = await getTestPostgres(ctx);
  const database = await pgServer.createDatabase('bench_collector');
  const data = mkdtempSync(join(tmpdir(), 'ascend-bench-collector-pg-'));
  dirs.push(data);
  const server = await startServer(data, database, 'postgres');
  let load: LoadOutcome;
  try {
    load = await runLoadProcess(server, loadConfig(server, runId));
  } finally {
    await stopServer(server);
  }
  const store = await PostgresStore.open(database);
  try {
    return summarizeBackend('PostgreSQL server', load, await store.countEvents());
  } finally {
    await store.close();
  }
}

interface BareResult {
  rounds: { events: number; ms: number; eventsPerSecond: number }[];
  eventsPerSecond: number;
  /** The same loop with one single-row INSERT per event instead of one multi-row INSERT per batch. */
  perRowEventsPerSecond: number;
  counted: number;
}

/**
 * The ceiling: better-sqlite3 on the collector's own schema (made by SqliteStore.open, agents
 * enrolled through the store), WAL + synchronous=FULL + foreign keys, one BEGIN IMMEDIATE ...
 * COMMIT per BATCH rows, the store's multi-row INSERT prepared once. The rows are
 * makeEvent()'s, spread over AGENTS agents like the load generator's; building them (and
 * JSON.stringify of the payload) is outside the timed part.
 */
async function benchBare(totalEvents: number, runId: string, dirs: string[]): Promise<BareResult> {
  const data = mkdtempSync(join(tmpdir(), 'ascend-bench-collector-bare-'));
  dirs.push(data);
  const store = await SqliteStore.open(data);
  const agentIds: string[] = [];
  const computers: string[] = [];
  try {
    const t = await store.createEnrollmentToken({ uses: AGENTS });
    for (let i = 0; i < AGENTS; i++) {
      const computer = `BARE-${String(i).padStart(4, '0')}`;
      agentIds.push((await store.enrollAgent(t.token, computer)).agent.id);
      computers.push(computer);
    }
  } finally {
    await store.close();
  }
  const db = new Database(join(data, 'collector.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    const values = Array.from({ length: BATCH }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
    const sql = `INSERT INTO events (agent_id, event_id, type, occurred_at, received_at, computer, user_name, passcode_id, session_id, payload) VALUES ${values} ON CONFLICT (agent_id, event_id) DO NOTHING`;
    const insertBatch = db.prepare(sql);
    const insertOne = db.prepare(
      'INSERT INTO events (agent_id, event_id, type, occurred_at, received_at, computer, user_name, passcode_id, session_id, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (agent_id, event_id) DO NOTHING',
    );
    const baseTime = Date.now();
    const seq = agentIds.map(() => 0);
    let nextAgent = 0;
    const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
    /** One batch of one agent, as the store's parameter list (10 per row). */
    const batchParams = (): (string | number | null)[] => {
      const agent = nextAgent;
      nextAgent = (nextAgent + 1) % AGENTS;
      const params: (string | number | null)[] = [];
      const now = Date.now();
      for (let k = 0; k < BATCH; k++) {
        const e = makeEvent(`${runId}-bare`, agent, seq[agent]!++, baseTime);
        params.push(agentIds[agent]!, e.id as string, e.type as string, e.time as number, now, computers[agent]!, str(e.user), str(e.passcodeId), str(e.sessionId), JSON.stringify(e));
      }
      return params;
    };
    const batchesPerRound = Math.max(1, Math.round(totalEvents / BATCH / BARE_ROUNDS));
    const rounds: BareResult['rounds'] = [];
    let inserted = 0;
    for (let r = 0; r < BARE_ROUNDS; r++) {
      let ms = 0;
      let events = 0;
      for (let b = 0; b < batchesPerRound; b++) {
        const params = batchParams();
        const t0 = performance.now();
        db.exec('BEGIN IMMEDIATE');
        events += insertBatch.run(...params).changes;
        db.exec('COMMIT');
        ms += performance.now() - t0;
      }
      inserted += events;
      rounds.push({ events, ms, eventsPerSecond: (events * 1000) / ms });
    }
    // A shorter pass of single-row INSERTs, to show what the multi-row statement buys.
    let perRowMs = 0;
    let perRowEvents = 0;
    for (let b = 0; b < Math.max(1, Math.round(batchesPerRound / 4)); b++) {
      const params = batchParams();
      const t0 = performance.now();
      db.exec('BEGIN IMMEDIATE');
      for (let k = 0; k < BATCH; k++) perRowEvents += insertOne.run(...params.slice(k * 10, k * 10 + 10)).changes;
      db.exec('COMMIT');
      perRowMs += performance.now() - t0;
    }
    inserted += perRowEvents;
    const counted = Number((db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n);
    if (counted !== inserted) throw new Error(`bare loop: ${inserted} inserted but ${counted} counted`);
    return { rounds, eventsPerSecond: median(rounds.map((r) => r.eventsPerSecond)), perRowEventsPerSecond: (perRowEvents * 1000) / perRowMs, counted };
  } finally {
    db.close();
  }
}

export async function run(): Promise<unknown> {
  const benchStart = performance.now();
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'commands', 'server', 'start.js'))) throw new Error('the CLI is not built: run "npm run build" first');
  const runId = randomBytes(4).toString('hex');
  const dirs: string[] = [];
  const problems: string[] = [];
  try {
    console.log(
      `  ${AGENTS} agents in another process; closed loop: batches of ${BATCH} events (~${n(JSON.stringify({ events: Array.from({ length: BATCH }, (_, i) => makeEvent('x', 0, i, Date.now())) }).length / 1024)} KiB), ` +
        `${WARMUP_MS / 1000} s warm-up + ${ROUNDS} x ${ROUND_MS / 1000} s; paced: ${AGENTS} agents x ${PACED_BATCH} events every ${PACED_PERIOD_MS / 1000} s = ${n(PACED_RATE)} events/s for ${PACED_MS / 1000} s`,
    );
    const sqlite = await benchSqliteServer(runId, dirs);
    const bare = await benchBare(sqlite.acked, runId, dirs);
    let postgres: BackendResult | undefined;
    if (postgresAvailable()) {
      try {
        postgres = await benchPostgresServer(runId, dirs);
      } finally {
        await stopTestPostgres();
      }
    } else {
      console.log('  PostgreSQL: skipped, the server binaries are missing (scripts/install-system-deps.sh)');
      if (process.env.CI === 'true') problems.push('PostgreSQL is missing under CI=true');
    }

    const servers = [sqlite, ...(postgres ? [postgres] : [])];
    for (const s of servers) {
      if (s.storedCounted !== s.acked) problems.push(`${s.label}: ${n(s.acked)} events acknowledged but ${n(s.storedCounted)} stored`);
      if (s.storedReported !== s.acked) problems.push(`${s.label}: the acknowledgements said ${n(s.storedReported)} new of ${n(s.acked)} (ids are unique)`);
      if (Object.keys(s.refused).length > 0) problems.push(`${s.label}: refused answers ${JSON.stringify(s.refused)} (retried)`);
    }

    // ---- report -----------------------------------------------------------------------
    const w = [30, 14, 9, 9, 16, 9, 9, 20];
    console.log('');
    console.log(row(['', 'closed ev/s', 'p50 ms', 'p99 ms', 'paced ev/s', 'p50 ms', 'p99 ms', 'stored = acked'], w));
    for (const s of servers) {
      const eps = median(s.rounds.map((r) => r.eventsPerSecond));
      console.log(
        row(
          [
            `${s.label} (median of ${ROUNDS})`,
            n(eps),
            fmtMs(median(s.rounds.map((r) => r.p50Ms))),
            fmtMs(median(s.rounds.map((r) => r.p99Ms))),
            `${n(s.paced.eventsPerSecond)} / ${n(PACED_RATE)}`,
            fmtMs(s.paced.p50Ms),
            fmtMs(s.paced.p99Ms),
            `${n(s.storedCounted)} ${s.storedCounted === s.acked ? '=' : '!='} ${n(s.acked)}`,
          ],
          w,
        ),
      );
    }
    console.log(row([`bare better-sqlite3 (median of ${BARE_ROUNDS})`, n(bare.eventsPerSecond), '', '', '', '', '', `${n(bare.counted)} rows`], w));
    console.log(row(['bare, one INSERT per row', n(bare.perRowEventsPerSecond), '', '', '', '', '', ''], w));
    const sqliteEps = median(sqlite.rounds.map((r) => r.eventsPerSecond));
    console.log(row(['SQLite server / bare', `${((sqliteEps / bare.eventsPerSecond) * 100).toFixed(0)} %`, '', '', '', '', '', ''], w));
    if (postgres) {
      const pgEps = median(postgres.rounds.map((r) => r.eventsPerSecond));
      console.log(row(['PostgreSQL server / bare SQLite', `${((pgEps / bare.eventsPerSecond) * 100).toFixed(0)} %`, '', '', '', '', '', ''], w));
    }
    console.log('');
    const eventsOk = sqliteEps >= TARGET_EVENTS_PER_S;
    console.log(`  target >= ${n(TARGET_EVENTS_PER_S)} ev/s SQLite ${AGENTS} agents: ${eventsOk ? 'MET' : 'NOT MET'} (${n(sqliteEps)} ev/s)`);
    const pacedOk = servers.every((s) => s.paced.p99Ms < TARGET_P99_MS);
    console.log(
      `  target p99 < ${TARGET_P99_MS} ms at ${n(PACED_RATE)} ev/s: ${pacedOk ? 'MET' : 'NOT MET'} (${servers.map((s) => `${s.label} ${fmtMs(s.paced.p99Ms)} ms`).join(', ')})`,
    );
    console.log('');
    for (const s of servers) {
      console.log(`  ${s.label}, every phase:`);
      for (const p of s.all) {
        console.log(
          `    ${p.name.padEnd(8)} ${n(p.ackedEvents).padStart(9)} events in ${(p.elapsedMs / 1000).toFixed(1)} s = ${n(p.eventsPerSecond).padStart(6)} ev/s; ` +
            `${n(p.requests)} requests, p50 ${fmtMs(p.p50Ms)} ms, p99 ${fmtMs(p.p99Ms)} ms, max ${fmtMs(p.maxMs)} ms; ` +
            `CPU: server ${(p.serverCpuMs / p.elapsedMs * 100).toFixed(0)} %, load generator ${(p.clientCpuMs / p.elapsedMs * 100).toFixed(0)} % of one core`,
        );
      }
    }
    console.log(`  bare rounds (ev/s): ${bare.rounds.map((r) => n(r.eventsPerSecond)).join(' ')}; ${n(bare.rounds[0]!.events)} events each`);
    if (problems.length === 0) console.log('  honesty: every acknowledged event is stored, once; no refused answers');
    else {
      for (const p of problems) console.log(`  !!! ${p}`);
      process.exitCode = 1;
    }
    return {
      sqlite: { eventsPerSecond: sqliteEps, rounds: sqlite.rounds, paced: sqlite.paced },
      postgres: postgres ? { eventsPerSecond: median(postgres.rounds.map((r) => r.eventsPerSecond)), rounds: postgres.rounds, paced: postgres.paced } : undefined,
      bare,
      targets: { eventsPerSecond: eventsOk, pacedP99: pacedOk },
      problems,
    };
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    console.log(`  whole bench: ${((performance.now() - benchStart) / 1000).toFixed(1)} s`);
  }
}

// Run directly: `npx tsx bench/collector.bench.ts`
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await run();
}
