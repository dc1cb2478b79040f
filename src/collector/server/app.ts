/**
 * The collector's HTTP server (issue 5, DESIGN section 8): fastify 5 over a CollectorStore.
 * Every route has a closed JSON schema; every failure is `{ "error": { "code", "message" } }`
 * with a stable code from src/errors.ts. Agents authenticate with their credential, admins
 * with an API token, both as `Authorization: Bearer ...`. Secrets never reach the log.
 */
import type { DestinationStream } from 'pino';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { AscendError, type ErrorCode, isAscendError } from '../../errors.js';
import type { Agent, ApiRole, ApiToken, CollectorEventInput, CollectorStore, ReportFilter, TseUsageRow } from '../storage/index.js';
import { BODY_LIMIT, EmptyQuery, EnrollBody, EnrollTokenBody, EVENT_TYPES, EventsBody, ReportQuery } from './schemas.js';
import type { Static } from '@sinclair/typebox';

export interface ServerOptions {
  store: CollectorStore;
  /** pino options; omitted or false = no log. */
  logger?: false | { level?: string; stream?: DestinationStream | NodeJS.WritableStream };
  /** Close the store when the server closes (default true). */
  closeStore?: boolean;
  /** TLS: PEM certificate and key. */
  https?: { cert: string | Buffer; key: string | Buffer };
}

declare module 'fastify' {
  interface FastifyRequest {
    agent?: Agent;
    apiToken?: ApiToken;
  }
}

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
];

const STATUS: Partial<Record<ErrorCode, number>> = {
  ASC_COLLECTOR_BAD_INPUT: 400,
  ASC_COLLECTOR_BAD_JSON: 400,
  ASC_COLLECTOR_UNAUTHENTICATED: 401,
  ASC_COLLECTOR_FORBIDDEN: 403,
  ASC_COLLECTOR_ENROLL_REFUSED: 403,
  ASC_COLLECTOR_NOT_FOUND: 404,
  ASC_COLLECTOR_CONFLICT: 409,
  ASC_COLLECTOR_TOO_LARGE: 413,
  ASC_COLLECTOR_STORAGE: 503,
};

const ROLE_RANK: Record<ApiRole, number> = { viewer: 0, approver: 1, admin: 2 };

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

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

function parseTime(v: string | number | undefined, field: string): number | undefined {
  if (v === undefined) return undefined;
  const t = typeof v === 'number' ? v : /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(t)) throw new AscendError('ASC_COLLECTOR_BAD_INPUT', `${field} must be an ISO 8601 time or milliseconds`);
  return t;
}

const CSV_COLUMNS: readonly (keyof TseUsageRow)[] = [
  'time',
  'computer',
  'user',
  'passcodeId',
  'passcodeTitle',
  'processPath',
  'args',
  'elevatedBy',
  'sessionId',
  'sessionStart',
  'sessionEnd',
  'endedByExpiry',
  'agentId',
  'eventId',
];
const TIME_COLUMNS = new Set<keyof TseUsageRow>(['time', 'sessionStart', 'sessionEnd']);

function csvCell(v: string): string {
  // A leading = + - @ would be a formula in a spreadsheet: defuse it.
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function tseUsageCsv(rows: readonly TseUsageRow[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of rows) {
    lines.push(
      CSV_COLUMNS.map((c) => {
        const v = r[c];
        if (v === null) return '';
        if (TIME_COLUMNS.has(c) && typeof v === 'number') return csvCell(new Date(v).toISOString());
        return csvCell(String(v));
      }).join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

export function buildServer(opts: ServerOptions): FastifyInstance {
  const { store } = opts;
  const logger = opts.logger ? { level: opts.logger.level ?? 'info', ...(opts.logger.stream ? { stream: opts.logger.stream } : {}), redact: { paths: REDACT_PATHS, censor: '[redacted]' } } : false;
  const app = Fastify({
    logger,
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
    ...(opts.https ? { https: opts.https } : {}),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;

  if (opts.closeStore !== false) app.addHook('onClose', async () => store.close());

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) return sendError(reply, 400, 'ASC_COLLECTOR_BAD_INPUT', describeValidation(err.validationContext, err.validation as AjvError[]));
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

  /** onRequest hook: an enrolled, unrevoked agent credential. Runs before the body is read. */
  async function agentAuth(req: FastifyRequest): Promise<void> {
    const secret = bearer(req);
    if (secret === undefined) throw new AscendError('ASC_COLLECTOR_UNAUTHENTICATED', 'an agent credential is required (Authorization: Bearer ...)');
    const agent = await store.findAgentByCredential(secret);
    if (agent === undefined || agent.revokedAt !== null) throw new AscendError('ASC_COLLECTOR_UNAUTHENTICATED', 'the agent credential is unknown or revoked');
    req.agent = agent;
  }

  function adminAuth(min: ApiRole) {
    return async (req: FastifyRequest): Promise<void> => {
      const secret = bearer(req);
      if (secret === undefined) throw new AscendError('ASC_COLLECTOR_UNAUTHENTICATED', 'an API token is required (Authorization: Bearer ...)');
      const token = await store.findApiToken(secret);
      if (token === undefined) throw new AscendError('ASC_COLLECTOR_UNAUTHENTICATED', 'the API token is unknown or revoked');
      if (ROLE_RANK[token.role] < ROLE_RANK[min]) throw new AscendError('ASC_COLLECTOR_FORBIDDEN', `this needs the ${min} role; the token has ${token.role}`);
      req.apiToken = token;
    };
  }

  app.get('/api/v1/health', { schema: { querystring: EmptyQuery } }, async () => ({ status: 'ok', storage: store.kind }));

  app.post<{ Body: Static<typeof EnrollBody> }>('/api/v1/enroll', { schema: { body: EnrollBody } }, async (req, reply) => {
    const { agent, credential } = await store.enrollAgent(req.body.enrollmentToken, req.body.computer.trim());
    req.log.info({ agentId: agent.id, computer: agent.computer }, 'agent enrolled');
    return reply.code(201).send({ agentId: agent.id, computer: agent.computer, credential });
  });

  app.post<{ Body: Static<typeof EventsBody> }>('/api/v1/events', { schema: { body: EventsBody }, onRequest: agentAuth }, async (req) => {
    const agent = req.agent as Agent;
    const events = req.body.events as unknown as CollectorEventInput[];
    let stored: number;
    try {
      // Resolves only after the commit: the acknowledgement is durable.
      stored = await store.insertEvents(agent.id, events);
    } catch (e) {
      // Revoked between the check and the insert.
      if (isAscendError(e) && e.code === 'ASC_COLLECTOR_NOT_FOUND') throw new AscendError('ASC_COLLECTOR_UNAUTHENTICATED', 'the agent credential is unknown or revoked');
      throw e;
    }
    return { accepted: events.length, stored };
  });

  app.post<{ Body: Static<typeof EnrollTokenBody> }>(
    '/api/v1/enroll-tokens',
    { schema: { body: EnrollTokenBody }, onRequest: adminAuth('admin') },
    async (req, reply) => {
      const expiresAt = parseTime(req.body.expiresAt, 'body.expiresAt') ?? null;
      if (expiresAt !== null && expiresAt <= Date.now()) throw new AscendError('ASC_COLLECTOR_BAD_INPUT', 'body.expiresAt is in the past');
      const t = await store.createEnrollmentToken({ uses: req.body.uses ?? 1, expiresAt });
      req.log.info({ enrollmentTokenId: t.id, uses: t.uses, by: req.apiToken?.name }, 'enrollment token created');
      return reply.code(201).send({ token: t.token, id: t.id, uses: t.uses, expiresAt: t.expiresAt === null ? null : new Date(t.expiresAt).toISOString() });
    },
  );

  app.get<{ Querystring: Static<typeof ReportQuery> }>(
    '/api/v1/reports/tse-usage',
    { schema: { querystring: ReportQuery }, onRequest: adminAuth('viewer') },
    async (req, reply) => {
      const q = req.query;
      const filter: ReportFilter = {};
      const from = parseTime(q.from, 'query.from');
      const to = parseTime(q.to, 'query.to');
      if (from !== undefined) filter.from = from;
      if (to !== undefined) filter.to = to;
      if (q.computer !== undefined) filter.computer = q.computer;
      if (q.user !== undefined) filter.user = q.user;
      if (q.passcode !== undefined) filter.passcodeId = q.passcode;
      const rows = await store.tseUsageReport(filter);
      if (q.format === 'csv') {
        return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="tse-usage.csv"').send(tseUsageCsv(rows));
      }
      return { report: 'tse-usage', rows: rows.map((r) => ({ ...r, time: new Date(r.time).toISOString(), sessionStart: r.sessionStart === null ? null : new Date(r.sessionStart).toISOString(), sessionEnd: r.sessionEnd === null ? null : new Date(r.sessionEnd).toISOString() })) };
    },
  );

  return app;
}

export { EVENT_TYPES };
