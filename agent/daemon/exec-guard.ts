/**
 * The agent's side of the exec guard (Linux; native/launch.c asks, agent/executor/launcher.ts
 * carries the question): every program an elevated process or TSE session starts after the
 * first is decided by the same engine, with the same requester context, and refused when a
 * deny rule matches it. Only 'deny' refuses: an exec no rule names goes on (the elevation
 * itself was allowed already). A path that cannot be resolved, or a program that cannot be
 * hashed while hash rules exist, is refused (fail closed).
 *
 * What this cannot do: the path is read from the process's memory, so a determined elevated
 * process can change it after it was read; and a renamed or modified copy of a denied program
 * matches no rule by name or hash. A denylist stops ordinary nesting (env bash, sh -c bash,
 * find -exec bash, xargs bash); allow rules are the strong control.
 */
import { createHash } from 'node:crypto';
import { constants as fsc, promises as fs } from 'node:fs';
import { decide, type Decision, type RuleIndex } from '../../src/rules/index.js';
import { commandLineOf } from './program.js';
import { schedulerOf } from '../executor/schedulers.js';

const MAX_HASHED_BYTES = 2 ** 30;
const CHUNK = 1 << 20;
const CACHE_SIZE = 512;

/** One exec the launcher asks about (see agent/executor/contract.ts, ElevationSpec.onExec). */
export interface ExecQuestion {
  pid: number;
  path: string;
  argv: string[];
  exe: string;
}

/** Who the elevation is for: as the first program was decided. */
export interface ExecContext {
  user: string;
  groups: readonly string[];
  computer: string;
  collections: readonly string[];
  tseActive: boolean;
}

export interface ExecJudgement {
  verdict: 'allow' | 'deny';
  /** The real path (or the path asked about, when it could not be resolved). */
  path: string;
  commandLine: string;
  /** Why it was refused, when it was. */
  reason?: string;
  rules?: string[];
}

/** Hashes of files already read, by identity and change time (ctime cannot be set back by a user). */
const hashCache = new Map<string, string>();

async function sha256OfPath(real: string): Promise<string> {
  const handle = await fs.open(real, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  try {
    const st = await handle.stat({ bigint: true });
    if (!st.isFile()) throw new Error('not a regular file');
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    const known = hashCache.get(key);
    if (known) return known;
    if (st.size > BigInt(MAX_HASHED_BYTES)) throw new Error('too large to hash');
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(CHUNK);
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, CHUNK, total);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > MAX_HASHED_BYTES) throw new Error('grew too large while hashed');
      hash.update(buf.subarray(0, bytesRead));
    }
    const digest = hash.digest('hex');
    if (hashCache.size >= CACHE_SIZE) hashCache.delete(hashCache.keys().next().value as string);
    hashCache.set(key, digest);
    return digest;
  } finally {
    await handle.close();
  }
}

/** Decides one exec inside an elevated tree: 'deny' only when a deny rule matches, or it cannot be checked. */
export async function judgeExec(index: RuleIndex, q: ExecQuestion, ctx: ExecContext, hashRules: boolean): Promise<ExecJudgement> {
  const commandLine = commandLineOf(q.argv.slice(1));
  let real: string;
  try {
    real = await fs.realpath(q.path);
  } catch {
    return { verdict: 'deny', path: q.path, commandLine, reason: 'the program it names cannot be resolved' };
  }
  // cron, at and systemd would run queued work outside the tree, where no rule is checked.
  try {
    const scheduler = await schedulerOf(await fs.stat(real));
    if (scheduler) return { verdict: 'deny', path: real, commandLine, reason: `${scheduler} would queue work that runs outside the elevation, where its rules are not checked` };
  } catch {
    return { verdict: 'deny', path: real, commandLine, reason: 'the program it names cannot be read' };
  }
  let sha256: string | undefined;
  if (hashRules) {
    try {
      sha256 = await sha256OfPath(real);
    } catch (e) {
      return { verdict: 'deny', path: real, commandLine, reason: `the program cannot be hashed (${(e as Error).message})` };
    }
  }
  const decision: Decision = decide(index, {
    user: ctx.user,
    groups: [...ctx.groups],
    computer: ctx.computer,
    collections: [...ctx.collections],
    path: real,
    args: commandLine,
    ...(sha256 ? { sha256 } : {}),
    ...(q.exe ? { parentPath: q.exe } : {}),
    tseActive: ctx.tseActive,
  });
  if (decision.decision !== 'deny') return { verdict: 'allow', path: real, commandLine };
  return { verdict: 'deny', path: real, commandLine, reason: `denied by ${decision.matchedRules.join(', ')}`, rules: decision.matchedRules };
}
