/**
 * `ascend elevate`: the request to the agent, the program's input and output passed through,
 * and its exit status as ours. Shared by the oclif command and the lean client.
 */
import { constants as fsc, promises as fs } from 'node:fs';
import path from 'node:path';
import { AscendError } from '../../errors.js';
import { readAscpassText } from '../../passcode-keys/ascpass-read.js';
import { ipcCall } from '../../../agent/ipc/client.js';
import { flushed } from './output.js';
import { socketPath, type SocketOption } from './socket.js';

export interface ElevateResult {
  elevationId: string;
  exitCode: number | null;
  signal: string | null;
  account: string | null;
  elevatedBy: 'tse' | 'rule';
  rules: string[];
}

export interface ElevateOptions extends SocketOption {
  passcode?: string | undefined;
  justify?: string | undefined;
  otp?: string | undefined;
}

/** Variables passed into the elevated program; the agent drops everything else too. */
const PASSED_ENV = /^(TERM|LANG|LANGUAGE|LC_[A-Z]+|TZ|COLUMNS|LINES)$/;

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

/** The program as the shell would find it: a path with a slash as given, else the first executable on PATH. */
async function resolveProgram(name: string): Promise<string> {
  if (name.includes('/')) return path.resolve(name);
  for (const dir of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      const st = await fs.stat(candidate);
      if (st.isFile()) {
        await fs.access(candidate, fsc.X_OK);
        return candidate;
      }
    } catch {
      // not here
    }
  }
  throw new AscendError('ASC_EXEC_FAILED', `${name}: not found on PATH`, { hint: 'give the full path' });
}

/**
 * The program and its arguments from the command line's arguments, in the order given (a
 * leading `--` left by a second `--` is dropped).
 */
export function programArgv(args: readonly string[]): string[] {
  return args.filter((a, i) => !(i === 0 && a === '--'));
}

/** The exit status of an elevation's result: the program's exit code, else 128 + its signal's number. */
export function exitStatus(result: ElevateResult): number {
  return result.exitCode ?? 128 + (SIGNAL_NUMBERS[result.signal ?? ''] ?? 1);
}

/** Runs `command` elevated through the agent; sets process.exitCode to the program's status. */
export async function elevate(opts: ElevateOptions, command: readonly string[]): Promise<ElevateResult> {
  if (command.length === 0) throw new AscendError('ASC_USAGE', 'no program given', { hint: 'ascend elevate -- PROGRAM ARGS...' });
  const program = await resolveProgram(command[0] as string);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (PASSED_ENV.test(k) && v !== undefined) env[k] = v;
  const request = {
    op: 'elevate',
    argv: [program, ...command.slice(1)],
    cwd: process.cwd(),
    env,
    ...(opts.justify !== undefined ? { justification: opts.justify } : {}),
    ...(opts.otp !== undefined ? { otp: opts.otp } : {}),
    ...(opts.passcode !== undefined ? { passcode: await readAscpassText(opts.passcode) } : {}),
  };
  const result = (await ipcCall(socketPath(opts), request as never, {
    stdin: process.stdin,
    forwardSignals: true,
    onEvent: (frame: Record<string, unknown>) => {
      if (frame.kind === 'stdout' && typeof frame.data === 'string') process.stdout.write(Buffer.from(frame.data, 'base64'));
      else if (frame.kind === 'stderr' && typeof frame.data === 'string') process.stderr.write(Buffer.from(frame.data, 'base64'));
      else if (frame.kind === 'event' && typeof frame.message === 'string') process.stderr.write(`ascend: ${frame.message}\n`);
    },
  })) as ElevateResult;
  const status = exitStatus(result);
  // Let the program's last output, on both streams, drain before the exit status is set.
  await flushed();
  process.exitCode = status;
  process.stdin.destroy();
  return result;
}
