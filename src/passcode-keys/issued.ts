import { createHash } from 'node:crypto';
import { promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';
import { AscendError } from '../errors.js';
import { isoSeconds, type PasscodeTerms } from '../passcode/index.js';
import { ascendHome, ensureAscendHome } from './home.js';

/**
 * The registry of passcodes this console issued: `issued-passcodes.jsonl` in the Ascend
 * home, one JSON object per line, appended. It holds what a passcode says and where it was
 * written, and the SHA-256 of the token rather than the token: a token is a bearer secret,
 * and the hash is enough to tell whether a given file is the one issued.
 */
export const ISSUED_FILE = 'issued-passcodes.jsonl';

export interface IssuedPasscode {
  id: string;
  title: string;
  issuer: string;
  /** ISO 8601 UTC. */
  issuedAt: string;
  kid: string;
  maxUses: number;
  durationSeconds: number;
  endProcesses: boolean;
  computers: string[];
  users: string[];
  notBefore?: string;
  notAfter?: string;
  weekdays?: number[];
  hours?: { from: string; to: string };
  utcOffsetMinutes?: number;
  groups: string[];
  privileges: string[];
  integrity: string;
  /** Absolute path of the .ascpass written. */
  file: string;
  /** SHA-256 of the token, lower-case hex. */
  tokenSha256: string;
}

export function issuedPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(ascendHome(env), ISSUED_FILE);
}

export function tokenSha256(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function issuedRecord(terms: PasscodeTerms, kid: string, token: string, file: string): IssuedPasscode {
  return {
    id: terms.id,
    title: terms.title,
    issuer: terms.iss,
    issuedAt: isoSeconds(terms.iat),
    kid,
    maxUses: terms.maxUses,
    durationSeconds: terms.durationSeconds,
    endProcesses: terms.endProcesses,
    computers: [...terms.computers],
    users: [...terms.users],
    ...(terms.notBefore !== undefined ? { notBefore: isoSeconds(terms.notBefore) } : {}),
    ...(terms.notAfter !== undefined ? { notAfter: isoSeconds(terms.notAfter) } : {}),
    ...(terms.weekdays !== undefined ? { weekdays: [...terms.weekdays] } : {}),
    ...(terms.hours !== undefined ? { hours: { ...terms.hours } } : {}),
    ...(terms.utcOffsetMinutes !== undefined ? { utcOffsetMinutes: terms.utcOffsetMinutes } : {}),
    groups: [...terms.groups],
    privileges: [...terms.privileges],
    integrity: terms.integrity,
    file,
    tokenSha256: tokenSha256(token),
  };
}

/** Appends one record (the file is created mode 600; one write of one line, O_APPEND). */
export async function appendIssued(record: IssuedPasscode, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await ensureAscendHome(env);
  const file = issuedPath(env);
  try {
    const handle = await fs.open(file, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_APPEND, 0o600);
    try {
      await handle.write(`${JSON.stringify(record)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (e) {
    throw new AscendError('ASC_FILE_UNREADABLE', `${file}: cannot record the passcode (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

function isIssued(v: unknown): v is IssuedPasscode {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return typeof r.id === 'string' && typeof r.title === 'string' && typeof r.issuedAt === 'string' && typeof r.kid === 'string' && typeof r.maxUses === 'number';
}

/** The issued passcodes, oldest first; lines that do not parse are counted, not fatal. */
export async function readIssued(env: NodeJS.ProcessEnv = process.env): Promise<{ passcodes: IssuedPasscode[]; unreadableLines: number }> {
  const file = issuedPath(env);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { passcodes: [], unreadableLines: 0 };
    throw new AscendError('ASC_FILE_UNREADABLE', `${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const passcodes: IssuedPasscode[] = [];
  let unreadableLines = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const parsed: unknown = JSON.parse(line);
      if (isIssued(parsed)) passcodes.push(parsed);
      else unreadableLines++;
    } catch {
      unreadableLines++;
    }
  }
  return { passcodes, unreadableLines };
}
