/**
 * The collector's one schema, as versioned migrations for both adapters. Each migration
 * runs once, in its own transaction, and is recorded in schema_migrations. `{JSON}`
 * becomes TEXT on SQLite and JSONB on PostgreSQL; everything else is common SQL.
 * Times are BIGINT milliseconds since the epoch. Never edit a released migration: add one.
 */
import { AscendError } from '../../errors.js';
import type { Driver, Sql } from './driver.js';
import { bindComputerNames } from './migrate-computers.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** Runs after the statements, in the same transaction: data moves SQL alone can not do on both databases. */
  after?: (q: Sql) => Promise<void>;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE enrollment_tokens (
  id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  uses_left INTEGER NOT NULL,
  expires_at BIGINT,
  created_at BIGINT NOT NULL
);
CREATE TABLE agents (
  id TEXT PRIMARY KEY,
  computer TEXT NOT NULL,
  credential_hash TEXT NOT NULL UNIQUE,
  enrolled_at BIGINT NOT NULL,
  enrollment_token_id TEXT,
  revoked_at BIGINT
);
CREATE TABLE events (
  agent_id TEXT NOT NULL REFERENCES agents(id),
  event_id TEXT NOT NULL,
  type TEXT NOT NULL,
  occurred_at BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  computer TEXT NOT NULL,
  user_name TEXT,
  passcode_id TEXT,
  session_id TEXT,
  payload {JSON} NOT NULL,
  PRIMARY KEY (agent_id, event_id)
);
CREATE INDEX events_time ON events (occurred_at);
CREATE INDEX events_type_time ON events (type, occurred_at);
CREATE INDEX events_computer ON events (computer, occurred_at);
CREATE INDEX events_user ON events (user_name, occurred_at);
CREATE INDEX events_passcode ON events (passcode_id, occurred_at);
CREATE INDEX events_session ON events (agent_id, session_id);
CREATE TABLE approval_requests (
  id TEXT PRIMARY KEY,
  agent_id TEXT NOT NULL REFERENCES agents(id),
  request_id TEXT NOT NULL,
  computer TEXT NOT NULL,
  user_name TEXT NOT NULL,
  process_path TEXT NOT NULL,
  args TEXT,
  justification TEXT,
  status TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  decided_at BIGINT,
  decided_by TEXT,
  time_limit_s INTEGER,
  UNIQUE (agent_id, request_id)
);
CREATE INDEX approvals_status ON approval_requests (status, created_at);
CREATE TABLE passcodes (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  max_uses INTEGER,
  uses INTEGER NOT NULL DEFAULT 0,
  issued_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE TABLE passcode_redemptions (
  passcode_id TEXT NOT NULL REFERENCES passcodes(id),
  agent_id TEXT NOT NULL,
  use_number INTEGER NOT NULL,
  redeemed_at BIGINT NOT NULL,
  PRIMARY KEY (passcode_id, use_number)
);
CREATE TABLE revocations (
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  reason TEXT,
  revoked_at BIGINT NOT NULL,
  PRIMARY KEY (kind, subject)
);
CREATE INDEX revocations_time ON revocations (revoked_at);
CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('viewer', 'approver', 'admin')),
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);
`,
  },
  {
    version: 2,
    // Reports read events by type and time (events_type_time) and match computer and user
    // case-insensitively, which the plain indexes could not serve; each index cost every
    // insert a random page write, so they go.
    name: 'sign-in sessions, approvals run once, TOTP enrollments, fewer event indexes',
    sql: `
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN source TEXT NOT NULL DEFAULT 'token';
ALTER TABLE approval_requests ADD COLUMN used_at BIGINT;
CREATE INDEX approvals_created ON approval_requests (created_at);
DROP INDEX events_time;
DROP INDEX events_computer;
DROP INDEX events_user;
CREATE TABLE mfa_enrollments (
  user_key TEXT PRIMARY KEY,
  user_name TEXT NOT NULL,
  secret TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  confirmed_at BIGINT,
  last_step BIGINT,
  failures INTEGER NOT NULL DEFAULT 0,
  locked_until BIGINT
)
`,
  },
  {
    version: 3,
    // Agents act only for their own computer (issue 13): a live agent holds its computer
    // name (computer_key, unique among unrevoked agents; filled, and the index made, by
    // bindComputerNames, which leaves old duplicates unbound instead of failing); tokens
    // and passcodes say which computers they are for (JSON list; NULL = any computer for a
    // token, unknown for a passcode); MFA failures count per (user, computer), with the
    // enrollment's own counter now a domain-wide window.
    name: 'computer names bound at enrollment, passcode computers, MFA lockouts per computer',
    sql: `
ALTER TABLE agents ADD COLUMN computer_key TEXT;
ALTER TABLE enrollment_tokens ADD COLUMN computers TEXT;
ALTER TABLE passcodes ADD COLUMN computers TEXT;
ALTER TABLE mfa_enrollments ADD COLUMN window_start BIGINT;
CREATE TABLE mfa_lockouts (
  user_key TEXT NOT NULL,
  computer_key TEXT NOT NULL,
  failures INTEGER NOT NULL DEFAULT 0,
  locked_until BIGINT,
  PRIMARY KEY (user_key, computer_key)
)
`,
    after: bindComputerNames,
  },
  {
    version: 4,
    // No self-approval (issue 13): who an API token belongs to, as a JSON list of account
    // names and SIDs; NULL = no owner (a token made before, or by the bootstrap token).
    name: 'API token owners',
    sql: `
ALTER TABLE api_tokens ADD COLUMN owners TEXT
`,
  },
  {
    version: 5,
    // Webhooks (issue 18): each subscription, its secret sealed (webhooks/secret-box.ts), and one
    // row per (webhook, event) kept until delivered or given up; the unique key makes enqueuing
    // the same event twice (a resent batch) one delivery.
    name: 'webhooks and their deliveries',
    sql: `
CREATE TABLE webhooks (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  url TEXT NOT NULL,
  events TEXT NOT NULL,
  format TEXT NOT NULL,
  secret_sealed TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  removed_at BIGINT
);
CREATE TABLE webhook_deliveries (
  id TEXT PRIMARY KEY,
  webhook_id TEXT NOT NULL REFERENCES webhooks(id),
  event_key TEXT NOT NULL,
  event_type TEXT NOT NULL,
  body TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  next_attempt_at BIGINT,
  lease_until BIGINT,
  last_attempt_at BIGINT,
  last_error TEXT,
  delivered_at BIGINT,
  UNIQUE (webhook_id, event_key)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, created_at)
`,
  },
  {
    version: 6,
    // The SIEM feed's place (issue 18): while a collector runs with --syslog, every new event
    // is queued here in the transaction that stores it, and the forwarder deletes a row only
    // after the receiver took the message. A queue rather than a number: on PostgreSQL rows
    // commit out of sequence order, so a "last forwarded" number could skip one. Collectors
    // sharing a PostgreSQL database forward one at a time: the one holding siem_lease.
    name: 'SIEM feed outbox',
    sql: `
CREATE TABLE siem_outbox (
  agent_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  queued_at BIGINT NOT NULL,
  PRIMARY KEY (agent_id, event_id)
);
CREATE INDEX siem_outbox_order ON siem_outbox (queued_at, agent_id, event_id);
CREATE TABLE siem_lease (
  name TEXT PRIMARY KEY,
  holder TEXT,
  until BIGINT NOT NULL
);
INSERT INTO siem_lease (name, holder, until) VALUES ('feed', NULL, 0)
`,
  },
  {
    version: 7,
    // Approvals in the web console (issue 18): the rule that asked for an approval (as the
    // agent names it) and the approver's reason for the decision, both NULL when not told.
    name: 'approval rule and decision reason',
    sql: `
ALTER TABLE approval_requests ADD COLUMN rule TEXT;
ALTER TABLE approval_requests ADD COLUMN decision_reason TEXT
`,
  },
  {
    version: 8,
    // Webhook deliveries under load, and the SIEM feed for every collector (H18f, issue 18's
    // review): approval.* deliveries are claimed first (priority 0, the rest 1); per webhook
    // and agent a window counts elevation.denied deliveries so a flood becomes one summary;
    // siem_lease.enabled_at says the feed is on for every collector sharing the database.
    name: 'webhook priority and limits, SIEM feed switch',
    sql: `
ALTER TABLE webhook_deliveries ADD COLUMN priority INTEGER NOT NULL DEFAULT 1;
CREATE INDEX webhook_deliveries_claim ON webhook_deliveries (status, priority, next_attempt_at);
CREATE TABLE webhook_limits (
  webhook_id TEXT NOT NULL,
  limit_key TEXT NOT NULL,
  window_start BIGINT NOT NULL,
  sent INTEGER NOT NULL,
  suppressed INTEGER NOT NULL,
  PRIMARY KEY (webhook_id, limit_key)
);
ALTER TABLE siem_lease ADD COLUMN enabled_at BIGINT
`,
  },
];

const MIGRATION_LOCK_KEY = 0x41534345; // "ASCE"

function forDialect(sql: string, dialect: Driver['dialect']): string {
  return sql.replaceAll('{JSON}', dialect === 'postgres' ? 'JSONB' : 'TEXT');
}

/** Splits a migration into statements (ours hold no `;` inside literals). */
function statements(sql: string): string[] {
  return sql.split(';').map((s) => s.trim()).filter((s) => s !== '');
}

export async function appliedVersions(db: Driver): Promise<number[]> {
  // Under the migration lock: two collectors creating the table at once would collide on PostgreSQL.
  await db.tx(
    (q) => q.run('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)'),
    { lockKey: MIGRATION_LOCK_KEY },
  );
  const rows = await db.all('SELECT version FROM schema_migrations ORDER BY version');
  return rows.map((r) => Number(r.version));
}

/** Applies the pending migrations, each in one transaction; returns the versions it applied. */
export async function migrate(db: Driver, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const known = new Set(migrations.map((m) => m.version));
  const before = await appliedVersions(db);
  const newer = before.filter((v) => !known.has(v));
  if (newer.length > 0) {
    throw new AscendError('ASC_COLLECTOR_STORAGE', `the database has schema version ${Math.max(...newer)}, newer than this Ascend knows`);
  }
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    const did = await db.tx(
      async (q) => {
        // Checked again inside the transaction: another collector may have applied it meanwhile.
        const has = await q.all('SELECT version FROM schema_migrations WHERE version = ?', [m.version]);
        if (has.length > 0) return false;
        for (const stmt of statements(forDialect(m.sql, db.dialect))) await q.run(stmt);
        if (m.after) await m.after(q);
        await q.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [m.version, m.name, Date.now()]);
        return true;
      },
      { lockKey: MIGRATION_LOCK_KEY },
    );
    if (did) applied.push(m.version);
  }
  return applied;
}
