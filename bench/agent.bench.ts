/**
 * The agent at rest: resident memory and CPU of `ascend agent run` (the built CLI, as root)
 * with a local policy of 10,000 rules, sampled from /proc while nothing asks it anything,
 * after it has answered a few status requests. Targets: RSS under 50 MB (issue 16); idle CPU near 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ASCEND_CATALOG, requirePolicy } from '../src/catalog/index.js';
import { encodePolicyState } from '../src/policy/index.js';
import { writeRegistryPol } from '../src/formats/registry-pol/index.js';
import { ipcCall } from '../agent/ipc/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'run.js');
const IDLE_SECONDS = Number(process.env.ASCEND_BENCH_IDLE_SECONDS ?? 30);
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

export function policyWithRules(n: number): Uint8Array {
  const rules = [];
  for (let i = 0; i < n; i++) {
    rules.push({ name: `rule-${i}`, value: JSON.stringify({ action: 'allow', match: { path: `/opt/app${i}/bin/tool${i}` }, target: { groups: [`group${i % 50}`] }, controls: i % 3 === 0 ? ['justify'] : [] }) });
  }
  const entries = [
    ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'ElevationRules'), 'enabled', { Rules: rules }),
    ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'TemporarySessionElevation'), 'enabled', {}),
  ];
  return writeRegistryPol(entries);
}

export async function run(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('agent idle: skipped (the agent runs as root; run the bench as root)');
    return;
  }
  const tmp = mkdtempSync(path.join(tmpdir(), 'ascend-agent-bench-'));
  let agent: ChildProcess | undefined;
  try {
    const pol = path.join(tmp, 'Registry.pol');
    writeFileSync(pol, policyWithRules(10_000));
    const socket = path.join(tmp, 'agent.sock');
    agent = spawn(process.execPath, [BIN, 'agent', 'run', '--state-dir', path.join(tmp, 'state'), '--socket', socket, '--policy', pol, '--computer', 'BENCH-PC'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    agent.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    for (let i = 0; i < 300 && !/agent listening/.test(log); i++) await sleep(100);
    if (!/agent listening/.test(log)) throw new Error(`the agent did not start:\n${log}`);
    const pid = agent.pid as number;
    for (let i = 0; i < 20; i++) await ipcCall(socket, { op: 'status' } as never, {});
    await sleep(2000); // let start-up work settle
    const rss: number[] = [];
    const t0 = cpuTicks(pid);
    const started = process.hrtime.bigint();
    for (let s = 0; s < IDLE_SECONDS; s++) {
      await sleep(1000);
      rss.push(rssKiB(pid));
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpuSeconds = (cpuTicks(pid) - t0) / TICKS_PER_SECOND;
    const rssMb = median(rss) / 1024;
    const cpuPercent = (cpuSeconds / seconds) * 100;
    console.log(`agent idle (10,000 rules, ${IDLE_SECONDS} s sampled once a second after 20 status requests):`);
    console.log(`  RSS median ${rssMb.toFixed(1)} MB (min ${(Math.min(...rss) / 1024).toFixed(1)}, max ${(Math.max(...rss) / 1024).toFixed(1)})   target < 50 MB: ${rssMb < 50 ? 'MET' : 'NOT MET'}`);
    console.log(`  CPU ${cpuSeconds.toFixed(2)} s in ${seconds.toFixed(1)} s = ${cpuPercent.toFixed(2)} % of one core`);
  } finally {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGTERM');
      await new Promise((r) => agent?.once('exit', r));
    }
    rmSync(tmp, { recursive: true, force: true });
  }
}
