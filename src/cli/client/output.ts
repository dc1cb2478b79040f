import { cellText } from '../table.js';

/** Text from an agent or a user shown as one inert line (control characters and bidi overrides escaped). */
export function safe(text: string | null | undefined): string {
  return cellText(text ?? '');
}

/** Resolves once everything written so far to stdout and to stderr has been handed to the system. */
export function flushed(): Promise<void> {
  const drained = (stream: NodeJS.WriteStream): Promise<void> => new Promise((resolve) => stream.write('', () => resolve()));
  return Promise.all([drained(process.stdout), drained(process.stderr)]).then(() => undefined);
}
