/**
 * Load generator for bench/collector.bench.ts: simulated agents posting event batches to a
 * running collector, in its own process (so it does not share an event loop with the server
 * or with the bench). The bench starts it as
 *
 *   node --import tsx bench/collector-load.ts '<LoadConfig as JSON>'
 *
 * It enrolls `agents` agents through the HTTP API (one enrollment token with that many uses),
 * then runs the phases in order and prints one line per phase on stdout:
 *   `result {...PhaseResult}`; a failure prints `error <message>` and exits 1.
 *
 * Before a phase it prints `start <name>` (the bench samples the server's CPU time there).
 *
 * Phases:
 *   - closed loop: every agent posts a batch, waits for the acknowledgement, posts the next,
 *     until the phase's time is up (each agent finishes the request it has in flight). The
 *     latency is request start → HTTP 200 received.
 *   - paced (open loop): every agent sends one batch per period at its own phase (agent i at
 *     i·period/agents), so the total rate is agents·batch/period events/s. An agent whose
 *     previous batch is not yet acknowledged sends the next one as soon as it is; the latency
 *     is measured from the scheduled send time, so a slow server is not hidden (no
 *     coordinated omission).
 *
 * Every event id is unique in the run (`<runId>-a<agent>-<seq>`), so the events the server
 * must hold afterwards are exactly the acknowledged ones. makeEvent() is exported so the bench's
 * bare better-sqlite3 baseline inserts the very same rows.
 */
import http from 'node:http';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { prng } from './support.js';

export interface LoadConfig {
  url: string;
  adminToken: string;
  agents: number;
  runId: string;
  phases: PhaseConfig[];
}

export type PhaseConfig =
  | { kind: 'closed'; name: string; batch: number; durationMs: number }
  | { kind: 'paced'; name: string; batch: number; periodMs: number; durationMs: number };

export interface PhaseResult {
  name: string;
  kind: PhaseConfig['kind'];
  batch: number;
  /** Events in HTTP 200 answers. */
  ackedEvents: number;
  /** Sum of the `stored` fields of those answers (events that were new to the server). */
  storedEvents: number;
  requests: number;
  /** First request sent → last acknowledgement received. */
  elapsedMs: number;
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Non-200 answers by status, e.g. {"429": 3}. */
  refused: Record<string, number>;
  /** Paced phases: the rate asked for. */
  targetEventsPerSecond?: number;
  /** CPU time this load generator used during the phase (user + system). */
  clientCpuMs: number;
}

const USERS = 40;
const PROCESSES = [
  'C:\\Program Files\\Microsoft VS Code\\Code.exe',
  'C:\\Windows\\System32\\mmc.exe',
  'C:\\Program Files\\7-Zip\\7zFM.exe',
  'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
  'C:\\Tools\\Sysinternals\\procmon64.exe',
  'C:\\Program Files\\Git\\bin\\git.exe',
] as const;

/**
 * The seq-th event of agent `agent`: mostly process-elevated (the report's rows), the rest
 * the other kinds an agent reports during a TSE session. About 350 bytes of JSON each.
 */
export function makeEvent(runId: string, agent: number, seq: number, baseTime: number): Record<string, unknown> {
  const rnd = prng(agent * 1_000_003 + seq);
  const user = `CORP\\user${Math.floor(rnd() * USERS)}`;
  const session = `s-${agent}-${Math.floor(seq / 50)}`;
  const id = `${runId}-a${agent}-${seq}`;
  const time = baseTime + seq * 37;
  const pick = rnd();
  if (pick < 0.7) {
    const processPath = PROCESSES[Math.floor(rnd() * PROCESSES.length)] as string;
    return {
      id,
      type: 'process-elevated',
      time,
      user,
      passcodeId: `pc-${(agent * 7 + Math.floor(seq / 50)) % 500}`,
      sessionId: session,
      processPath,
      args: `--profile ${Math.floor(rnd() * 1e6)} --log C:\\Users\\user\\AppData\\Local\\Temp\\run-${seq}.log`,
      elevatedBy: 'tse',
      pid: 1000 + Math.floor(rnd() * 60000),
    };
  }
  if (pick < 0.85) {
    return { id, type: 'policy-applied', time, policy: 'TemporarySessionElevation', result: 'ok', data: { gpo: '{31B2F340-016D-11D2-945F-00C04FB984F9}', version: 42 } };
  }
  if (pick < 0.95) {
    return { id, type: 'passcode-redeemed', time, user, passcodeId: `pc-${agent % 500}`, sessionId: session, passcodeTitle: 'Helpdesk ticket INC0012345' };
  }
  return { id, type: 'session-ended', time, user, sessionId: session, reason: 'logoff', processIds: [4120, 5532, 7788] };
}

/** The percentile p (0..100) of sorted values, nearest rank. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

interface Reply {
  status: number;
  body: string;
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

function post(url: URL, path: string, token: string | undefined, body: string): Promise<Reply> {
  return new Promise((done, fail) => {
    const req = http.request(
      {
        agent: keepAlive,
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', fail);
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

async function enroll(url: URL, cfg: LoadConfig): Promise<string[]> {
  const t = await post(url, '/api/v1/enroll-tokens', cfg.adminToken, JSON.stringify({ uses: cfg.agents }));
  if (t.status !== 201) throw new Error(`enroll-tokens answered ${t.status}: ${t.body}`);
  const token = (JSON.parse(t.body) as { token: string }).token;
  const credentials: string[] = new Array<string>(cfg.agents);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < cfg.agents; i = next++) {
      const r = await post(url, '/api/v1/enroll', undefined, JSON.stringify({ enrollmentToken: token, computer: `BENCH-${cfg.runId}-${String(i).padStart(4, '0')}` }));
      if (r.status !== 201) throw new Error(`enroll answered ${r.status}: ${r.body}`);
      credentials[i] = (JSON.parse(r.body) as { credential: string }).credential;
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return credentials;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

class Agents {
  readonly seq: number[];
  readonly baseTime = Date.now();

  constructor(
    readonly url: URL,
    readonly cfg: LoadConfig,
    readonly credentials: readonly string[],
  ) {
    this.seq = credentials.map(() => 0);
  }

  body(agent: number, n: number): string {
    const events: Record<string, unknown>[] = [];
    for (let k = 0; k < n; k++) events.push(makeEvent(this.cfg.runId, agent, this.seq[agent]!++, this.baseTime));
    return JSON.stringify({ events });
  }

  /** Posts one batch until it is acknowledged; a 429 is counted and the batch is retried after a pause. */
  async send(agent: number, body: string, tally: Tally): Promise<{ stored: number }> {
    for (;;) {
      const r = await post(this.url, '/api/v1/events', this.credentials[agent], body);
      if (r.status === 200) return JSON.parse(r.body) as { stored: number };
      tally.refused[r.status] = (tally.refused[r.status] ?? 0) + 1;
      if (r.status !== 429 && r.status !== 503) throw new Error(`agent ${agent}: events answered ${r.status}: ${r.body.slice(0, 300)}`);
      const retryAfter = Number(/"retryAfter"\s*:\s*(\d+)/.exec(r.body)?.[1] ?? 0);
      await sleep(Math.min(1000, Math.max(50, retryAfter * 1000)));
    }
  }
}

interface Tally {
  acked: number;
  stored: number;
  requests: number;
  latencies: number[];
  refused: Record<string, number>;
  first: number;
  last: number;
}

function newTally(): Tally {
  return { acked: 0, stored: 0, requests: 0, latencies: [], refused: {}, first: Number.POSITIVE_INFINITY, last: 0 };
}

function summarize(phase: PhaseConfig, t: Tally, cpu: NodeJS.CpuUsage, target?: number): PhaseResult {
  const used = process.cpuUsage(cpu);
  const sorted = [...t.latencies].sort((a, b) => a - b);
  const elapsedMs = t.last - t.first;
  return {
    name: phase.name,
    kind: phase.kind,
    batch: phase.batch,
    ackedEvents: t.acked,
    storedEvents: t.stored,
    requests: t.requests,
    elapsedMs,
    eventsPerSecond: elapsedMs > 0 ? (t.acked * 1000) / elapsedMs : 0,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.at(-1) ?? Number.NaN,
    refused: t.refused,
    clientCpuMs: (used.user + used.system) / 1000,
    ...(target === undefined ? {} : { targetEventsPerSecond: target }),
  };
}

async function closedLoop(a: Agents, phase: Extract<PhaseConfig, { kind: 'closed' }>): Promise<PhaseResult> {
  const t = newTally();
  const cpu = process.cpuUsage();
  const start = performance.now();
  const end = start + phase.durationMs;
  t.first = start;
  await Promise.all(
    a.credentials.map(async (_c, agent) => {
      while (performance.now() < end) {
        const body = a.body(agent, phase.batch);
        const t0 = performance.now();
        const r = await a.send(agent, body, t);
        const t1 = performance.now();
        t.latencies.push(t1 - t0);
        t.acked += phase.batch;
        t.stored += r.stored;
        t.requests++;
        if (t1 > t.last) t.last = t1;
      }
    }),
  );
  return summarize(phase, t, cpu);
}

async function paced(a: Agents, phase: Extract<PhaseConfig, { kind: 'paced' }>): Promise<PhaseResult> {
  const t = newTally();
  const cpu = process.cpuUsage();
  const n = a.credentials.length;
  const start = performance.now() + 50;
  const end = start + phase.durationMs;
  t.first = start;
  await Promise.all(
    a.credentials.map(async (_c, agent) => {
      for (let k = 0; ; k++) {
        const scheduled = start + (agent * phase.periodMs) / n + k * phase.periodMs;
        if (scheduled >= end) return;
        await sleep(scheduled - performance.now());
        const body = a.body(agent, phase.batch);
        const r = await a.send(agent, body, t);
        const t1 = performance.now();
        t.latencies.push(t1 - scheduled);
        t.acked += phase.batch;
        t.stored += r.stored;
        t.requests++;
        if (t1 > t.last) t.last = t1;
      }
    }),
  );
  return summarize(phase, t, cpu, (n * phase.batch * 1000) / phase.periodMs);
}

export async function runLoad(cfg: LoadConfig, onStart: (name: string) => void, onResult: (r: PhaseResult) => void): Promise<void> {
  const url = new URL(cfg.url);
  const credentials = await enroll(url, cfg);
  const agents = new Agents(url, cfg, credentials);
  for (const phase of cfg.phases) {
    onStart(phase.name);
    onResult(phase.kind === 'closed' ? await closedLoop(agents, phase) : await paced(agents, phase));
  }
  keepAlive.destroy();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const arg = process.argv[2];
  if (arg === undefined) {
    process.stderr.write("usage: node --import tsx bench/collector-load.ts '<config JSON>'\n");
    process.exit(2);
  }
  try {
    await runLoad(
      JSON.parse(arg) as LoadConfig,
      (name) => process.stdout.write(`start ${name}\n`),
      (r) => process.stdout.write(`result ${JSON.stringify(r)}\n`),
    );
  } catch (e) {
    process.stdout.write(`error ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
