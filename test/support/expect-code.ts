import { expect } from 'chai';
import { AscendError } from '../../src/errors.js';

/** What expectCode checks besides the code: the message matches `message`; with `oneLine`, it has no line break. */
export interface ExpectCodeOptions {
  message?: RegExp;
  oneLine?: boolean;
}

function check(e: unknown, code: string, options: ExpectCodeOptions): AscendError {
  expect(e, String(e)).to.be.instanceOf(AscendError);
  const err = e as AscendError;
  expect(err.code, err.message).to.equal(code);
  if (options.message) expect(err.message).to.match(options.message);
  if (options.oneLine) expect(err.message, 'one line').to.not.match(/[\r\n]/);
  return err;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

async function settle(p: PromiseLike<unknown>, code: string, options: ExpectCodeOptions): Promise<AscendError> {
  try {
    await p;
  } catch (e) {
    return check(e, code, options);
  }
  return expect.fail(`expected ${code}`);
}

/**
 * Expects an AscendError with `code`, and returns it. A promise (or a function returning one) is
 * awaited: the result is a promise, await it. A function that throws synchronously is checked at once.
 * A third argument that is a RegExp is the message pattern.
 */
export function expectCode(p: PromiseLike<unknown> | (() => PromiseLike<unknown>), code: string, options?: ExpectCodeOptions | RegExp): Promise<AscendError>;
export function expectCode(fn: () => unknown, code: string, options?: ExpectCodeOptions | RegExp): AscendError | Promise<AscendError>;
export function expectCode(p: PromiseLike<unknown> | (() => unknown), code: string, options: ExpectCodeOptions | RegExp = {}): AscendError | Promise<AscendError> {
  const opts: ExpectCodeOptions = options instanceof RegExp ? { message: options } : options;
  if (typeof p !== 'function') return settle(p, code, opts);
  let result: unknown;
  try {
    result = p();
  } catch (e) {
    return check(e, code, opts);
  }
  if (isThenable(result)) return settle(result, code, opts);
  return expect.fail(`expected ${code}`);
}
