/**
 * Policy on Windows: what Windows' own registry client-side extension wrote under the
 * policy root, read with `reg query "HKLM\SOFTWARE\Policies\Ascend\PrivilegeManager" /s`
 * and turned back into one Registry.pol-like source ("HKLM").
 *
 * UNTESTED ON REAL WINDOWS. The parser is tested on hand-written fixtures in the format
 * reg.exe prints (test/agent/fixtures/reg-query), not on output recorded from a Windows
 * machine, and the child process has never run there. Known limits:
 * - reg.exe writes redirected output in the console's code page; it is read as UTF-8 here,
 *   so non-ASCII names or data may come out wrong.
 * - A REG_MULTI_SZ item that itself contains the two characters `\0` cannot be told from a
 *   separator (reg.exe prints both alike).
 * - The registry holds the fold's result, not the `**del.` markers of Registry.pol, so a
 *   policy whose Disabled form is "value deleted" reads as Not Configured here.
 * - A value named "(Default)" cannot be told from the key's default value.
 */
import { execFile } from 'node:child_process';
import { AscendError } from '../../src/errors.js';
import { encodeDword, encodeQword, encodeSz, RegType, type PolEntry } from '../../src/formats/registry-pol/index.js';
import { POLICY_ROOT } from '../../src/catalog/index.js';
import { makeSnapshot, type PolicySnapshot } from './snapshot.js';
import type { PolicySource } from './source.js';

/** Runs reg.exe with these arguments and resolves with its stdout; rejects as execFile does (code, stdout, stderr). */
export type RegRunner = (args: readonly string[]) => Promise<string>;

/** The source name of the registry's single source. */
export const REGISTRY_SOURCE = 'HKLM';

const HIVE_PREFIX = 'HKEY_LOCAL_MACHINE\\';
const NOT_FOUND = /unable to find the specified registry key or value/i;

/** The default runner: reg.exe through execFile (no shell), output as text. */
export const runReg: RegRunner = (args) =>
  new Promise((resolve, reject) => {
    execFile('reg', [...args], { windowsHide: true, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolve(stdout);
    });
  });

export class WindowsRegistryPolicy implements PolicySource {
  readonly description = `Windows registry HKLM\\${POLICY_ROOT}`;

  constructor(
    private readonly run: RegRunner = runReg,
    private readonly now: () => number = Date.now,
  ) {}

  async load(): Promise<PolicySnapshot> {
    let output: string;
    try {
      output = await this.run(['query', `HKLM\\${POLICY_ROOT}`, '/s']);
    } catch (e) {
      const err = e as { code?: unknown; stdout?: unknown; stderr?: unknown; message?: unknown };
      const text = `${typeof err.stderr === 'string' ? err.stderr : ''}\n${typeof err.stdout === 'string' ? err.stdout : ''}`;
      // reg exits 1 when the key does not exist: nothing is configured.
      if (NOT_FOUND.test(text)) output = '';
      else {
        const said = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '') ?? String(err.message ?? e);
        throw new AscendError('ASC_AGENT_REGISTRY_OUTPUT', `reg query HKLM\\${POLICY_ROOT} failed${typeof err.code === 'number' ? ` (exit ${err.code})` : typeof err.code === 'string' ? ` (${err.code})` : ''}: ${said}`, {
          hint: 'the agent runs reg.exe from the system folder; check that it can (and runs as SYSTEM)',
        });
      }
    }
    const entries = parseRegQuery(output);
    return makeSnapshot({
      origin: 'registry',
      sources: [{ source: REGISTRY_SOURCE, entries }],
      labels: { [REGISTRY_SOURCE]: `HKLM\\${POLICY_ROOT}` },
      fetchedAt: this.now(),
      problems: [],
    });
  }
}

const TYPE_NAMES = [
  'REG_SZ',
  'REG_EXPAND_SZ',
  'REG_MULTI_SZ',
  'REG_DWORD',
  'REG_DWORD_BIG_ENDIAN',
  'REG_QWORD',
  'REG_BINARY',
  'REG_NONE',
  'REG_LINK',
  'REG_RESOURCE_LIST',
  'REG_FULL_RESOURCE_DESCRIPTOR',
  'REG_RESOURCE_REQUIREMENTS_LIST',
] as const;
type TypeName = (typeof TYPE_NAMES)[number];

/** `    NAME    REG_TYPE    DATA` (the data and the four spaces before it may be absent when the data is empty). */
const VALUE_LINE = new RegExp(`^ {4}(.*?) {4}(${TYPE_NAMES.join('|')})(?: {4}(.*))?$`);

/**
 * Parses `reg query KEY /s` output into Registry.pol entries: keys as Registry.pol stores
 * them (the path without "HKEY_LOCAL_MACHINE\"), "(Default)" as the value name '', data
 * encoded as Registry.pol holds it. A line that is neither a key, a value, blank nor
 * reg's closing count is an ASC_AGENT_REGISTRY_OUTPUT error naming its line number.
 */
export function parseRegQuery(output: string): PolEntry[] {
  const entries: PolEntry[] = [];
  let key: string | undefined;
  const lines = output.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    const lineNo = i + 1;
    const bad = (why: string): AscendError =>
      new AscendError('ASC_AGENT_REGISTRY_OUTPUT', `reg query output line ${lineNo}: ${why}: ${JSON.stringify(line.length > 200 ? `${line.slice(0, 200)}...` : line)}`);
    if (line.trim() === '') return;
    if (/^End of search: \d+ match\(es\) found\.$/.test(line.trim())) return;
    if (!line.startsWith(' ')) {
      if (!line.toUpperCase().startsWith(HIVE_PREFIX)) throw bad(`not a key under ${HIVE_PREFIX.slice(0, -1)} nor a value`);
      key = line.slice(HIVE_PREFIX.length).replace(/\s+$/, '');
      if (key === '') throw bad('a key with no path');
      return;
    }
    const m = VALUE_LINE.exec(line);
    if (!m) throw bad('not a value line ("    NAME    REG_TYPE    DATA")');
    if (key === undefined) throw bad('a value before any key');
    const rawName = m[1] ?? '';
    const type = m[2] as TypeName;
    const text = m[3] ?? '';
    const isDefault = rawName === '(Default)';
    // reg prints an unset default value as "(value not set)": there is no value.
    if (isDefault && type === 'REG_SZ' && text === '(value not set)') return;
    entries.push({ key, valueName: isDefault ? '' : rawName, type: RegType[type], data: decodeData(type, text, bad) });
  });
  return entries;
}

function decodeData(type: TypeName, text: string, bad: (why: string) => AscendError): Uint8Array {
  switch (type) {
    case 'REG_SZ':
    case 'REG_EXPAND_SZ':
      return encodeSz(text);
    case 'REG_MULTI_SZ': {
      // reg prints the strings joined by the two characters "\0"; empty strings cannot be stored.
      const items = text === '' ? [] : text.split('\\0').filter((s) => s !== '');
      return encodeSz(items.length === 0 ? '' : `${items.join('\0')}\0`);
    }
    case 'REG_DWORD':
    case 'REG_DWORD_BIG_ENDIAN': {
      if (!/^0x[0-9a-f]{1,8}$/i.test(text)) throw bad(`${type} data is not 0x followed by 1 to 8 hex digits`);
      return encodeDword(Number.parseInt(text.slice(2), 16), type === 'REG_DWORD_BIG_ENDIAN');
    }
    case 'REG_QWORD': {
      if (!/^0x[0-9a-f]{1,16}$/i.test(text)) throw bad('REG_QWORD data is not 0x followed by 1 to 16 hex digits');
      return encodeQword(BigInt(text));
    }
    default: {
      // REG_BINARY and the rest: the bytes as contiguous hex pairs.
      if (!/^(?:[0-9a-f]{2})*$/i.test(text)) throw bad(`${type} data is not an even number of hex digits`);
      return Buffer.from(text, 'hex');
    }
  }
}
