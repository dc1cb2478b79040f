/**
 * How a client command reports a failure: one line on stderr (`Error: message (hint)`), or
 * `{"error":{"code","message","hint"?}}` on stdout with --json, and a non-zero exit status.
 * Shared by the oclif base command and the lean client, so both say the same.
 */
import { ERROR_CODES, isAscendError, type ErrorCode } from '../../errors.js';

/** What the CLI prints for a failure: one line, a stable code, and an exit status. */
export interface CliFailure {
  code: ErrorCode;
  message: string;
  hint?: string;
  exitCode: number;
}

/** An AscendError as it is; ASC_USAGE exits 2. */
export function ascendFailure(err: unknown): CliFailure | undefined {
  if (!isAscendError(err)) return undefined;
  return { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}), exitCode: err.code === 'ASC_USAGE' ? 2 : 1 };
}

/** Anything not foreseen: exit 70; its stack only with ASCEND_DEBUG=1. */
export function internalFailure(err: unknown): CliFailure {
  const message = err instanceof Error ? err.message : String(err);
  if (process.env.ASCEND_DEBUG === '1' && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
  return { code: 'ASC_INTERNAL', message: `${ERROR_CODES.ASC_INTERNAL} ${message}`, exitCode: 70 };
}

/** Writes the failure: JSON on stdout with --json, else one line on stderr. */
export function writeFailure(failure: CliFailure, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ error: { code: failure.code, message: failure.message, ...(failure.hint ? { hint: failure.hint } : {}) } }, null, 2)}\n`);
  } else {
    process.stderr.write(`Error: ${failure.message}${failure.hint ? ` (${failure.hint})` : ''}\n`);
  }
}
