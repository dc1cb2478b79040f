/**
 * The daemon's lean entry: bin/run.js hands `ascend agent run ...` here before it loads oclif.
 * A plain command line (./run-line.ts) starts the agent (./launch.ts) with no oclif and no
 * command tree loaded; any other (help, a mistake oclif words its own way) is handed back
 * (false) to oclif, which runs the same ./launch.ts.
 */
import { readAgentRunLine } from './run-line.js';

/** Runs the agent for a plain `agent run` line (the words after `agent run`) and answers true once it stopped; false, having done nothing, when oclif must read the line. */
export async function runLeanAgent(argv: readonly string[]): Promise<boolean> {
  const flags = readAgentRunLine(argv);
  if (!flags) return false;
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
