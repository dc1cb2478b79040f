/**
 * What every route module gets from buildServer: the store, the two authentication hooks,
 * the settings, and the in-process signal that wakes long-polls when a request is decided.
 */
import { EventEmitter } from 'node:events';
import type { FastifyRequest } from 'fastify';
import { AscendError, type ErrorCode } from '../../errors.js';
import type { Agent, ApiRole, ApiToken, CollectorStore } from '../storage/index.js';
import { timeFrom } from '../time.js';

declare module 'fastify' {
  interface FastifyRequest {
    agent?: Agent;
    apiToken?: ApiToken;
  }
}

/** Who signed in, and the role their group memberships give. */
export interface SignedInUser {
  name: string;
  role: ApiRole;
}

/** Signs an admin in against Active Directory (AdSignIn). */
export interface SignInProvider {
  authenticate(user: string, password: string): Promise<SignedInUser>;
}

export interface CollectorSettings {
  /** Pending approval requests expire after this long (default 4 h). */
  approvalTtlMs: number;
  /** The longest a long-poll waits for a decision (default 60 s). */
  maxPollWaitMs: number;
  /** How often a long-poll looks at the store, for decisions made by another collector (default 1 s). */
  pollIntervalMs: number;
  /** TOTP: issuer shown in authenticator apps, failures before a lock, lock length. */
  mfaIssuer: string;
  mfaMaxFailures: number;
  mfaLockMs: number;
  /** Active Directory sign-in; undefined = not configured (the route answers 404). */
  signIn: SignInProvider | undefined;
  /** How long an AD sign-in session token lives (default 8 h). */
  sessionTtlMs: number;
  /** Failed sign-ins per client address and user name before 429, per window. */
  signInMaxFailures: number;
  signInWindowMs: number;
}

export const DEFAULT_SETTINGS: CollectorSettings = {
  approvalTtlMs: 4 * 3600_000,
  maxPollWaitMs: 60_000,
  pollIntervalMs: 1000,
  mfaIssuer: 'Ascend',
  mfaMaxFailures: 5,
  mfaLockMs: 15 * 60_000,
  signIn: undefined,
  sessionTtlMs: 8 * 3600_000,
  signInMaxFailures: 5,
  signInWindowMs: 15 * 60_000,
};

export type AuthHook = (req: FastifyRequest) => Promise<void>;

export interface RouteContext {
  store: CollectorStore;
  settings: CollectorSettings;
  /** onRequest hook: an enrolled, unrevoked agent credential. */
  agentAuth: AuthHook;
  /** onRequest hook: an API token (or sign-in session) with at least this role. */
  requireRole(min: ApiRole): AuthHook;
  /** Emits `decided` with the approval request id when this collector decides one. */
  approvalEvents: EventEmitter;
  /** Aborted when the server starts closing (long-polls end). */
  closing: AbortController;
}

export const ROLE_RANK: Record<ApiRole, number> = { viewer: 0, approver: 1, admin: 2 };

/** The bearer secret of the Authorization header, if any. */
export function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

export function fail(code: ErrorCode, message: string): AscendError {
  return new AscendError(code, message);
}

/** ISO 8601 or milliseconds; the field is named in the error. */
export function parseTime(v: string | number | undefined, field: string): number | undefined {
  if (v === undefined) return undefined;
  const t = timeFrom(v);
  if (t === undefined) throw new AscendError('ASC_COLLECTOR_BAD_INPUT', `${field} must be an ISO 8601 time with a zone (2026-03-02T09:00:00Z) or milliseconds`);
  return t;
}

export function iso(t: number | null): string | null {
  return t === null ? null : new Date(t).toISOString();
}

export function makeAuth(store: CollectorStore): Pick<RouteContext, 'agentAuth' | 'requireRole'> {
  async function agentAuth(req: FastifyRequest): Promise<void> {
    const secret = bearer(req);
    if (secret === undefined) throw fail('ASC_COLLECTOR_UNAUTHENTICATED', 'an agent credential is required (Authorization: Bearer ...)');
    const agent = await store.findAgentByCredential(secret);
    if (agent === undefined || agent.revokedAt !== null) throw fail('ASC_COLLECTOR_UNAUTHENTICATED', 'the agent credential is unknown or revoked');
    req.agent = agent;
  }
  function requireRole(min: ApiRole): AuthHook {
    return async (req) => {
      const secret = bearer(req);
      if (secret === undefined) throw fail('ASC_COLLECTOR_UNAUTHENTICATED', 'an API token is required (Authorization: Bearer ...)');
      const token = await store.findApiToken(secret);
      if (token === undefined) throw fail('ASC_COLLECTOR_UNAUTHENTICATED', 'the API token is unknown, revoked or expired');
      if (ROLE_RANK[token.role] < ROLE_RANK[min]) throw fail('ASC_COLLECTOR_FORBIDDEN', `this needs the ${min} role; the token has ${token.role}`);
      req.apiToken = token;
    };
  }
  return { agentAuth, requireRole };
}

/** Who did it, for audit fields: the token's name (an AD session is named after the account). */
export function actor(req: FastifyRequest): string {
  return req.apiToken?.name ?? 'unknown';
}
