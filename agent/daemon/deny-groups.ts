/**
 * The groups that deny rules name, asked of the name service by name before a decision.
 *
 * The account's groups (./identity.ts, getgrouplist) are what the sources that answered gave:
 * glibc drops a failing source's groups without a word (sssd or winbind restarting, offline
 * with part of a cache), so a member of a directory group that a deny rule names could be
 * judged as a non-member. As sudo does for its %group entries, each deny rule's group that
 * would turn this request into a denial is looked up by its name (getgrnam_r): the requester
 * is in it when one of its gids is the group's or the group lists its name (case ignored); a
 * lookup that fails, does not answer, or finds no such group leaves the identity unresolved,
 * and the request is refused (fail closed). The exec guard asks the same for every later exec
 * of an elevated tree (./exec-guard.ts), with the answers of that elevation kept.
 */
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { decide, type DecisionRequest, type Rule, type RuleIndex } from '../../src/rules/index.js';
import { entryIsQualified, isSidLike, principalForms } from '../../src/rules/normalize.js';
import { addonFunction, askInProcess, FORK_ENV, GETENT, NameServiceTimeout } from '../executor/nss.js';
import type { Requester } from './identity.js';
import { escapeControlChars } from '../../src/log-line.js';

export interface GroupAnswer {
  name: string;
  gid: number;
  /** The group lists the asked member by name. */
  member: boolean;
}
/** A group by its name, and whether `member` is listed in it; null when the name service knows no such group. */
export type GroupLookup = (group: string, member: string, timeoutMs: number) => Promise<GroupAnswer | null>;
type GroupMembership = (group: string, member: string, cb: (err: Error | null, answer: GroupAnswer | null) => void) => void;

const LOOKUP_TIMEOUT_MS = 5000;

/** The distinct groups that deny rules name, SIDs left out (the name service knows no SIDs). */
export function denyRuleGroups(rules: readonly Pick<Rule, 'action' | 'target'>[]): string[] {
  const seen = new Map<string, string>();
  for (const r of rules) {
    if (r.action !== 'deny') continue;
    for (const g of r.target.groups ?? []) {
      const key = g.trim().toLowerCase();
      if (key !== '' && !isSidLike(key) && !seen.has(key)) seen.set(key, g.trim());
    }
  }
  return [...seen.values()];
}

/** Whether one of `groups` is the rule's group `entry`, as the engine compares them. */
function alreadyIn(groups: readonly string[], entry: string): boolean {
  const e = entry.toLowerCase();
  const qualified = entryIsQualified(e);
  return groups.some((g) => {
    const f = principalForms(g);
    return qualified ? f.full === e : f.short === e;
  });
}

/**
 * Lookups of one elevation (the exec guard asks again for every later exec), by the group's
 * name: each kept as it was started, a failure too, so execs side by side share one lookup and
 * a failing source is not asked again for every exec.
 */
export type GroupAnswers = Map<string, Promise<GroupAnswer | null>>;

/**
 * The requester, with each deny rule's group that would deny this request confirmed through
 * the name service: added to its groups when it is a member (then the request is denied, and no
 * further group is asked), `unresolved` set when the name service could not say, or knows no
 * such group (the rule names one an admin meant to exist: a source that is down may answer "not
 * found" too). Unchanged when the request is denied already or no deny rule's group matters to
 * it. One call waits 5 s in all (a lookup it started runs on for its own 5 s, its answer kept in
 * `answers`), and starts none once `signal` is aborted.
 */
export async function confirmDenyGroups(
  index: RuleIndex,
  request: DecisionRequest,
  requester: Requester,
  denyGroups: readonly string[],
  opts: { answers?: GroupAnswers; signal?: AbortSignal; lookup?: GroupLookup; timeoutMs?: number } = {},
): Promise<Requester> {
  const timeoutMs = opts.timeoutMs ?? LOOKUP_TIMEOUT_MS;
  const lookupOf = opts.lookup ?? groupMembership;
  // The name service of glibc (Linux) is what drops groups; elsewhere the token carries every group.
  if (process.platform !== 'linux' || requester.unresolved !== undefined || denyGroups.length === 0) return requester;
  if (decide(index, request).decision === 'deny') return requester;
  const missing = denyGroups.filter((g) => !alreadyIn(requester.groups, g));
  // The common case, one decision: with every such group added, still no denial.
  if (missing.length === 0 || decide(index, { ...request, groups: [...requester.groups, ...missing] }).decision !== 'deny') return requester;
  const inPlay = missing.filter((g) => decide(index, { ...request, groups: [...requester.groups, g] }).decision === 'deny');
  const deadline = performance.now() + timeoutMs;
  const outOfTime = (): Requester => ({ ...requester, unresolved: `the groups that deny rules name were not all read from the name service within ${timeoutMs / 1000} s` });
  for (const group of inPlay) {
    const shown = escapeControlChars(group);
    let lookup = opts.answers?.get(group);
    if (lookup === undefined) {
      if (opts.signal?.aborted) return { ...requester, unresolved: `the request was abandoned before the group ${shown} that a deny rule names was read` };
      if (performance.now() >= deadline) return outOfTime();
      // Each lookup gets its own full time: it is kept for the elevation's later execs, and must
      // not carry the failure of a call that ran out of time into them. This call's deadline
      // bounds only its own wait, below.
      lookup = lookupOf(group, requester.name, timeoutMs);
      opts.answers?.set(group, lookup);
    }
    let answer: GroupAnswer | null;
    try {
      const waited = await withinDeadline(lookup, deadline);
      if (waited === OUT_OF_TIME) return outOfTime();
      answer = waited;
    } catch (e) {
      const why = escapeControlChars(e instanceof Error ? e.message : String(e));
      return { ...requester, unresolved: `the group ${shown} that a deny rule names could not be read from the name service (${why})` };
    }
    if (answer === null) return { ...requester, unresolved: `the group ${shown} that a deny rule names is not known to the name service` };
    if (answer.member || requester.gids.includes(answer.gid)) {
      return { ...requester, groups: [...requester.groups, group], gids: requester.gids.includes(answer.gid) ? requester.gids : [...requester.gids, answer.gid] };
    }
  }
  return requester;
}

const OUT_OF_TIME = Symbol('out of time');
/** `p`'s answer, or OUT_OF_TIME once `deadline` (performance.now() ms, a clock set back or forth does not move it) passes first; `p` runs on either way. */
async function withinDeadline<T>(p: Promise<T>, deadline: number): Promise<T | typeof OUT_OF_TIME> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof OUT_OF_TIME>((resolve) => {
    timer = setTimeout(() => resolve(OUT_OF_TIME), Math.max(0, deadline - performance.now()));
    timer.unref();
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The group by its name and whether `member` is listed in it: in process where it can be (one
 * pool thread), else through getent; rejects with NameServiceTimeout when no answer came in
 * time. `background` (a check no request waits for) asks in process only while no other lookup
 * is out: it takes at most one of the two slots (a lookup of its that hangs keeps it, as any does;
 * requests then have the other, and fork beyond it).
 */
export async function groupMembership(group: string, member: string, timeoutMs = LOOKUP_TIMEOUT_MS, background = false): Promise<GroupAnswer | null> {
  const native = addonFunction<GroupMembership>('groupMembership');
  const fits = (t: string): boolean => Buffer.byteLength(t) <= 1024 && !t.includes('\0');
  const asked = native && fits(group) && fits(member) ? askInProcess<GroupAnswer | null>((cb) => native(group, member, cb), timeoutMs, background ? 1 : undefined) : undefined;
  if (!asked) return getentGroup(group, member, timeoutMs);
  const outcome = await asked;
  if (!outcome.ok) throw outcome.timedOut ? new NameServiceTimeout(timeoutMs) : new Error(outcome.error);
  return outcome.value;
}

/**
 * The same through `getent group NAME` (its line is name:password:gid:members). getent's status
 * 2 says "not found" also when a source failed, and is taken as not found: the caller refuses
 * what a rule on an unknown group would deny, so both end the same way. A name of digits only
 * would be read by getent as a gid: not asked, not found.
 */
function getentGroup(group: string, member: string, timeoutMs: number): Promise<GroupAnswer | null> {
  if (/^\d+$/.test(group)) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    execFile(GETENT, ['group', '--', group], { env: FORK_ENV, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout) => {
      if (err) {
        const e = err as { code?: unknown; killed?: boolean };
        if (e.code === 2 && !e.killed) resolve(null);
        else if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') reject(new Error('getent answered more than 64 MiB'));
        else reject(e.killed ? new NameServiceTimeout(timeoutMs) : new Error(`getent ${typeof e.code === 'number' ? `exited with status ${e.code}` : 'could not run'}`));
        return;
      }
      const f = stdout.split('\n')[0]?.split(':') ?? [];
      if (f.length < 4 || !/^\d+$/.test(f[2] ?? '')) {
        reject(new Error('getent answered no group line'));
        return;
      }
      const wanted = member.toLowerCase();
      resolve({ name: f[0] as string, gid: Number(f[2]), member: (f[3] ?? '').split(',').some((m) => m.toLowerCase() === wanted) });
    });
  });
}
