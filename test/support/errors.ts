import { isAscendError } from '../../src/errors.js';

/** The AscendError code a call throws, or undefined when it does not throw; other errors propagate. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isAscendError(e)) return e.code;
    throw e;
  }
  return undefined;
}
