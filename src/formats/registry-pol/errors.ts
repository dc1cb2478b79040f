import { AscendError, type ErrorCode } from '../../errors.js';

/** A Registry.pol that cannot be read (or an entry that cannot be written), with where and why. */
export class RegistryPolError extends AscendError {
  /** Byte offset in the file where the problem was found (-1 for writer errors with no file). */
  readonly offset: number;
  /** What the codec expected to find there. */
  readonly expected: string;

  constructor(code: ErrorCode, offset: number, message: string, expected: string) {
    super(code, offset >= 0 ? `Registry.pol: ${message} at byte ${offset} (expected ${expected})` : `Registry.pol: ${message} (expected ${expected})`);
    this.name = 'RegistryPolError';
    this.offset = offset;
    this.expected = expected;
  }
}
