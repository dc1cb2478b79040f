/**
 * Pacing what a client sends into a program: the agent holds no more of it than the program's
 * stdin buffer (its high-water mark) and one frame. Returned from an onFrame callback, the
 * promise holds the client's input (the socket is not read) until the program has taken what
 * was written, so a client that sends endlessly is slowed to the program's reading speed.
 */
import type { Writable } from 'node:stream';

/**
 * Writes `chunk` to `stream`. Undefined when the stream takes more at once; otherwise a promise
 * that resolves when it drains, or closes, errs or finishes (a program that exits without
 * reading does not hold the input forever). A chunk for a stream that is closed or ended is
 * dropped: nobody will read it.
 */
export function writePaced(stream: Writable, chunk: Uint8Array): Promise<void> | undefined {
  if (stream.destroyed || stream.writableEnded) return undefined;
  if (stream.write(chunk)) return undefined;
  if (stream.destroyed) return undefined;
  return new Promise<void>((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      stream.off('finish', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
    stream.on('finish', done);
  });
}
