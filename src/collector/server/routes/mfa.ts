/**
 * MFA: TOTP (RFC 6238, SHA-1, 6 digits, 30 s — what authenticator apps expect) enrolled per
 * user on the server. An admin enrolls a user and hands over the otpauth:// URI (shown
 * once); the agent's MFA control sends the user's code to /api/v1/agent/mfa/verify. A code
 * is good once (its time step is remembered), one step of clock drift is allowed either way,
 * and after a run of failures the user is locked for a while on the computer of the agent that
 * sent them (so an agent elsewhere can not lock the user out here), and after many failures
 * across all computers within a window, everywhere (stored, so every collector sharing the
 * database honours it).
 */
import type { Static } from '@sinclair/typebox';
import * as webhookEvents from '../../webhooks/events.js';
import type { FastifyInstance } from 'fastify';
import { Secret, TOTP } from 'otpauth';
import { computerKeyOrNull } from '../../computer-name.js';
import { actor, fail, granted, iso, type RouteContext } from '../context.js';
import { MfaEnrollBody, MfaUserParams, MfaVerifyBody } from '../schemas.js';

export const TOTP_PERIOD = 30;
export const TOTP_DIGITS = 6;

/** The time step of the code that matches `code` at `now`, allowing one step of drift; null = no match. */
export function matchTotpStep(secretBase32: string, code: string, now = Date.now()): number | null {
  if (!new RegExp(`^\\d{${TOTP_DIGITS}}$`).test(code)) return null;
  const secret = Secret.fromBase32(secretBase32);
  const delta = TOTP.validate({ token: code, secret, algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_PERIOD, timestamp: now, window: 1 });
  return delta === null ? null : TOTP.counter({ period: TOTP_PERIOD, timestamp: now }) + delta;
}

export function registerMfaRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { store, settings } = ctx;

  app.post<{ Body: Static<typeof MfaEnrollBody> }>(
    '/api/v1/mfa/enrollments',
    { schema: { body: MfaEnrollBody }, onRequest: ctx.requireRole('admin') },
    async (req, reply) => {
      const user = req.body.user.trim();
      const secret = new Secret({ size: 20 });
      const m = await store.putMfaSecret(user, secret.base32);
      const uri = new TOTP({ issuer: settings.mfaIssuer, label: user, secret, algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_PERIOD }).toString();
      req.log.info({ user, by: actor(req) }, 'MFA enrolled');
      // The secret is shown this once; the log never sees it.
      return reply.code(201).send({ user: m.user, secret: secret.base32, otpauthUri: uri, issuer: settings.mfaIssuer, digits: TOTP_DIGITS, period: TOTP_PERIOD });
    },
  );

  app.get<{ Params: Static<typeof MfaUserParams> }>(
    '/api/v1/mfa/enrollments/:user',
    { schema: { params: MfaUserParams }, onRequest: ctx.requireRole('viewer') },
    async (req) => {
      const m = await store.getMfa(req.params.user);
      if (m === undefined) throw fail('ASC_COLLECTOR_NOT_FOUND', `${req.params.user} is not enrolled for MFA`);
      const locked = m.lockedUntil !== null && m.lockedUntil > Date.now();
      // lockedUntil: everywhere (the domain-wide backstop); lockedOn: on single computers.
      const lockedOn = (await store.listMfaLocks(req.params.user)).map((l) => ({ computer: l.computer, lockedUntil: iso(l.lockedUntil) }));
      return { user: m.user, enrolledAt: iso(m.createdAt), confirmedAt: iso(m.confirmedAt), lockedUntil: locked ? iso(m.lockedUntil) : null, lockedOn };
    },
  );

  app.delete<{ Params: Static<typeof MfaUserParams> }>(
    '/api/v1/mfa/enrollments/:user',
    { schema: { params: MfaUserParams }, onRequest: ctx.requireRole('admin') },
    async (req) => {
      if (!(await store.deleteMfa(req.params.user))) throw fail('ASC_COLLECTOR_NOT_FOUND', `${req.params.user} is not enrolled for MFA`);
      req.log.info({ user: req.params.user, by: actor(req) }, 'MFA enrollment removed');
      return { user: req.params.user, removed: true };
    },
  );

  app.post<{ Body: Static<typeof MfaVerifyBody> }>(
    '/api/v1/agent/mfa/verify',
    { schema: { body: MfaVerifyBody }, onRequest: ctx.agentAuth },
    async (req, reply) => {
      const { user, code } = req.body;
      const m = await store.getMfa(user);
      const step = m === undefined ? null : matchTotpStep(m.secret, code.trim());
      // Failures count per (user, the calling agent's computer): an agent elsewhere can not lock the user out here.
      // An agent that holds no name (an old duplicate) counts on its own.
      const a = req.agent;
      const computer = a === undefined ? undefined : ((a.bound === false ? null : computerKeyOrNull(a.computer)) ?? `agent:${a.id}`);
      const result = await store.recordMfaAttempt(user, step, {
        maxFailures: settings.mfaMaxFailures,
        lockMs: settings.mfaLockMs,
        computer,
        backstopFailures: settings.mfaBackstopFailures,
        backstopWindowMs: settings.mfaBackstopWindowMs,
        // The attempt that locks the user (later ones answer 'locked'): its webhook delivery commits with the lock.
        notify: (lockedUntil) => [webhookEvents.mfaLockout(user, a?.computer ?? computer ?? 'unknown', a?.id, lockedUntil)],
      });
      req.log.info({ user, agentId: req.agent?.id, verified: result.ok, ...(result.ok ? {} : { reason: result.reason }) }, 'MFA verification');
      if (result.ok) return granted(req, ctx.identity, 'mfa-verify', { user, verified: true });
      if (result.reason !== 'locked' && result.lockedUntil !== undefined) ctx.webhooks.poke();
      if (result.reason === 'locked') {
        const seconds = Math.max(1, Math.ceil(((result.lockedUntil ?? Date.now()) - Date.now()) / 1000));
        reply.header('retry-after', String(seconds));
        throw fail('ASC_COLLECTOR_RATE_LIMITED', `too many wrong codes for ${user}; try again in ${seconds} s`);
      }
      return granted(req, ctx.identity, 'mfa-verify', { user, verified: false, reason: result.reason, ...(result.lockedUntil === undefined ? {} : { lockedUntil: iso(result.lockedUntil) }) });
    },
  );
}
