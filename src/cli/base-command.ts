import { Command, Errors } from '@oclif/core';
import { ascendFailure, type CliFailure, internalFailure, writeFailure } from './client/failure.js';

export type { CliFailure } from './client/failure.js';

/** Maps anything thrown to a one-line failure; only unexpected errors show a stack, and only with ASCEND_DEBUG=1. */
export function describeFailure(err: unknown): CliFailure {
  const known = ascendFailure(err);
  if (known) return known;
  if (err instanceof Errors.CLIError) {
    // oclif's own parse errors: a missing argument, an unknown flag, a value not in options.
    const lines = err.message
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0 && !/^(The following errors? occurred:|See more help with --help)$/.test(l));
    return { code: 'ASC_USAGE', message: lines.join('; ') || 'bad command line', hint: 'see --help', exitCode: 2 };
  }
  return internalFailure(err);
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
    writeFailure(failure, this.jsonEnabled());
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
