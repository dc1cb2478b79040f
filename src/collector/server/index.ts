export { buildServer, DEFAULT_RATE_LIMIT, REDACT_PATHS, type ServerOptions } from './app.js';
export { ensureBootstrapToken, BOOTSTRAP_TOKEN_FILE, type BootstrapResult } from './bootstrap.js';
export { callServer, readTokenFile } from './client.js';
export { DEFAULT_SETTINGS, type CollectorSettings, type SignInProvider, type SignedInUser } from './context.js';
export { matchTotpStep } from './routes/mfa.js';
export { REPORT_COLUMNS, reportCsv, type Report } from './routes/reports.js';
export { EVENT_TYPES, MAX_EVENTS_PER_BATCH, BODY_LIMIT, REPORT_NAMES, type EventType, type ReportName } from './schemas.js';
