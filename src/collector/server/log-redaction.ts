/**
 * What the collector's log may say about a request's URL (issue 13): the path, and of the
 * query string only the names of parameters the API knows, every value replaced. A token
 * someone puts in a URL (/api/v1/reports?token=...) never reaches the log; neither does a
 * secret used as a parameter name (/api/v1/reports?SECRET). Error and log messages that quote
 * a URL (fastify's own) are cleaned the same way.
 */
/** Query parameters of the API (schemas.ts): their names may be logged, never their values. */
const KNOWN_PARAMETERS = new Set(['from', 'to', 'computer', 'user', 'passcode', 'format', 'status', 'wait', 'since']);

export const REDACTED = '[redacted]';

/** "/path?from=[redacted]&[redacted]=[redacted]": the path as sent, the query reduced to known names. */
export function redactUrl(url: string): string {
  if (typeof url !== 'string') return '';
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url.slice(q + 1);
  if (query === '') return url;
  const parts = query.split('&').map((p) => {
    const eq = p.indexOf('=');
    const name = eq < 0 ? p : p.slice(0, eq);
    return `${KNOWN_PARAMETERS.has(name) ? name : REDACTED}=${REDACTED}`;
  });
  return `${url.slice(0, q)}?${parts.join('&')}`;
}

/** Any "/path?query" inside a free text (an error message, a stack) with its query replaced. */
export function redactUrlsInText(text: string): string {
  return text.replace(/(\/[^\s?#"'`]*)\?[^\s"'`]*/g, (_m, path: string) => `${path}?${REDACTED}`);
}

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/** pino serializers for buildServer's logger: fastify's req and err, without query strings. */
export const LOG_SERIALIZERS = {
  req(req: LoggedRequest) {
    return {
      method: req.method,
      url: redactUrl(req.url ?? ''),
      host: req.host,
      remoteAddress: req.ip,
      remotePort: req.socket?.remotePort,
    };
  },
  err(err: unknown) {
    if (!(err instanceof Error)) return typeof err === 'string' ? redactUrlsInText(err) : err;
    const code = (err as { code?: unknown }).code;
    return {
      type: err.constructor.name,
      message: redactUrlsInText(err.message),
      stack: redactUrlsInText(err.stack ?? ''),
      ...(typeof code === 'string' ? { code } : {}),
    };
  },
};

/** pino hooks for buildServer's logger: a message text (fastify's own quote URLs) has its queries cut too. */
export const LOG_HOOKS = {
  logMethod(this: unknown, args: unknown[], method: (...a: unknown[]) => void): void {
    method.apply(
      this,
      args.map((a) => (typeof a === 'string' ? redactUrlsInText(a) : a)),
    );
  },
};
