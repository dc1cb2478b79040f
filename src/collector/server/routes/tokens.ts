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
import { accountForm, ownersForNewToken } from '../self-approval.js';
import { ListQuery, type ListQueryType, pageOf, pageRequest } from '../list-page.js';

function tokenView(t: ApiToken) {
  // owners only when there are some: a token without an owner looks as it did before owners existed.
  return { id: t.id, name: t.name, role: t.role, source: t.source, ...(t.owners.length > 0 ? { owners: t.owners } : {}), createdAt: iso(t.createdAt), expiresAt: iso(t.expiresAt), revokedAt: iso(t.revokedAt) };
}

/**
 * Attempts per key in a sliding window. An attempt is counted when it starts (so concurrent
 * guesses can not all pass one check) and forgiven when it succeeds. Memory is bounded: past
 * `maxKeys` the oldest key that is not blocked is dropped.
 */
export class AttemptCounter {
  private readonly attempts = new Map<string, number[]>();
  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly maxKeys = 10_000,
  ) {}

  private recent(key: string, now: number): number[] {
    return (this.attempts.get(key) ?? []).filter((t) => t > now - this.windowMs);
  }

  /** Milliseconds until the key may try again; 0 = now. */
  blockedFor(key: string, now = Date.now()): number {
    const recent = this.recent(key, now);
    if (recent.length < this.max) return 0;
    return (recent[recent.length - this.max] ?? now) + this.windowMs - now;
  }

  /** Counts an attempt; returns the wait when the key is over its limit (and then counts nothing). */
  begin(key: string, now = Date.now()): number {
    const wait = this.blockedFor(key, now);
    if (wait > 0) return wait;
    const recent = this.recent(key, now);
    recent.push(now);
    this.attempts.delete(key);
    this.attempts.set(key, recent);
    if (this.attempts.size > this.maxKeys) {
      let looked = 0;
      for (const k of this.attempts.keys()) {
        if (++looked > 1000) break;
        if (this.blockedFor(k, now) === 0) {
          this.attempts.delete(k);
          break;
        }
      }
    }
    return 0;
  }

  /** A success forgives the key's attempts. */
  clear(key: string): void {
    this.attempts.delete(key);
  }
}

/** One account, however it is spelled: CORP\\alice, alice@corp.example, ALICE → alice. */
export function accountKey(user: string): string {
  const u = user.trim().toLowerCase();
  const afterSlash = u.includes('\\') ? u.slice(u.lastIndexOf('\\') + 1) : u;
  const at = afterSlash.indexOf('@');
  return at >= 0 ? afterSlash.slice(0, at) : afterSlash;
}

export function registerTokenRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { store, settings } = ctx;
  // Per account and address, and per address whatever the account (one address guessing many accounts).
  const perAccount = new AttemptCounter(settings.signInMaxFailures, settings.signInWindowMs);
  const perAddress = new AttemptCounter(settings.signInMaxFailures * 4, settings.signInWindowMs);

  app.post<{ Body: Static<typeof TokenBody> }>('/api/v1/tokens', { schema: { body: TokenBody }, onRequest: ctx.requireRole('admin') }, async (req, reply) => {
    const expiresAt = parseTime(req.body.expiresAt, 'body.expiresAt') ?? null;
    if (expiresAt !== null && expiresAt <= Date.now()) throw fail('ASC_COLLECTOR_BAD_INPUT', 'body.expiresAt is in the past');
    for (const o of req.body.owners ?? []) {
      if (accountForm(o).kind === 'unknown') throw fail('ASC_COLLECTOR_BAD_INPUT', `body.owners: ${JSON.stringify(o)} is neither an account name (alice, CORP\\alice, alice@corp.example) nor a SID`);
    }
    // A token made by someone belongs to them too: its holder can not approve the maker's requests.
    const owners = ownersForNewToken(req.body.owners, req.apiToken);
    const { token, record } = await store.createApiToken(req.body.role, req.body.name.trim(), Date.now(), { expiresAt, owners });
    req.log.info({ tokenId: record.id, role: record.role, by: actor(req) }, 'API token created');
    return reply.code(201).send({ token, ...tokenView(record) });
  });

  // Paged (issue 18): every AD sign-in adds a session row, so the list grows without an admin.
  app.get<{ Querystring: ListQueryType }>('/api/v1/tokens', { schema: { querystring: ListQuery }, onRequest: ctx.requireRole('admin') }, async (req, reply) => {
    const page = pageRequest(ctx, 'tokens', req.query);
    const rows = await store.listApiTokens({ limit: page.limit + 1, ...(page.after === undefined ? {} : { after: page.after }) });
    const { page: tokens, nextCursor } = pageOf(ctx, 'tokens', rows, page, (t) => ({ time: t.createdAt, a: t.id, b: '' }), { reply, path: '/api/v1/tokens', query: { ...req.query } });
    return { tokens: tokens.map(tokenView), nextCursor };
  });

  app.post<{ Params: Static<typeof IdParams> }>('/api/v1/tokens/:id/revoke', { schema: { params: IdParams }, onRequest: ctx.requireRole('admin') }, async (req) => {
    await store.revokeApiToken(req.params.id);
    req.log.info({ tokenId: req.params.id, by: actor(req) }, 'API token revoked');
    const t = await store.getApiToken(req.params.id);
    return { token: t === undefined ? null : tokenView(t) };
  });

  app.get('/api/v1/whoami', { schema: { querystring: EmptyQuery }, onRequest: ctx.requireRole('viewer') }, async (req) => {
    const t = req.apiToken as ApiToken;
    return { name: t.name, role: t.role, source: t.source, ...(t.owners.length > 0 ? { owners: t.owners } : {}), expiresAt: iso(t.expiresAt) };
  });

  app.post<{ Body: Static<typeof SignInBody> }>('/api/v1/sign-in', { schema: { body: SignInBody } }, async (req, reply: FastifyReply) => {
    const provider = settings.signIn;
    if (provider === undefined) throw fail('ASC_COLLECTOR_NOT_FOUND', 'sign-in with Active Directory is not configured on this server (start it with --ad-url)');
    const key = `${req.ip}|${accountKey(req.body.user)}`;
    const wait = Math.max(perAddress.blockedFor(req.ip), perAccount.blockedFor(key));
    if (wait > 0 || perAccount.begin(key) > 0 || perAddress.begin(req.ip) > 0) {
      const seconds = Math.max(1, Math.ceil(Math.max(wait, perAccount.blockedFor(key), perAddress.blockedFor(req.ip)) / 1000));
      reply.header('retry-after', String(seconds));
      throw fail('ASC_COLLECTOR_RATE_LIMITED', `too many sign-in attempts for ${req.body.user} from this address; try again in ${seconds} s`);
    }
    let who;
    try {
      who = await provider.authenticate(req.body.user, req.body.password);
    } catch (e) {
      req.log.info({ user: req.body.user, code: isAscendError(e) ? e.code : 'error' }, 'sign-in refused');
      throw e;
    }
    // A success forgives the attempts.
    perAccount.clear(key);
    perAddress.clear(req.ip);
    const expiresAt = Date.now() + settings.sessionTtlMs;
    const owners = ownersForNewToken(who.identities ?? [who.name], undefined);
    const { token, record } = await store.createApiToken(who.role, who.name, Date.now(), { expiresAt, source: 'ad', owners });
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
