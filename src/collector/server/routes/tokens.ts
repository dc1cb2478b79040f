/**
 * Admin authentication: API tokens (viewer, approver, admin) made by an admin, and sign-in
 * with Active Directory, which makes a session token (an expiring API token named after the
 * account, with the role its group memberships give). Failed sign-ins are limited per client
 * address and user name.
 */
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { isAscendError } from '../../../errors.js';
import type { ApiToken } from '../../storage/index.js';
import { actor, bearer, fail, iso, parseTime, type RouteContext } from '../context.js';
import { EmptyQuery, IdParams, SignInBody, TokenBody } from '../schemas.js';

function tokenView(t: ApiToken) {
  return { id: t.id, name: t.name, role: t.role, source: t.source, createdAt: iso(t.createdAt), expiresAt: iso(t.expiresAt), revokedAt: iso(t.revokedAt) };
}

/** Failures per key in a sliding window; memory is bounded by dropping the oldest keys. */
export class FailureCounter {
  private readonly failures = new Map<string, number[]>();
  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly maxKeys = 10_000,
  ) {}

  /** Milliseconds until the key may try again; 0 = now. */
  blockedFor(key: string, now = Date.now()): number {
    const recent = (this.failures.get(key) ?? []).filter((t) => t > now - this.windowMs);
    if (recent.length < this.max) return 0;
    return (recent[recent.length - this.max] ?? now) + this.windowMs - now;
  }

  fail(key: string, now = Date.now()): void {
    const recent = (this.failures.get(key) ?? []).filter((t) => t > now - this.windowMs);
    recent.push(now);
    this.failures.delete(key);
    this.failures.set(key, recent);
    if (this.failures.size > this.maxKeys) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  clear(key: string): void {
    this.failures.delete(key);
  }
}

export function registerTokenRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { store, settings } = ctx;
  const signInFailures = new FailureCounter(settings.signInMaxFailures, settings.signInWindowMs);

  app.post<{ Body: Static<typeof TokenBody> }>('/api/v1/tokens', { schema: { body: TokenBody }, onRequest: ctx.requireRole('admin') }, async (req, reply) => {
    const expiresAt = parseTime(req.body.expiresAt, 'body.expiresAt') ?? null;
    if (expiresAt !== null && expiresAt <= Date.now()) throw fail('ASC_COLLECTOR_BAD_INPUT', 'body.expiresAt is in the past');
    const { token, record } = await store.createApiToken(req.body.role, req.body.name.trim(), Date.now(), { expiresAt });
    req.log.info({ tokenId: record.id, role: record.role, by: actor(req) }, 'API token created');
    return reply.code(201).send({ token, ...tokenView(record) });
  });

  app.get('/api/v1/tokens', { schema: { querystring: EmptyQuery }, onRequest: ctx.requireRole('admin') }, async () => ({
    tokens: (await store.listApiTokens()).map(tokenView),
  }));

  app.post<{ Params: Static<typeof IdParams> }>('/api/v1/tokens/:id/revoke', { schema: { params: IdParams }, onRequest: ctx.requireRole('admin') }, async (req) => {
    await store.revokeApiToken(req.params.id);
    req.log.info({ tokenId: req.params.id, by: actor(req) }, 'API token revoked');
    const t = (await store.listApiTokens()).find((x) => x.id === req.params.id);
    return { token: t === undefined ? null : tokenView(t) };
  });

  app.get('/api/v1/whoami', { schema: { querystring: EmptyQuery }, onRequest: ctx.requireRole('viewer') }, async (req) => {
    const t = req.apiToken as ApiToken;
    return { name: t.name, role: t.role, source: t.source, expiresAt: iso(t.expiresAt) };
  });

  app.post<{ Body: Static<typeof SignInBody> }>('/api/v1/sign-in', { schema: { body: SignInBody } }, async (req, reply: FastifyReply) => {
    const provider = settings.signIn;
    if (provider === undefined) throw fail('ASC_COLLECTOR_NOT_FOUND', 'sign-in with Active Directory is not configured on this server (start it with --ad-url)');
    const key = `${req.ip}|${req.body.user.trim().toLowerCase()}`;
    const wait = signInFailures.blockedFor(key);
    if (wait > 0) {
      reply.header('retry-after', String(Math.ceil(wait / 1000)));
      throw fail('ASC_COLLECTOR_RATE_LIMITED', `too many failed sign-ins for ${req.body.user} from this address; try again in ${Math.ceil(wait / 1000)} s`);
    }
    let who;
    try {
      who = await provider.authenticate(req.body.user, req.body.password);
    } catch (e) {
      if (isAscendError(e) && (e.code === 'ASC_COLLECTOR_UNAUTHENTICATED' || e.code === 'ASC_COLLECTOR_FORBIDDEN')) signInFailures.fail(key);
      req.log.info({ user: req.body.user, code: isAscendError(e) ? e.code : 'error' }, 'sign-in refused');
      throw e;
    }
    signInFailures.clear(key);
    const expiresAt = Date.now() + settings.sessionTtlMs;
    const { token, record } = await store.createApiToken(who.role, who.name, Date.now(), { expiresAt, source: 'ad' });
    req.log.info({ user: who.name, role: who.role, tokenId: record.id }, 'signed in with Active Directory');
    return reply.code(201).send({ token, name: who.name, role: who.role, expiresAt: iso(expiresAt) });
  });

  // Signing out revokes the session (or token) that makes the call.
  app.post('/api/v1/sign-out', { schema: { querystring: EmptyQuery }, onRequest: ctx.requireRole('viewer') }, async (req) => {
    const t = req.apiToken as ApiToken;
    if (bearer(req) !== undefined) await store.revokeApiToken(t.id);
    return { signedOut: true };
  });
}
