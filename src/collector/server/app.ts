/**
 * The collector's HTTP server (issue 5, DESIGN section 8): fastify 5 over a CollectorStore.
 * Every route has a closed JSON schema; every failure is `{ "error": { "code", "message" } }`
 * with a stable code from src/errors.ts. Agents authenticate with their credential, admins
 * with an API token or an Active Directory sign-in session, both as `Authorization: Bearer ...`.
 * Requests are rate-limited per credential. Secrets never reach the log.
 *
 * The routes live in routes/, one module per part of the API.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject, X509Certificate } from 'node:crypto';
import { EventEmitter } from 'node:events';
import rateLimit from '@fastify/rate-limit';
import type { DestinationStream } from 'pino';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { AscendError, type ErrorCode, isAscendError } from '../../errors.js';
import type { CollectorStore } from '../storage/index.js';
import { pinOfCertificate } from '../../collector-api/pin.js';
import { type CollectorIdentity, type CollectorSettings, DEFAULT_SETTINGS, makeAuth, type RouteContext } from './context.js';
import { LOG_HOOKS, LOG_SERIALIZERS } from './log-redaction.js';
import { clientErrorHandler, type ConnectionLimits, connectionLimits, guardConnections, serverTimingOptions } from './connection-guard.js';
import { registerAgentRoutes } from './routes/agents.js';
import { registerApprovalRoutes } from './routes/approvals.js';
import { registerMfaRoutes } from './routes/mfa.js';
import { registerPasscodeRoutes } from './routes/passcodes.js';
import { registerReportRoutes } from './routes/reports.js';
import { registerTokenRoutes } from './routes/tokens.js';
import { registerWebRoutes } from './routes/web.js';
import { registerWebhookRoutes } from './routes/webhooks.js';
import { WebhookDispatcher, type WebhookSettings } from '../webhooks/dispatcher.js';
import { SecretBox } from '../webhooks/secret-box.js';
import { BODY_LIMIT, EmptyQuery, EVENT_TYPES } from './schemas.js';

export interface ServerOptions {
  store: CollectorStore;
  /** pino options; omitted or false = no log. */
  logger?: false | { level?: string; stream?: DestinationStream | NodeJS.WritableStream };
  /** Close the store when the server closes (default true). */
  closeStore?: boolean;
  /** TLS: PEM certificate and key. */
  https?: { cert: string | Buffer; key: string | Buffer };
  /** Requests a minute per credential (or per client address without one); false = no limit. Default 1200. */
  rateLimit?: { max: number } | false;
  settings?: Partial<CollectorSettings>;
  /**
   * The certificate authority agents pin at enrollment (PEM) and the Ed25519 key that signs
   * grants (src/collector/server/identity.ts makes both). Without it the server has no anchor
   * to offer and signs with a key made for this process only.
   */
  identity?: { anchor: string | null; grantKey: KeyObject };
  /** Request timeouts and connection caps against slow and many clients (connection-guard.ts); defaults DEFAULT_CONNECTION_LIMITS. */
  connections?: Partial<ConnectionLimits>;
  /** Webhook delivery: retry timing, time-outs, caps (DEFAULT_WEBHOOK_SETTINGS); false = this collector sends none (it still stores them). */
  webhooks?: Partial<WebhookSettings> | false;
}

export const DEFAULT_RATE_LIMIT = 1200;

/** Paths pino must never print; fastify's request serializer prints no headers, this is a second lock. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'token',
  'credential',
  'enrollmentToken',
  '*.token',
  '*.credential',
  '*.enrollmentToken',
  'password',
  '*.password',
  'secret',
  '*.secret',
];

const STATUS: Partial<Record<ErrorCode, number>> = {
  ASC_COLLECTOR_BAD_INPUT: 400,
  ASC_COLLECTOR_BAD_JSON: 400,
  ASC_COLLECTOR_UNAUTHENTICATED: 401,
  ASC_COLLECTOR_FORBIDDEN: 403,
  ASC_COLLECTOR_SELF_APPROVAL: 403,
  ASC_COLLECTOR_ENROLL_REFUSED: 403,
  ASC_COLLECTOR_NOT_FOUND: 404,
  ASC_COLLECTOR_CONFLICT: 409,
  ASC_COLLECTOR_COMPUTER_TAKEN: 409,
  ASC_COLLECTOR_TOO_LARGE: 413,
  ASC_COLLECTOR_RATE_LIMITED: 429,
  ASC_COLLECTOR_STORAGE: 503,
};

interface AjvError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** "body.events[3].type must be one of ..." — names the field. */
function describeValidation(context: string | undefined, errors: readonly AjvError[]): string {
  const first = errors[0];
  if (first === undefined) return `${context ?? 'request'} is invalid`;
  let path = context ?? 'body';
  for (const seg of (first.instancePath ?? '').split('/').slice(1)) path += /^\d+$/.test(seg) ? `[${seg}]` : `.${seg.replace(/~1/g, '/').replace(/~0/g, '~')}`;
  const p = first.params ?? {};
  switch (first.keyword) {
    case 'additionalProperties':
      return `${path}: unknown field "${String(p.additionalProperty)}"`;
    case 'required':
      return `${path}: missing field "${String(p.missingProperty)}"`;
    case 'enum':
      return `${path} must be one of ${(p.allowedValues as unknown[] | undefined)?.join(', ') ?? 'the allowed values'}`;
    default:
      return `${path} ${first.message ?? 'is invalid'}`;
  }
}

function sendError(reply: FastifyReply, status: number, code: ErrorCode, message: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ error: { code, message } });
}

function identityOf(given: ServerOptions['identity']): CollectorIdentity {
  const grantKey = given?.grantKey ?? generateKeyPairSync('ed25519').privateKey;
  if (grantKey.asymmetricKeyType !== 'ed25519' || grantKey.type !== 'private') throw new AscendError('ASC_USAGE', 'the grant-signing key must be an Ed25519 private key');
  // Agents pin exactly one certificate: a bundle given as the anchor is served as its first certificate.
  const anchor = given?.anchor ? new X509Certificate(given.anchor).toString() : null;
  return {
    anchor,
    pin: anchor === null ? null : pinOfCertificate(anchor),
    grantKey,
    grantPublicKey: createPublicKey(grantKey).export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export function buildServer(opts: ServerOptions): FastifyInstance {
  const { store } = opts;
  // A long-poll moves no byte while it waits: the idle bound must outlast the longest wait.
  const longestPoll = opts.settings?.maxPollWaitMs ?? DEFAULT_SETTINGS.maxPollWaitMs;
  const given = connectionLimits(opts.connections);
  const limits = { ...given, socketIdleTimeoutMs: Math.max(given.socketIdleTimeoutMs, longestPoll + 30_000) };
  const timing = serverTimingOptions(limits);
  const logger = opts.logger ? { level: opts.logger.level ?? 'info', ...(opts.logger.stream ? { stream: opts.logger.stream } : {}), redact: { paths: REDACT_PATHS, censor: '[redacted]' }, serializers: LOG_SERIALIZERS, hooks: LOG_HOOKS } : false;
  const app = Fastify({
    logger,
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
    clientErrorHandler: clientErrorHandler(limits),
    ...(opts.https ? { https: { ...opts.https, ...timing } } : { http: { connectionsCheckingInterval: timing.connectionsCheckingInterval } }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;

  if (opts.closeStore !== false) app.addHook('onClose', async () => store.close());

  const guard = guardConnections(app.server, limits, (r) => app.log.warn(r, 'connection limits reached: unauthenticated connections were closed or refused'));
  app.addHook('preHandler', async (req, reply) => guard.serving(req.raw.socket, reply.raw));

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) return sendError(reply, 400, 'ASC_COLLECTOR_BAD_INPUT', describeValidation(err.validationContext, err.validation as AjvError[]));
    if (isAscendError(err) && err.code.startsWith('ASC_LDAP_')) {
      // Directory trouble during sign-in: the detail (DC name, certificate) is for the log, not the client.
      req.log.error({ code: err.code, err: err.message }, 'directory error during sign-in');
      return sendError(reply, 503, err.code, 'sign-in could not use the directory; the server log has the detail');
    }
    if (isAscendError(err)) {
      const status = STATUS[err.code] ?? 500;
      if (status >= 500) req.log.error({ code: err.code, err: err.message }, 'request failed');
      return sendError(reply, status, err.code, err.message);
    }
    switch (err.code) {
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendError(reply, 400, 'ASC_COLLECTOR_BAD_JSON', err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'the body is empty; JSON was expected' : 'the body is not well-formed JSON');
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendError(reply, 413, 'ASC_COLLECTOR_TOO_LARGE', `the body is larger than ${BODY_LIMIT} bytes`);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendError(reply, 415, 'ASC_COLLECTOR_BAD_INPUT', 'the body must be application/json');
      default:
        break;
    }
    if (err instanceof SyntaxError && (err.statusCode ?? 0) === 400) return sendError(reply, 400, 'ASC_COLLECTOR_BAD_JSON', 'the body is not well-formed JSON');
    const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (status >= 400 && status < 500) return sendError(reply, status, 'ASC_COLLECTOR_BAD_INPUT', err.message);
    req.log.error({ err: err.message }, 'unexpected failure');
    return sendError(reply, 500, 'ASC_INTERNAL', 'an unexpected failure inside the collector');
  });

  app.setNotFoundHandler((req, reply) => sendError(reply, 404, 'ASC_COLLECTOR_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0] ?? ''}`));

  const identity = identityOf(opts.identity);
  const webhookStore = store.webhookStore();
  const secretBox = new SecretBox(identity.grantKey);
  const webhooks = new WebhookDispatcher(webhookStore, secretBox, app.log, opts.webhooks === false ? {} : opts.webhooks);
  if (opts.webhooks !== false) {
    // Sending starts with the server and stops (preClose) before the store closes (onClose).
    app.addHook('onReady', async () => webhooks.start());
    app.addHook('preClose', async () => webhooks.stop());
  }
  const ctx: RouteContext = {
    identity,
    store,
    webhookStore,
    webhooks,
    secretBox,
    settings: { ...DEFAULT_SETTINGS, ...opts.settings },
    ...makeAuth(store, { ...DEFAULT_SETTINGS, ...opts.settings }),
    approvalEvents: new EventEmitter().setMaxListeners(0),
    closing: new AbortController(),
  };
  // Closing: end long-polls at once, and close each keep-alive connection after its answer,
  // so a graceful stop does not wait for polls or idle clients.
  app.addHook('preClose', async () => ctx.closing.abort());
  app.addHook('onSend', async (_req, reply) => {
    if (ctx.closing.signal.aborted) reply.header('connection', 'close');
  });

  const limit = opts.rateLimit === undefined ? { max: DEFAULT_RATE_LIMIT } : opts.rateLimit;
  if (limit !== false) {
    void app.register(rateLimit, {
      global: true,
      max: limit.max,
      timeWindow: 60_000,
      // Per verified credential: the limiter runs after a route's own authentication hook
      // (onRoute appends it), so a made-up bearer value buys no allowance of its own; routes
      // without authentication (enroll, sign-in) are limited per client address.
      keyGenerator: (req) => (req.agent ? `agent:${req.agent.id}` : req.apiToken ? `token:${req.apiToken.id}` : `ip:${req.ip}`),
      errorResponseBuilder: (_req, c) =>
        new AscendError('ASC_COLLECTOR_RATE_LIMITED', `too many requests with this credential (at most ${c.max} a minute); try again in ${c.after}`),
    });
  }

  // In a plugin registered after the rate limiter, so that its hook covers every route.
  void app.register(async (api) => {
    api.get('/api/v1/health', { schema: { querystring: EmptyQuery }, config: { rateLimit: false } }, async () => ({ status: 'ok', storage: store.kind }));
    registerAgentRoutes(api, ctx);
    registerApprovalRoutes(api, ctx);
    registerMfaRoutes(api, ctx);
    registerPasscodeRoutes(api, ctx);
    registerTokenRoutes(api, ctx);
    registerReportRoutes(api, ctx);
    registerWebhookRoutes(api, ctx);
    registerWebRoutes(api);
  });

  return app;
}

export { EVENT_TYPES };
