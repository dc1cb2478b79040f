/**
 * The lean client: `ascend elevate`, `ascend tse redeem|status` and `ascend agent status`
 * without oclif. bin/run.js hands these command lines here; scripts/bundle-client.js bundles
 * this module and what it imports (node built-ins and a few modules of this repository, no
 * package) into one file, dist/client/ascend-client.js, which loads nothing else.
 *
 * It answers as the oclif commands do (they call the same code in this folder): the same
 * flags, output, --json shapes, one-line errors and exit statuses. A command line it would
 * read differently from oclif goes back to oclif (runLeanClient answers false): --help or -h
 * before `--`, words after `tse status`/`agent status` that oclif reads as part of the command
 * name, and `tse redeem` without its file (oclif then tries stdin).
 */
import { agentStatus, agentStatusLines } from './agent-status.js';
import { type CommandSpec, jsonWanted, type ParsedLine, parseCommandLine } from './args.js';
import { elevate, programArgv } from './elevate.js';
import { ascendFailure, internalFailure, writeFailure } from './failure.js';
import { flushed } from './output.js';
import { tseRedeem, tseRedeemLines, tseStatus, tseStatusLines } from './tse.js';

type LeanId = 'elevate' | 'tse redeem' | 'tse status' | 'agent status';

const SOCKET = { socket: 'string' } as const;
const SPECS: Readonly<Record<LeanId, CommandSpec>> = {
  elevate: { flags: { ...SOCKET, passcode: 'string', justify: 'string', otp: 'string' }, args: [], strict: false, json: false },
  'tse redeem': { flags: { ...SOCKET, json: 'boolean' }, args: ['file'], strict: true, json: true },
  'tse status': { flags: { ...SOCKET, json: 'boolean' }, args: [], strict: true, json: true },
  'agent status': { flags: { ...SOCKET, json: 'boolean' }, args: [], strict: true, json: true },
};

/** The lean command a command line names, and the rest of the line; undefined when oclif must answer it. */
export function leanCommand(argv: readonly string[]): { id: LeanId; rest: string[] } | undefined {
  const [first, second] = argv;
  let id: LeanId;
  let rest: string[];
  if (first === 'elevate') [id, rest] = ['elevate', argv.slice(1)];
  else if (first === 'tse' && (second === 'redeem' || second === 'status')) [id, rest] = [`tse ${second}`, argv.slice(2)];
  else if (first === 'agent' && second === 'status') [id, rest] = ['agent status', argv.slice(2)];
  else return undefined;
  const end = argv.indexOf('--');
  if (argv.slice(0, end === -1 ? argv.length : end).some((a) => a === '--help' || a === '-h')) return undefined;
  // oclif takes a plain word after a command without arguments as part of the command's name.
  const next = rest[0];
  if (!SPECS[id].args.length && SPECS[id].strict && next !== undefined && !next.startsWith('-') && !next.includes('=')) return undefined;
  return { id, rest };
}

function print(lines: readonly string[]): void {
  for (const line of lines) process.stdout.write(`${line}\n`);
}

function printResult(json: boolean, value: unknown, lines: () => string[]): void {
  if (json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else print(lines());
}

async function run(id: LeanId, line: ParsedLine, json: boolean): Promise<void> {
  const opts = { socket: line.flags.socket as string | undefined };
  switch (id) {
    case 'elevate':
      await elevate({ ...opts, passcode: line.flags.passcode as string | undefined, justify: line.flags.justify as string | undefined, otp: line.flags.otp as string | undefined }, programArgv(line.tokens));
      return;
    case 'tse redeem': {
      const r = await tseRedeem(opts, line.args.file as string);
      return printResult(json, r, () => tseRedeemLines(r));
    }
    case 'tse status': {
      const r = await tseStatus(opts);
      return printResult(json, r, () => tseStatusLines(r));
    }
    case 'agent status': {
      const s = await agentStatus(opts);
      return printResult(json, s, () => agentStatusLines(s));
    }
  }
}

/**
 * Runs the command line when it is one of the lean commands and answers true; answers false,
 * having done nothing, when oclif must run it. A failure is written as the oclif commands
 * write it and ends the process with their exit status.
 */
export async function runLeanClient(argv: readonly string[]): Promise<boolean> {
  const command = leanCommand(argv);
  if (!command) return false;
  // A reader that went away (`ascend agent status | head -1`) ends the output, as under oclif:
  // no unhandled EPIPE with a stack trace, and the elevation's connection is not dropped for it.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  const spec = SPECS[command.id];
  const json = jsonWanted(spec, command.rest, process.env);
  try {
    const line = parseCommandLine(spec, command.rest);
    if (line.missing.length > 0) return false;
    await run(command.id, line, json);
  } catch (err) {
    const failure = ascendFailure(err) ?? internalFailure(err);
    writeFailure(failure, json);
    // What the program wrote before the failure, and the failure's line, reach the reader first.
    await flushed();
    process.exit(failure.exitCode);
  }
  return true;
}
