export { buildServer, tseUsageCsv, REDACT_PATHS, type ServerOptions } from './app.js';
export { ensureBootstrapToken, BOOTSTRAP_TOKEN_FILE, type BootstrapResult } from './bootstrap.js';
export { callServer, readTokenFile } from './client.js';
export { EVENT_TYPES, MAX_EVENTS_PER_BATCH, BODY_LIMIT, type EventType } from './schemas.js';
