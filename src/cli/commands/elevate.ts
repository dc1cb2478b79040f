import { constants as fsc, promises as fs } from 'node:fs';
import path from 'node:path';
import { Flags } from '@oclif/core';
import { AscendCommand } from '../base-command.js';
import { socketPath, socketFlags } from '../agent-command.js';
import { AscendError } from '../../errors.js';
import { readAscpassText } from '../../passcode-keys/index.js';
import { ipcCall } from '../../../agent/ipc/index.js';

export interface ElevateResult {
  elevationId: string;
  exitCode: number | null;
  signal: string | null;
  account: string | null;
  elevatedBy: 'tse' | 'rule';
  rules: string[];
}

/** Variables passed into the elevated program; the agent drops everything else too. */
const PASSED_ENV = /^(TERM|LANG|LANGUAGE|LC_[A-Z]+|TZ|COLUMNS|LINES)$/;

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

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

export default class Elevate extends AscendCommand<ElevateResult> {
  static override enableJsonFlag = false;
  static override strict = false;
  static override summary = 'Run a program elevated, as the policy on this computer allows: by a rule, or inside a TSE session.';
  static override description =
    'The agent decides (blacklist first; then elevation rules, whose controls all apply: --justify, --otp, and approval, which waits ' +
    'until an approver decides; or an active TSE session), runs the program as an ephemeral account in the admin group with a clean ' +
    'environment in your working folder, passes your input and its output through, and removes the account afterwards. The exit status ' +
    'is the program\'s (128 + signal when it was ended by one). Everything after -- is the program and its arguments.';
  static override examples = [
    '<%= config.bin %> elevate -- id -Gn',
    '<%= config.bin %> elevate --passcode ./helpdesk.ascpass -- systemctl restart cups',
    '<%= config.bin %> elevate --justify "ticket 4711: printer driver" --otp 123456 -- /usr/bin/apt-get install -y cups',
  ];
  static override flags = {
    ...socketFlags,
    passcode: Flags.string({ description: 'redeem this passcode file first (a TSE session), then run the program in it' }),
    justify: Flags.string({ description: 'why you need it (for rules with the JUSTIFY control)' }),
    otp: Flags.string({ description: 'the code from your authenticator app (for rules with the MFA control)' }),
  };

  async run(): Promise<ElevateResult> {
    const { flags, argv } = await this.parse(Elevate);
    const command = (argv as string[]).filter((a, i) => !(i === 0 && a === '--'));
    if (command.length === 0) throw new AscendError('ASC_USAGE', 'no program given', { hint: 'ascend elevate -- PROGRAM ARGS...' });
    const program = await resolveProgram(command[0] as string);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (PASSED_ENV.test(k) && v !== undefined) env[k] = v;
    const request = {
      op: 'elevate',
      argv: [program, ...command.slice(1)],
      cwd: process.cwd(),
      env,
      ...(flags.justify !== undefined ? { justification: flags.justify } : {}),
      ...(flags.otp !== undefined ? { otp: flags.otp } : {}),
      ...(flags.passcode !== undefined ? { passcode: await readAscpassText(flags.passcode) } : {}),
    };
    const result = (await ipcCall(socketPath(flags), request as never, {
      stdin: process.stdin,
      forwardSignals: true,
      onEvent: (frame: Record<string, unknown>) => {
        if (frame.kind === 'stdout' && typeof frame.data === 'string') process.stdout.write(Buffer.from(frame.data, 'base64'));
        else if (frame.kind === 'stderr' && typeof frame.data === 'string') process.stderr.write(Buffer.from(frame.data, 'base64'));
        else if (frame.kind === 'event' && typeof frame.message === 'string') process.stderr.write(`ascend: ${frame.message}\n`);
      },
    })) as ElevateResult;
    const status = result.exitCode ?? 128 + (SIGNAL_NUMBERS[result.signal ?? ''] ?? 1);
    // Let the program's last output drain before the exit status is set.
    await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
    process.exitCode = status;
    process.stdin.destroy();
    return result;
  }
}
