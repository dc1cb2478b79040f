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
import { promises as fs } from 'node:fs';
import { decide, type Decision, type DecisionRequest, type RuleIndex } from '../../src/rules/index.js';
import { debPublisherOf } from '../../src/deb/dpkg-db.js';
import path from 'node:path';
import { commandLineOf, sha256Of, shebangInterpreter } from './program.js';
import { show } from '../executor/common.js';
import { schedulerOf } from '../executor/schedulers.js';
import { AscendError } from '../../src/errors.js';
import { openRegularOnly } from '../../src/open-regular.js';

const CACHE_SIZE = 512;

/** One exec the launcher asks about (see agent/executor/contract.ts, ElevationSpec.onExec). */
export interface ExecQuestion {
  pid: number;
  path: string;
  argv: string[];
  exe: string;
  /**
   * Set when `pid` is not the process whose working folder the kernel will use (the first
   * program, judged in the agent before the launcher enters its folder): a relative interpreter
   * or loader target cannot be found as the kernel will find it, and is refused.
   */
  folderUnknown?: true;
}

/** Who the elevation is for: as the first program was decided. */
export interface ExecContext {
  user: string;
  groups: readonly string[];
  computer: string;
  collections: readonly string[];
  tseActive: boolean;
  /**
   * The groups to decide this program with, the groups deny rules name confirmed through the
   * name service for it (./deny-groups.ts), or why they could not be (then the exec is refused).
   */
  confirmGroups?: (request: DecisionRequest) => Promise<readonly string[] | { unresolved: string }>;
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
  // Only a regular file is opened (a terminal or device named by an exec never is: src/open-regular.ts).
  const handle = await openRegularOnly(real);
  if (handle === null) throw new AscendError('ASC_FILE_UNREADABLE', 'not a regular file');
  try {
    const st = await handle.stat({ bigint: true });
    if (!st.isFile()) throw new AscendError('ASC_FILE_UNREADABLE', 'not a regular file');
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    const known = hashCache.get(key);
    if (known) return known;
    const digest = await sha256Of(handle, Number(st.size), real);
    if (hashCache.size >= CACHE_SIZE) hashCache.delete(hashCache.keys().next().value as string);
    hashCache.set(key, digest);
    return digest;
  } finally {
    await handle.close();
  }
}

/** What the kernel reads of a #! line, and how deep it follows interpreters that are scripts (BINPRM_MAX_RECURSION). */
const SHEBANG_BYTES = 256;
const MAX_INTERPRETERS = 4;

/** The dynamic loader run as a program (`ld-linux-x86-64.so.2 /usr/bin/bash`): it loads and runs the file it names without an exec. */
const LOADER = /^(ld-linux[^/]*\.so(\.[0-9]+)*|ld\.so(\.[0-9]+)*|ld-musl-[^/]*\.so(\.[0-9]+)*)$/;
const LOADER_OPTIONS_WITH_VALUE = new Set(['--library-path', '--inhibit-rpath', '--audit', '--preload', '--argv0', '--glibc-hwcaps-prepend', '--glibc-hwcaps-mask']);

/** The file a directly run loader is told to run (argv after its own), or null when it runs none. */
export function loaderTarget(argv: readonly string[]): { program: string; rest: string[] } | null {
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') return i + 1 < argv.length ? { program: argv[i + 1] as string, rest: argv.slice(i + 2) } : null;
    if (LOADER_OPTIONS_WITH_VALUE.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('--')) continue;
    return { program: a, rest: argv.slice(i + 1) };
  }
  return null;
}

const MAX_LINKS = 40;

/**
 * The real path of `p` as the process `pid` resolves it: like realpath, but /proc/self and
 * /proc/thread-self (and so /dev/fd/N, /dev/stdin...) name that process, not the agent. A
 * realpath in the agent would resolve `/dev/fd/7` to the agent's own fd 7, so an elevated
 * process could run a denied program it opened on fd 7 under the name of whatever file the
 * agent has open there. A link to what is not a path (a pipe, a memfd, a deleted file) throws.
 */
export async function resolveAs(pid: number, p: string): Promise<string> {
  if (!Number.isInteger(pid) || pid <= 0) throw new AscendError('ASC_INTERNAL', 'no process');
  if (!p.startsWith('/')) throw new AscendError('ASC_INTERNAL', 'not an absolute path');
  let rest = p.split('/').filter((c) => c !== '' && c !== '.');
  let cur = '/';
  let links = 0;
  while (rest.length > 0) {
    let name = rest.shift() as string;
    if (name === '..') {
      cur = path.dirname(cur);
      continue;
    }
    if (cur === '/proc' && (name === 'self' || name === 'thread-self')) {
      if (name === 'thread-self') rest = ['task', String(pid), ...rest];
      name = String(pid);
    }
    const next = path.join(cur, name);
    const st = await fs.lstat(next);
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw new AscendError('ASC_FILE_UNREADABLE', 'too many links');
      const target = await fs.readlink(next);
      if (target.startsWith('/')) cur = '/';
      else if (/^\/proc\/[0-9]+\//.test(next)) throw new AscendError('ASC_FILE_UNREADABLE', `it names ${target}, which is not a file`);
      rest = [...target.split('/').filter((c) => c !== '' && c !== '.'), ...rest];
      continue;
    }
    if (rest.length > 0 && !st.isDirectory()) throw new AscendError('ASC_FILE_UNREADABLE', 'not a folder');
    cur = next;
  }
  return cur;
}

/** The first bytes of a regular file (null when it is not one: the kernel refuses to run it anyway). */
async function headOf(real: string): Promise<Buffer | null> {
  // Never anything but a regular file is opened (src/open-regular.ts), whatever a folder of the path became.
  const handle = await openRegularOnly(real);
  if (handle === null) return null;
  try {
    const buf = Buffer.alloc(SHEBANG_BYTES);
    const { bytesRead } = await handle.read(buf, 0, SHEBANG_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Decides one exec inside an elevated tree: 'deny' only when a deny rule matches, or it cannot
 * be checked. Every program the kernel runs for it is decided: the file named, the interpreter
 * of a #! script (and of that, when it is a script too), and the file a directly run dynamic
 * loader is told to run; none of those is an exec of its own the launcher could ask about.
 */
export async function judgeExec(index: RuleIndex, q: ExecQuestion, ctx: ExecContext, hashRules: boolean, debRules = false): Promise<ExecJudgement> {
  const commandLine = commandLineOf(q.argv.slice(1));
  let real: string;
  try {
    real = await resolveAs(q.pid, q.path);
  } catch {
    return { verdict: 'deny', path: q.path, commandLine, reason: 'the program it names cannot be resolved' };
  }
  const first = real;
  let args = q.argv.slice(1);
  for (let depth = 0; ; depth++) {
    const one = await judgeOne(index, real, commandLineOf(args), q.exe, ctx, hashRules, debRules);
    if (one.verdict === 'deny') return depth === 0 ? one : { ...one, reason: `${one.reason ?? 'denied'} (it is what ${show(q.path)} runs)` };
    let head: Buffer | null;
    try {
      head = await headOf(real);
    } catch (e) {
      return { verdict: 'deny', path: real, commandLine, reason: `the program cannot be read (${(e as Error).message})` };
    }
    if (!head) break;
    let next: string | null = null;
    const interp = shebangInterpreter(head);
    if (interp !== null) {
      if (typeof interp !== 'string') return { verdict: 'deny', path: real, commandLine, reason: `its interpreter cannot be told: ${interp.unreadable}` };
      next = interp;
      args = [real, ...args];
    } else if (LOADER.test(path.basename(real))) {
      const target = loaderTarget([real, ...args]);
      if (!target) break;
      next = target.program;
      args = target.rest;
    }
    if (next === null) break;
    if (depth + 1 > MAX_INTERPRETERS) return { verdict: 'deny', path: real, commandLine, reason: `it runs interpreters more than ${MAX_INTERPRETERS} levels deep` };
    if (!path.isAbsolute(next) && q.folderUnknown) {
      return { verdict: 'deny', path: real, commandLine, reason: `the program it runs (${show(next)}) is a relative name, found from the folder the program starts in, which is not known when it is judged; name it by its full path` };
    }
    try {
      // A relative name is found from the process's working folder (it waits in this exec).
      real = await resolveAs(q.pid, path.isAbsolute(next) ? next : path.join(`/proc/${q.pid}/cwd`, next));
    } catch {
      return { verdict: 'deny', path: real, commandLine, reason: `the program it runs (${show(next)}) cannot be resolved` };
    }
  }
  return { verdict: 'allow', path: first, commandLine };
}

/** One program the exec runs, decided as the first program of an elevation is. */
async function judgeOne(index: RuleIndex, real: string, commandLine: string, exe: string, ctx: ExecContext, hashRules: boolean, debRules: boolean): Promise<ExecJudgement> {
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
  // A deny rule may name a package (deb:): the package whose unmodified file this is.
  const debPublisher = debRules ? await debPublisherOf(real) : undefined;
  const request: DecisionRequest = {
    user: ctx.user,
    groups: [...ctx.groups],
    computer: ctx.computer,
    collections: [...ctx.collections],
    path: real,
    args: commandLine,
    ...(sha256 ? { sha256 } : {}),
    ...(debPublisher !== undefined ? { debPublisher } : {}),
    ...(exe ? { parentPath: exe } : {}),
    tseActive: ctx.tseActive,
  };
  let groups = request.groups;
  if (ctx.confirmGroups) {
    const confirmed = await ctx.confirmGroups(request);
    if (!Array.isArray(confirmed)) return { verdict: 'deny', path: real, commandLine, reason: (confirmed as { unresolved: string }).unresolved };
    groups = confirmed;
  }
  const decision: Decision = decide(index, { ...request, groups });
  if (decision.decision !== 'deny') return { verdict: 'allow', path: real, commandLine };
  return { verdict: 'deny', path: real, commandLine, reason: `denied by ${decision.matchedRules.join(', ')}`, rules: decision.matchedRules };
}
