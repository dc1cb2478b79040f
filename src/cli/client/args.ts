/**
 * The lean client's command line, read the way oclif reads it for the client commands, so that
 * both paths accept and refuse the same things with the same words: long flags only
 * (`--name value`, `--name=value`), string flags at most once, `--` ends the flags, an unknown
 * flag is refused ("Nonexistent flag: --x"), a value that starts with a digit after `-` is an
 * argument, and a strict command refuses extra arguments ("Unexpected argument: x").
 * Pure: no I/O.
 */
import { AscendError } from '../../errors.js';

export interface CommandSpec {
  /** Flags by name: 'string' takes a value, 'boolean' does not. */
  flags: Readonly<Record<string, 'string' | 'boolean'>>;
  /** Positional arguments, in order; each one required. */
  args: readonly string[];
  /** Refuses arguments beyond `args`. */
  strict: boolean;
  /** The command has --json. */
  json: boolean;
}

export interface ParsedLine {
  flags: Record<string, string | true>;
  args: Record<string, string>;
  /** Every argument, in the order given. */
  tokens: string[];
  /** Required arguments not given. */
  missing: string[];
}

const usage = (message: string): AscendError => new AscendError('ASC_USAGE', message, { hint: 'see --help' });
const plural = (n: number): string => (n === 1 ? '' : 's');
const isNegativeNumber = (s: string): boolean => /^-\d/.test(s);

/** The flag an argument names: `--name` exactly (no short flags, no negation). */
function flagOf(spec: CommandSpec, arg: string): string | undefined {
  if (!arg.startsWith('--')) return undefined;
  const name = arg.slice(2);
  return Object.hasOwn(spec.flags, name) ? name : undefined;
}

export function parseCommandLine(spec: CommandSpec, argv: readonly string[]): ParsedLine {
  const queue = [...argv];
  const flags: Record<string, string | true> = {};
  const tokens: string[] = [];
  const nonExistent: string[] = [];

  const parseFlag = (arg: string): boolean => {
    const name = flagOf(spec, arg);
    if (name === undefined) {
      const eq = arg.indexOf('=');
      if (eq === -1) return false;
      queue.unshift(arg.slice(eq + 1));
      const parsed = parseFlag(arg.slice(0, eq));
      if (!parsed) queue.shift();
      return parsed;
    }
    if (spec.flags[name] === 'string') {
      if (Object.hasOwn(flags, name)) throw usage(`Flag --${name} can only be specified once`);
      const value = queue.shift();
      if (value === undefined || flagOf(spec, value) !== undefined) throw usage(`Flag --${name} expects a value`);
      flags[name] = value;
    } else {
      flags[name] = true;
    }
    return true;
  };

  let parsingFlags = true;
  while (queue.length > 0) {
    const input = queue.shift() as string;
    if (parsingFlags && input.startsWith('-') && input !== '-') {
      if (input === '--') {
        parsingFlags = false;
        continue;
      }
      if (parseFlag(input)) continue;
      if (!isNegativeNumber(input)) {
        nonExistent.push(input);
        continue;
      }
    }
    tokens.push(input);
  }

  const args: Record<string, string> = {};
  spec.args.forEach((name, i) => {
    const token = tokens[i];
    if (token !== undefined) args[name] = token;
  });
  if (nonExistent.length > 0) throw usage(`Nonexistent flag${plural(nonExistent.length)}: ${nonExistent.join(', ')}`);
  if (spec.strict && tokens.length > spec.args.length) {
    // oclif lists its arguments ordered by where each value first occurs on the line.
    const ordered = [...tokens].sort((a, b) => argv.indexOf(a) - argv.indexOf(b));
    const extra = ordered.slice(spec.args.length);
    throw usage(`Unexpected argument${plural(extra.length)}: ${extra.join(', ')}`);
  }
  return { flags, args, tokens, missing: spec.args.filter((name) => args[name] === undefined) };
}

/** --json as oclif sees it: the exact word before any `--`, or ASCEND_CONTENT_TYPE=json. */
export function jsonWanted(spec: CommandSpec, argv: readonly string[], env: Readonly<Record<string, string | undefined>>): boolean {
  if (!spec.json) return false;
  if (env.ASCEND_CONTENT_TYPE?.toLowerCase() === 'json') return true;
  const end = argv.indexOf('--');
  const at = argv.indexOf('--json');
  return at !== -1 && (end === -1 || at < end);
}
