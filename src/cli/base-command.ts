import { Command, Errors } from '@oclif/core';
import { ERROR_CODES, isAscendError, type ErrorCode } from '../errors.js';

/** What the CLI prints for a failure: one line, a stable code, and an exit status. */
export interface CliFailure {
  code: ErrorCode;
  message: string;
  hint?: string;
  exitCode: number;
}

/** Maps anything thrown to a one-line failure; only unexpected errors show a stack, and only with ASCEND_DEBUG=1. */
export function describeFailure(err: unknown): CliFailure {
  if (isAscendError(err)) {
    return { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}), exitCode: err.code === 'ASC_USAGE' ? 2 : 1 };
  }
  if (err instanceof Errors.CLIError) {
    // oclif's own parse errors: a missing argument, an unknown flag, a value not in options.
    const lines = err.message
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0 && !/^(The following errors? occurred:|See more help with --help)$/.test(l));
    return { code: 'ASC_USAGE', message: lines.join('; ') || 'bad command line', hint: 'see --help', exitCode: 2 };
  }
  const message = err instanceof Error ? err.message : String(err);
  if (process.env.ASCEND_DEBUG === '1' && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
  return { code: 'ASC_INTERNAL', message: `${ERROR_CODES.ASC_INTERNAL} ${message}`, exitCode: 70 };
}

/**
 * Base of every `ascend` command: `--json` for free (the typed result `run` returns is
 * printed as JSON), and failures as one line on stderr, or `{"error":{"code","message"}}`
 * with --json, and a non-zero exit.
 */
export abstract class AscendCommand<T> extends Command {
  static override enableJsonFlag = true;

  abstract override run(): Promise<T>;

  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    if (err instanceof Errors.ExitError) throw err;
    const failure = describeFailure(err);
    if (this.jsonEnabled()) {
      process.stdout.write(`${JSON.stringify({ error: { code: failure.code, message: failure.message, ...(failure.hint ? { hint: failure.hint } : {}) } }, null, 2)}\n`);
    } else {
      process.stderr.write(`Error: ${failure.message}${failure.hint ? ` (${failure.hint})` : ''}\n`);
    }
    return this.exit(failure.exitCode);
  }

  /** Prints a line unless --json is on. */
  protected say(line = ''): void {
    this.log(line);
  }
}

/** Text columns for human output. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}
