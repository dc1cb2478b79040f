/**
 * The daemon's lean entry: bin/run.js hands `ascend agent run ...` here before it loads oclif.
 * A plain command line (./run-line.ts) starts the agent (./launch.ts) with no oclif and no
 * command tree loaded; any other (help, a mistake oclif words its own way) is handed back
 * (false) to oclif, which runs the same ./launch.ts.
 */
import { readAgentRunLine } from './run-line.js';

/**
 * Node's settings the daemon wants that only a new process can take, measured on Node 24 with
 * 10,000 rules (issue 16): --v8-pool-size=1, one V8 worker thread for the concurrent parts of
 * garbage collection and compilation instead of one per core, whose stacks and malloc arenas
 * stay resident: 4 MB of idle RSS (the decisions run on the main thread, unchanged). The
 * process is replaced once (process.execve: the same pid, the same command line and
 * environment, so systemd, a hand-started agent and the benchmark all get it); an admin's
 * own --v8-pool-size (on the command line or in NODE_OPTIONS) is kept as given.
 */
const DAEMON_NODE_OPTIONS = ['--v8-pool-size=1'];

function reexecWithDaemonOptions(): void {
  if (process.platform !== 'linux' || typeof process.execve !== 'function') return;
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  const missing = DAEMON_NODE_OPTIONS.filter((o) => !given.some((g) => g.startsWith(o.slice(0, o.indexOf('=') + 1))));
  if (missing.length === 0) return;
  try {
    process.execve(process.execPath, [process.execPath, ...missing, ...process.execArgv, ...process.argv.slice(1)], process.env);
  } catch {
    // Not replaced (the kernel refused the exec): the agent runs as it is, with more threads.
  }
}

/** Runs the agent for a plain `agent run` line (the words after `agent run`) and answers true once it stopped; false, having done nothing, when oclif must read the line. */
export async function runLeanAgent(argv: readonly string[]): Promise<boolean> {
  const flags = readAgentRunLine(argv);
  if (!flags) return false;
  reexecWithDaemonOptions();
  const [{ runAgent }, { ascendFailure, internalFailure, writeFailure }] = await Promise.all([import('./launch.js'), import('../../src/cli/client/failure.js')]);
  try {
    await runAgent(flags);
  } catch (err) {
    // As the oclif command reports it: one line, the same exit status.
    const failure = ascendFailure(err) ?? internalFailure(err);
    writeFailure(failure, false);
    process.exit(failure.exitCode);
  }
  return true;
}
