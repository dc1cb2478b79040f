/**
 * An elevation against sudo, side by side (issue 16): as root, a real agent (the BUILT CLI in
 * dist/ and the launcher in build/native; nothing is built here) with a local policy that
 * allows /usr/bin/true, an unprivileged user with a sudoers drop-in `NOPASSWD: /usr/bin/true`,
 * then interleaved runs as that user of
 *   build/native/ascend-elevate elevate --socket S -- /usr/bin/true   (the native client,
 *     what /usr/bin/ascend runs for `ascend elevate` in the package),
 *   node bin/run.js elevate --socket S -- /usr/bin/true               (the lean Node client),
 *   sudo -n /usr/bin/true
 * and of `node -e 0` (the floor of any Node client). Each run is measured by a small wrapper
 * that forks the command and reads its rusage with wait4 (wall from fork to reaped; client
 * user+sys CPU of the command and what it waited for). Medians; the agent's own per-phase
 * breakdown is read from its "elevation ended" log lines (root's stderr). Targets, printed as
 * MET / NOT MET, on the native client: elevation wall within 3x of sudo -n; client CPU within 2x
 * of `node -e 0`. The lean Node client's figures are printed beside them.
 * (The agent's idle RSS and the decision p99 are in elevation-rss.bench.ts.)
 *
 * ASCEND_BENCH_PAIRS sets the number of pairs (default 25, at least 20 count).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ASCEND_CATALOG, requirePolicy } from '../src/catalog/index.js';
import { encodePolicyState } from '../src/policy/index.js';
import { writeRegistryPol } from '../src/formats/registry-pol/index.js';
import { median, row } from './support.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'run.js');
const NATIVE = path.join(ROOT, 'build', 'native', 'ascend-elevate');
const USER = 'ascbenchel';
const PREFIX = 'ascbe_';
const SUDOERS = '/etc/sudoers.d/ascend-elevation-bench';
const PAIRS = Math.max(20, Number(process.env.ASCEND_BENCH_PAIRS ?? 25) || 25);
const WARMUP = 3;

/** Forks argv[1..], waits with wait4, and writes {wall, cpu, code} (seconds) to fd 3. */
const MEASURE = [
  'import os, sys, time, json',
  'out = os.fdopen(3, "w")',
  't = time.monotonic()',
  'pid = os.fork()',
  'if pid == 0:',
  '    try:',
  '        os.execv(sys.argv[1], sys.argv[1:])',
  '    finally:',
  '        os._exit(127)',
  '_, status, ru = os.wait4(pid, 0)',
  'wall = time.monotonic() - t',
  'out.write(json.dumps({"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "code": os.waitstatus_to_exitcode(status)}))',
  'out.close()',
].join('\n');

interface Sample {
  wall: number;
  cpu: number;
  code: number;
  stderr: string;
}

/** Runs argv as the bench user under the measuring wrapper. */
function measured(argv: string[], cwd: string, socket: string): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const child = spawn('setpriv', ['--reuid', USER, '--regid', USER, '--init-groups', '--', '/usr/bin/python3', '-c', MEASURE, ...argv], {
      cwd,
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: cwd, LANG: 'C.UTF-8', ASCEND_AGENT_SOCKET: socket },
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let result = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => (result += d.toString()));
    child.once('error', reject);
    child.once('close', () => {
      try {
        const r = JSON.parse(result) as { wall: number; cpu: number; code: number };
        resolve({ ...r, stderr });
      } catch {
        reject(new Error(`the measuring wrapper gave no result for ${argv.join(' ')}:\n${stderr}`));
      }
    });
  });
}

function policy(): Uint8Array {
  const entries = [
    ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'ElevationRules'), 'enabled', {
      Rules: [{ name: 'true for the bench', value: JSON.stringify({ action: 'allow', match: { path: '/usr/bin/true' } }) }],
    }),
    ...encodePolicyState(requirePolicy(ASCEND_CATALOG, 'EphemeralAccounts'), 'enabled', { AccountPrefix: PREFIX, MaxLifetimeMinutes: 60, CleanupIntervalMinutes: 60, RemoveProfileFolders: true }),
  ];
  return writeRegistryPol(entries);
}

function which(name: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

const ms = (s: number): string => `${(s * 1000).toFixed(1)} ms`;
const verdict = (ok: boolean): string => (ok ? 'MET' : 'NOT MET');

export async function run(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('elevation: skipped (the agent makes accounts and sudo is compared: run the bench as root)');
    return;
  }
  const missing = [
    ...(existsSync(path.join(ROOT, 'dist', 'src', 'index.js')) ? [] : ['dist/ (npm run build)']),
    ...(existsSync(path.join(ROOT, 'build', 'native', 'ascend-launch')) ? [] : ['build/native/ascend-launch (npm run build)']),
    ...(existsSync(NATIVE) ? [] : ['build/native/ascend-elevate (npm run build)']),
    ...(which('sudo') ? [] : ['sudo (apt-get install sudo)']),
    ...(existsSync('/usr/bin/python3') ? [] : ['/usr/bin/python3 (the measuring wrapper)']),
    ...(which('setpriv') ? [] : ['setpriv (util-linux)']),
  ];
  if (missing.length > 0) {
    console.log(`elevation: not run, missing: ${missing.join(', ')}. This bench builds nothing; it measures the built checkout.`);
    process.exitCode = 1;
    return;
  }
  const tmp = mkdtempSync(path.join(tmpdir(), 'ascend-elevation-bench-'));
  chmodSync(tmp, 0o755);
  let agent: ChildProcess | undefined;
  const log = { text: '' };
  try {
    spawnSync('userdel', ['-r', USER], { stdio: 'ignore' });
    const add = spawnSync('useradd', ['--create-home', '--shell', '/bin/sh', USER], { encoding: 'utf8' });
    if (add.status !== 0) throw new Error(`useradd ${USER}: ${add.stderr}`);
    writeFileSync(SUDOERS, `${USER} ALL=(root) NOPASSWD: /usr/bin/true\n`, { mode: 0o440 });
    const pol = path.join(tmp, 'Registry.pol');
    writeFileSync(pol, policy());
    const socket = path.join(tmp, 'agent.sock');
    agent = spawn(process.execPath, [BIN, 'agent', 'run', '--state-dir', path.join(tmp, 'state'), '--socket', socket, '--policy', pol, '--computer', 'BENCH-PC'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    agent.stderr?.on('data', (d: Buffer) => (log.text += d.toString()));
    for (let i = 0; i < 600 && !/agent listening/.test(log.text) && agent.exitCode === null; i++) await sleep(100);
    if (!/agent listening/.test(log.text)) throw new Error(`the agent did not start:\n${log.text}`);

    const elevate = [process.execPath, BIN, 'elevate', '--socket', socket, '--', '/usr/bin/true'];
    const nativeElevate = [NATIVE, 'elevate', '--socket', socket, '--', '/usr/bin/true'];
    const sudo = [which('sudo') as string, '-n', '/usr/bin/true'];
    const nodeFloor = [process.execPath, '-e', '0'];
    const check = async (name: string, argv: string[]): Promise<Sample> => {
      const s = await measured(argv, tmp, socket);
      if (s.code !== 0) throw new Error(`${name} failed (exit ${s.code}):\n${s.stderr}\n${log.text.split('\n').slice(-15).join('\n')}`);
      return s;
    };
    for (let i = 0; i < WARMUP; i++) {
      await check('ascend-elevate', nativeElevate);
      await check('ascend elevate', elevate);
      await check('sudo -n', sudo);
      await check('node -e 0', nodeFloor);
    }
    const logFrom = log.text.length;
    const a: Sample[] = [];
    const s: Sample[] = [];
    const n: Sample[] = [];
    const c: Sample[] = [];
    // Interleaved, the order alternating, so drift on a busy machine falls on every side.
    for (let i = 0; i < PAIRS; i++) {
      if (i % 2 === 0) {
        c.push(await check('ascend-elevate', nativeElevate));
        s.push(await check('sudo -n', sudo));
        a.push(await check('ascend elevate', elevate));
      } else {
        a.push(await check('ascend elevate', elevate));
        s.push(await check('sudo -n', sudo));
        c.push(await check('ascend-elevate', nativeElevate));
      }
      n.push(await check('node -e 0', nodeFloor));
    }
    await sleep(200);

    const wall = { a: median(a.map((x) => x.wall)), c: median(c.map((x) => x.wall)), s: median(s.map((x) => x.wall)), n: median(n.map((x) => x.wall)) };
    const cpu = { a: median(a.map((x) => x.cpu)), c: median(c.map((x) => x.cpu)), s: median(s.map((x) => x.cpu)), n: median(n.map((x) => x.cpu)) };
    const widths = [44, 12, 12, 12];
    console.log(`elevation of /usr/bin/true as ${USER}, ${PAIRS} interleaved rounds after ${WARMUP} warm-up runs (medians):`);
    console.log(row(['', 'wall', 'client CPU', ''], widths));
    console.log(row(['ascend-elevate elevate --socket S -- true', ms(wall.c), ms(cpu.c), 'native'], widths));
    console.log(row(['node bin/run.js elevate --socket S -- true', ms(wall.a), ms(cpu.a), 'lean Node'], widths));
    console.log(row(['sudo -n /usr/bin/true', ms(wall.s), ms(cpu.s), ''], widths));
    console.log(row(['node -e 0', ms(wall.n), ms(cpu.n), ''], widths));

    // The agent's phases of the measured elevations (its "elevation ended" lines).
    const phases = new Map<string, number[]>();
    for (const line of log.text.slice(logFrom).split('\n')) {
      const at = line.indexOf(' elevation ended {');
      if (at < 0) continue;
      try {
        const f = JSON.parse(line.slice(at + ' elevation ended '.length)) as { phases?: Record<string, number> };
        for (const [k, v] of Object.entries(f.phases ?? {})) phases.set(k, [...(phases.get(k) ?? []), v]);
      } catch {
        /* not ours */
      }
    }
    if (phases.size > 0) {
      console.log(`agent phases per elevation (executor, medians of ${Math.max(...[...phases.values()].map((v) => v.length))}; "run" is from the launcher's start to the program's exit, the event record included):`);
      // The result goes out once the tree has ended; these run after it (agent/executor/linux.ts finish).
      const afterResult = new Set(['sweep-record', 'account-remove', 'scheduled-work', 'home-remove', 'cgroup-remove']);
      let total = 0;
      let before = 0;
      for (const [k, v] of phases) {
        const m = median(v);
        total += m;
        if (!afterResult.has(k)) before += m;
        console.log(`  ${k.padEnd(16)} ${m.toFixed(2).padStart(8)} ms${afterResult.has(k) ? '   (after the result)' : ''}`);
      }
      console.log(`  ${'sum'.padEnd(16)} ${total.toFixed(2).padStart(8)} ms   (the rest of the wall: client start, socket, decision, program checks)`);
      console.log(`  ${'before result'.padEnd(16)} ${before.toFixed(2).padStart(8)} ms   (what the user waits for of the sum)`);
    } else {
      console.log('agent phases: none logged (an agent without phase timing)');
    }
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${agent.pid as number}/status`, 'utf8'))?.[1];
    console.log(`agent RSS after the runs: ${(Number(rss ?? 0) / 1024).toFixed(1)} MB (the idle RSS target is judged in elevation-rss.bench.ts)`);
    // Judged on the client a user of the package runs: /usr/bin/ascend sends elevate to the native one.
    const wallRatio = wall.c / wall.s;
    const cpuRatio = cpu.c / cpu.n;
    console.log(`elevation wall ${wallRatio.toFixed(2)}x sudo -n (native client)   target <= 3x: ${verdict(wallRatio <= 3)}`);
    console.log(`client CPU     ${cpuRatio.toFixed(2)}x node -e 0 (native client) target <= 2x: ${verdict(cpuRatio <= 2)}`);
    console.log(`lean Node client: wall ${(wall.a / wall.s).toFixed(2)}x sudo -n, client CPU ${(cpu.a / cpu.n).toFixed(2)}x node -e 0`);
    console.log(`(sudo -n client CPU ${ms(cpu.s)}; native client CPU ${(cpu.c / cpu.s).toFixed(2)}x sudo's, lean ${(cpu.a / cpu.s).toFixed(1)}x)`);

    // The client's own share: the same command lines against a socket that answers at once (no agent work).
    const quick = path.join(tmp, 'answering.sock');
    const server = net.createServer((sock) => {
      sock.on('error', () => undefined);
      sock.on('data', (d: Buffer) => {
        if (d.includes(0x0a)) sock.end('{"kind":"result","ok":true,"value":{"exitCode":0,"signal":null}}\n');
      });
    });
    await new Promise<void>((resolve) => server.listen(quick, resolve));
    chmodSync(quick, 0o666);
    try {
      const qc: Sample[] = [];
      const qa: Sample[] = [];
      for (let i = 0; i < PAIRS; i++) {
        qc.push(await check('ascend-elevate (answering socket)', [NATIVE, 'elevate', '--socket', quick, '--', '/usr/bin/true']));
        qa.push(await check('ascend elevate (answering socket)', [process.execPath, BIN, 'elevate', '--socket', quick, '--', '/usr/bin/true']));
      }
      console.log(
        `client alone, against a socket that answers at once (${PAIRS} pairs, medians): native wall ${ms(median(qc.map((x) => x.wall)))}, CPU ${ms(median(qc.map((x) => x.cpu)))}; ` +
          `lean Node wall ${ms(median(qa.map((x) => x.wall)))}, CPU ${ms(median(qa.map((x) => x.cpu)))}`,
      );
    } finally {
      await new Promise((r) => server.close(r));
    }
  } finally {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGTERM');
      await new Promise((r) => agent?.once('exit', r));
    }
    rmSync(SUDOERS, { force: true });
    spawnSync('userdel', ['-r', USER], { stdio: 'ignore' });
    for (const line of spawnSync('getent', ['passwd'], { encoding: 'utf8' }).stdout.split('\n')) {
      const name = line.split(':')[0] ?? '';
      if (name.startsWith(PREFIX)) spawnSync('userdel', ['-r', name], { stdio: 'ignore' });
    }
    rmSync(tmp, { recursive: true, force: true });
  }
}
