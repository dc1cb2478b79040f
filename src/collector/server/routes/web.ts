/**
 * The collector's web page: GET /reports serves the report page (static, self-contained,
 * under a strict Content-Security-Policy) and GET / redirects there. The page itself needs no
 * authentication: it holds no data; it asks for an API token and calls /api/v1/reports/NAME.
 * GET /approvals serves the approvals page the same way (web/approvals-page.ts).
 */
import type { FastifyInstance } from 'fastify';
import { EmptyQuery } from '../schemas.js';
import { REPORT_PAGE_HEADERS, REPORT_PAGE_HTML } from '../web/report-page.js';
import { APPROVALS_PAGE_HEADERS, APPROVALS_PAGE_HTML } from '../web/approvals-page.js';

export function registerWebRoutes(app: FastifyInstance): void {
  app.get('/reports', { schema: { querystring: EmptyQuery } }, async (_req, reply) => reply.headers(REPORT_PAGE_HEADERS).type('text/html; charset=utf-8').send(REPORT_PAGE_HTML));
  app.get('/approvals', { schema: { querystring: EmptyQuery } }, async (_req, reply) => reply.headers(APPROVALS_PAGE_HEADERS).type('text/html; charset=utf-8').send(APPROVALS_PAGE_HTML));
  app.get('/', { schema: { querystring: EmptyQuery } }, async (_req, reply) => reply.header('cache-control', 'no-store').redirect('/reports', 302));
}
