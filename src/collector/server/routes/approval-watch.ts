/**
 * The approvals page's long-poll (GET /api/v1/approvals/watch): the pending requests and the
 * ones decided in the last day, with a tag of that state. A client that sends the tag it has
 * gets an answer when the state differs (a request filed or decided here wakes it at once;
 * one decided on another collector of the same database within a poll interval), or when its
 * wait ends; it then asks again with the new tag. Nothing is pushed that the caller's role
 * could not list anyway.
 */
import { createHash } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyRequest } from 'fastify';
import type { ApprovalRequest, CollectorStore } from '../../storage/index.js';

/** Decided requests shown: those filed in the last day, the newest this many. */
export const DECIDED_WINDOW_MS = 24 * 3600_000;
export const DECIDED_MAX = 100;
/**
 * Pending requests shown: the oldest this many (issue 18: every read of the watch is bounded,
 * whatever the database holds); `pendingMore` says that more are waiting.
 */
export const PENDING_MAX = 500;
/**
 * And by size: an agent may send up to 64 KB of arguments and justification per request, so
 * 500 rows could be 30 MB a second per open page. The rows go in (oldest pending first, then the
 * newest decided) while their JSON stays within this many bytes; the rest is `pendingMore`.
 */
export const WATCH_MAX_BYTES = 2 * 1024 * 1024;
/** What the rows of one computer may take of it, beyond their first row. */
export const WATCH_AGENT_SHARE = 256 * 1024;

export interface WatchDeps<V> {
  store: Pick<CollectorStore, 'listApprovals' | 'recentlyDecidedApprovals' | 'expirePendingApprovals'>;
  ttlMs: number;
  pollIntervalMs: number;
  /** Emits 'changed' when a request is filed or decided on this collector. */
  events: EventEmitter;
  /** Aborted when the server starts closing. */
  closing: AbortSignal;
  view: (r: ApprovalRequest, ttlMs: number) => V;
}

export interface WatchState<V> {
  tag: string;
  pending: V[];
  /** True when more requests are pending than `pending` holds (the oldest PENDING_MAX). */
  pendingMore: boolean;
  decided: V[];
}

async function snapshot<V>(deps: WatchDeps<V>, now: number): Promise<WatchState<V>> {
  await deps.store.expirePendingApprovals(deps.ttlMs, now);
  // Both reads are bounded: one more pending than shown tells that more wait; the decided ones are cut by the database.
  const pending = await deps.store.listApprovals({ status: 'pending', limit: PENDING_MAX + 1 });
  const decided = await deps.store.recentlyDecidedApprovals(now - DECIDED_WINDOW_MS, DECIDED_MAX);
  let budget = WATCH_MAX_BYTES;
  // One computer's rows (up to 64 KB of text each, 6 bytes a control character in JSON) take at
  // most a share of the budget beyond its first row, so it cannot push everyone else's off the page.
  const perAgent = new Map<string, number>();
  const fit = (rows: readonly ApprovalRequest[]): V[] => {
    const out: V[] = [];
    for (const r of rows) {
      const v = deps.view(r, deps.ttlMs);
      const size = Buffer.byteLength(JSON.stringify(v));
      if (size > budget) break;
      const used = perAgent.get(r.agentId) ?? 0;
      if (used > 0 && used + size > WATCH_AGENT_SHARE) continue;
      perAgent.set(r.agentId, used + size);
      budget -= size;
      out.push(v);
    }
    return out;
  };
  const shown = fit(pending.slice(0, PENDING_MAX));
  const state = {
    pending: shown,
    pendingMore: pending.length > shown.length,
    decided: fit(decided),
  };
  const tag = createHash('sha256').update(JSON.stringify(state)).digest('hex').slice(0, 32);
  return { tag, ...state };
}

/** The state now, or, when it is still `since`, the state once it changes or `waitMs` passes (or the client goes). */
export async function watchApprovals<V>(req: FastifyRequest, deps: WatchDeps<V>, since: string | undefined, waitMs: number): Promise<WatchState<V>> {
  const deadline = Date.now() + waitMs;
  const gone = new AbortController();
  const onClose = () => gone.abort();
  req.raw.once('close', onClose);
  try {
    for (;;) {
      const state = await snapshot(deps, Date.now());
      const left = deadline - Date.now();
      if (since === undefined || state.tag !== since || left <= 0 || gone.signal.aborted || deps.closing.aborted) return state;
      const wake = new AbortController();
      const onChanged = () => wake.abort();
      deps.events.once('changed', onChanged);
      try {
        await sleep(Math.min(left, deps.pollIntervalMs), undefined, { signal: AbortSignal.any([gone.signal, deps.closing, wake.signal]) }).catch(() => undefined);
      } finally {
        deps.events.off('changed', onChanged);
      }
    }
  } finally {
    req.raw.off('close', onClose);
  }
}
