/**
 * What every route module gets from buildServer: the store, the two authentication hooks,
 * the settings, and the in-process signal that wakes long-polls when a request is decided.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { KeyObject } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type GrantKind, isNonce, NONCE_HEADER, signGrant } from '../../collector-api/grant.js';
import { AscendError, type ErrorCode } from '../../errors.js';
import type { Agent, ApiRole, ApiToken, CollectorStore } from '../storage/index.js';
import { timeFrom } from '../../collector-api/time.js';
import type { GrantAnswers } from '../../collector-api/views.js';
import { addressKey, FailureCounter } from './auth-failures.js';
import { markAuthenticated } from './connection-guard.js';
import type { WebhookDispatcher } from '../webhooks/dispatcher.js';
import type { SecretBox } from '../webhooks/secret-box.js';
import type { WebhookStore } from '../webhooks/store.js';

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
  /** Every name and the SID the account is known by (its session's owners, against self-approval); default [name]. */
  identities?: readonly string[];
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
  /** The domain-wide backstop: this many wrong codes for a user across all computers within the window lock the user everywhere. */
  mfaBackstopFailures: number;
  mfaBackstopWindowMs: number;
  /** Active Directory sign-in; undefined = not configured (the route answers 404). */
  signIn: SignInProvider | undefined;
  /** How long an AD sign-in session token lives (default 8 h). */
  sessionTtlMs: number;
  /** Failed sign-ins per client address and user name before 429, per window. */
  signInMaxFailures: number;
  signInWindowMs: number;
  /** Failed authentications (unknown or revoked bearer values) per client address before 429, per window; 0 = no limit. */
  authMaxFailures: number;
  authFailureWindowMs: number;
}

export const DEFAULT_SETTINGS: CollectorSettings = {
  approvalTtlMs: 4 * 3600_000,
  maxPollWaitMs: 60_000,
  pollIntervalMs: 1000,
  mfaIssuer: 'Ascend',
  mfaMaxFailures: 5,
  mfaLockMs: 15 * 60_000,
  mfaBackstopFailures: 30,
  mfaBackstopWindowMs: 3600_000,
  signIn: undefined,
  sessionTtlMs: 8 * 3600_000,
  signInMaxFailures: 5,
  signInWindowMs: 15 * 60_000,
  authMaxFailures: 50,
  authFailureWindowMs: 60_000,
};

export type AuthHook = (req: FastifyRequest, reply?: FastifyReply) => Promise<void>;

export interface RouteContext {
  store: CollectorStore;
  /** Webhooks (issue 18): their table, the sender that routes enqueue events with, and the key that seals their secrets. */
  webhookStore: WebhookStore;
  webhooks: WebhookDispatcher;
  secretBox: SecretBox;
  settings: CollectorSettings;
  /** onRequest hook: an enrolled, unrevoked agent credential. */
  agentAuth: AuthHook;
  /** onRequest hook: an API token (or sign-in session) with at least this role. */
  requireRole(min: ApiRole): AuthHook;
  /** Emits `decided` with the approval request id when this collector decides one. */
  approvalEvents: EventEmitter;
  /** Aborted when the server starts closing (long-polls end). */
  closing: AbortController;
  /** The TLS anchor agents pin (null: none, e.g. plain http) and the key that signs grants. */
  identity: CollectorIdentity;
}

export interface CollectorIdentity {
  /** The certificate authority agents pin (PEM), with its pin; null when the server has none. */
  anchor: string | null;
  pin: string | null;
  /** Ed25519 private key that signs grants, and its public half (SPKI PEM) given at enrollment. */
  grantKey: KeyObject;
  grantPublicKey: string;
}

/**
 * An agent answer that grants something, with its signed grant: bound to the calling agent
 * and to the nonce the agent sent (header ascend-nonce). Without a well-formed nonce the
 * answer goes unsigned, and an agent that pins the collector acts on no such answer.
 */
export function granted<K extends GrantKind>(req: FastifyRequest, identity: CollectorIdentity, kind: K, answer: GrantAnswers[K]): GrantAnswers[K] & { grant?: string } {
  const nonce = req.headers[NONCE_HEADER];
  const agentId = req.agent?.id;
  if (!isNonce(nonce) || agentId === undefined) return answer;
  return { ...answer, grant: signGrant(identity.grantKey, { kind, agentId, nonce, issuedAt: Date.now(), answer }) };
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

export function iso(t: number): string;
export function iso(t: number | null): string | null;
export function iso(t: number | null): string | null {
  return t === null ? null : new Date(t).toISOString();
}

export function makeAuth(
  store: CollectorStore,
  limits: Pick<CollectorSettings, 'authMaxFailures' | 'authFailureWindowMs'> = DEFAULT_SETTINGS,
): Pick<RouteContext, 'agentAuth' | 'requireRole'> {
  // Failed lookups per client address: past the limit the address is answered before any hash or SELECT.
  const failures = new FailureCounter(limits.authMaxFailures, limits.authFailureWindowMs);
  // Credentials that authenticated lately (their SHA-256, bounded): a blocked address still lets
  // them through, so one local user's or NAT neighbour's made-up tokens cannot lock the agents and
  // admins behind the same address out. Unknown secrets cost one SHA-256 and no lookup.
  const knownGood = new Map<string, true>();
  const KNOWN_GOOD_MAX = 100_000;
  const digest = (secret: string) => createHash('sha256').update(secret).digest('base64url');
  function remember(secret: string): void {
    const d = digest(secret);
    knownGood.delete(d);
    knownGood.set(d, true);
    if (knownGood.size > KNOWN_GOOD_MAX) knownGood.delete(knownGood.keys().next().value as string);
  }
  function checkAddress(req: FastifyRequest, reply: FastifyReply | undefined, secret: string): string {
    const key = addressKey(req.ip);
    const wait = failures.blockedFor(key);
    if (wait > 0 && !knownGood.has(digest(secret))) {
      const seconds = Math.max(1, Math.ceil(wait / 1000));
      reply?.header('retry-after', String(seconds));
      throw fail('ASC_COLLECTOR_RATE_LIMITED', `too many failed authentications from this address; try again in ${seconds} s`);
    }
    return key;
  }
  async function agentAuth(req: FastifyRequest, reply?: FastifyReply): Promise<void> {
    const secret = bearer(req);
    if (secret === undefined) throw fail('ASC_COLLECTOR_UNAUTHENTICATED', 'an agent credential is required (Authorization: Bearer ...)');
    const key = checkAddress(req, reply, secret);
    const agent = await store.findAgentByCredential(secret);
    if (agent === undefined || agent.revokedAt !== null) {
      knownGood.delete(digest(secret));
      failures.fail(key);
      throw fail('ASC_COLLECTOR_UNAUTHENTICATED', 'the agent credential is unknown or revoked');
    }
    req.agent = agent;
    remember(secret);
    markAuthenticated(req.raw.socket, `agent:${agent.id}`);
  }
  function requireRole(min: ApiRole): AuthHook {
    return async (req, reply) => {
      const secret = bearer(req);
      if (secret === undefined) throw fail('ASC_COLLECTOR_UNAUTHENTICATED', 'an API token is required (Authorization: Bearer ...)');
      const key = checkAddress(req, reply, secret);
      const token = await store.findApiToken(secret);
      if (token === undefined) {
        knownGood.delete(digest(secret));
        failures.fail(key);
        throw fail('ASC_COLLECTOR_UNAUTHENTICATED', 'the API token is unknown, revoked or expired');
      }
      if (ROLE_RANK[token.role] < ROLE_RANK[min]) throw fail('ASC_COLLECTOR_FORBIDDEN', `this needs the ${min} role; the token has ${token.role}`);
      req.apiToken = token;
      remember(secret);
      markAuthenticated(req.raw.socket, `token:${token.id}`);
    };
  }
  return { agentAuth, requireRole };
}

/** Who did it, for audit fields: the token's name (an AD session is named after the account). */
export function actor(req: FastifyRequest): string {
  return req.apiToken?.name ?? 'unknown';
}
