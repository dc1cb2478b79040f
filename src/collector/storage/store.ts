/**
 * The CollectorStore over either driver. Secrets (enrollment tokens, agent credentials,
 * API tokens) are 256 random bits; only their SHA-256 hashes are stored. Every counter
 * (token uses, passcode uses) is moved by one conditional UPDATE, which is atomic on both
 * databases (SQLite serializes writers; PostgreSQL re-checks the WHERE under the row lock).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AscendError } from '../../errors.js';
import { checkComputerName, computerKey, passcodeAllowsComputer, sameComputer } from '../computer-name.js';
import { timeFrom } from '../../collector-api/time.js';
import { EVENT_DATA_MAX_BYTES } from '../../collector-api/limits.js';
import { type Driver, PostgresDriver, type Row, type Sql, type SqlValue, SqliteDriver } from './driver.js';
import { appliedVersions, migrate } from './migrations.js';
import * as webhookEvents from '../webhooks/events.js';
import { type WebhookEventInput, WebhookStore } from '../webhooks/store.js';
import {
  API_ROLES,
  type Agent,
  type ApiRole,
  type ApiToken,
  type ApprovalRequest,
  type ApprovalRequestInput,
  type ApprovalFilter,
  type ApprovalStatus,
  type DeniedRow,
  type DiscoveryGroupBy,
  type DiscoveryGroupRow,
  type DiscoveryRow,
  type ElevationRow,
  type MfaAttemptOptions,
  type MfaCheck,
  type MfaEnrollment,
  type CollectorEventInput,
  type CollectorStore,
  type Decision,
  type Enrollment,
  type EnrollmentToken,
  type PasscodeRecord,
  type RedemptionResult,
  type ListPage,
  type ReportFilter,
  type Revocation,
  type StoredEvent,
  type TseUsageRow,
} from './types.js';

export function sha256Hex(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

const str = (v: unknown): string => String(v);
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function badInput(message: string): AscendError {
  return new AscendError('ASC_COLLECTOR_BAD_INPUT', message);
}

function optionalString(e: CollectorEventInput, field: 'user' | 'passcodeId' | 'sessionId', i: number): string | null {
  const v = e[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw badInput(`events[${i}].${field} must be a string`);
  return v;
}

/** An event's time as milliseconds; the event is named in the error. */
function eventTime(v: unknown, i: number): number {
  const t = typeof v === 'number' ? timeFrom(Math.trunc(v)) : typeof v === 'string' ? timeFrom(v) : undefined;
  if (t === undefined) throw badInput(`events[${i}].time must be an ISO 8601 time with a zone or milliseconds`);
  return t;
}

/** An event checked and flattened for the events table: id, type, time, user, passcode, session, payload JSON; and the event. */
type EventRow = [string, string, number, string | null, string | null, string | null, string, CollectorEventInput];

function eventRows(events: readonly CollectorEventInput[]): EventRow[] {
  return events.map((e, i) => {
    if (e === null || typeof e !== 'object') throw badInput(`events[${i}] must be an object`);
    if (typeof e.id !== 'string' || e.id === '' || e.id.length > 200) throw badInput(`events[${i}].id must be a string of 1 to 200 characters`);
    if (typeof e.type !== 'string' || e.type === '') throw badInput(`events[${i}].type must be a non-empty string`);
    checkDataSize(e, i);
    let payload: string;
    try {
      payload = withoutNul(JSON.stringify(e));
    } catch {
      throw badInput(`events[${i}] is nested too deeply or can not be stored as JSON`);
    }
    const clean = payload.includes('\\ufffd') ? (JSON.parse(payload) as CollectorEventInput) : e;
    return [clean.id, clean.type, eventTime(clean.time, i), optionalString(clean, 'user', i), optionalString(clean, 'passcodeId', i), optionalString(clean, 'sessionId', i), payload, clean];
  });
}

/**
 * `data` is free-form: bounded here, at ingest, to the published EVENT_DATA_MAX_BYTES of JSON
 * (agents cut it below that before they spool an event), so no agent can make every report,
 * SIEM message and webhook that reads the event carry a megabyte.
 */
function checkDataSize(e: CollectorEventInput, i: number): void {
  const data = (e as { data?: unknown }).data;
  if (data === undefined) return;
  let bytes: number;
  try {
    bytes = Buffer.byteLength(JSON.stringify(data) ?? '', 'utf8');
  } catch {
    // Refused just below, with the whole event named.
    return;
  }
  if (bytes > EVENT_DATA_MAX_BYTES) throw badInput(`events[${i}].data is ${bytes} bytes of JSON, more than the ${EVENT_DATA_MAX_BYTES} allowed`);
}

/**
 * PostgreSQL stores no U+0000 in TEXT or JSONB, so one NUL in any field would make a whole
 * batch unstorable there, and the agent would retry it forever with its audit trail stuck
 * behind it (a local user can put one in a justification). Every NUL, in a value or a key,
 * becomes U+FFFD on both databases alike: the JSON text's `\u0000` escapes (not an escaped
 * backslash followed by "u0000") are rewritten.
 */
export function withoutNul(json: string): string {
  return json.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd');
}

/** The unique order of the event reports (the primary key after the time): their keyset. */
const EVENT_ORDER = ['e.occurred_at', 'e.agent_id', 'e.event_id'] as const;

/** Rows per multi-row INSERT: 10 parameters a row stays far below SQLite's 32,766 variables. */
const EVENT_CHUNK = 500;

/** The longest reason an approver may give. */
const MAX_REASON = 500;

const APPROVAL_COLUMNS =
  'id, agent_id, request_id, computer, user_name, process_path, args, justification, status, created_at, decided_at, decided_by, time_limit_s, used_at, rule, decision_reason';
const API_TOKEN_COLUMNS = 'id, name, role, created_at, revoked_at, expires_at, source, owners';
const PASSCODE_COLUMNS = 'id, title, max_uses, uses, issued_at, revoked_at, computers';
const MFA_COLUMNS = 'user_name, secret, created_at, confirmed_at, last_step, failures, locked_until';

/** Report filters as SQL conditions on a table alias with occurred_at / computer / user_name / passcode_id. */
function filterSql(filter: ReportFilter, alias: string, timeColumn = 'occurred_at'): { where: string[]; params: SqlValue[] } {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (filter.from !== undefined) (where.push(`${alias}.${timeColumn} >= ?`), params.push(filter.from));
  if (filter.to !== undefined) (where.push(`${alias}.${timeColumn} < ?`), params.push(filter.to));
  if (filter.computer !== undefined) (where.push(`LOWER(${alias}.computer) = LOWER(?)`), params.push(filter.computer));
  if (filter.user !== undefined) (where.push(`LOWER(${alias}.user_name) = LOWER(?)`), params.push(filter.user));
  return { where, params };
}

/**
 * Keyset paging (issue 18): the condition "after this key" in the order the report sorts by
 * (a row-value comparison both SQLite and PostgreSQL read with the ORDER BY's own collation),
 * and the LIMIT. `keys` are the ORDER BY columns; two keys use the key's time and `a`.
 */
function pageSql(filter: ReportFilter, keys: readonly string[], where: string[], params: SqlValue[]): string {
  if (filter.after !== undefined) {
    const k = filter.after;
    const values = keys.length === 3 ? [k.time, k.a, k.b] : [k.time, k.a];
    where.push(`(${keys.join(', ')}) > (${keys.map(() => '?').join(', ')})`);
    params.push(...values);
  }
  if (filter.limit === undefined) return '';
  params.push(filter.limit);
  return ' LIMIT ?';
}

/** An admin list's WHERE (the keyset), ORDER BY and LIMIT on its unique order (a time column, then the id). */
function listSql(page: ListPage, keys: readonly [string, string]): { sql: string; params: SqlValue[] } {
  const where: string[] = [];
  const params: SqlValue[] = [];
  const limit = pageSql(page, keys, where, params);
  return { sql: `${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${keys.join(', ')}${limit}`, params };
}

/**
 * A string field of the event's payload read in SQL (null when absent or not a string): the
 * reports read the few fields they show, never the whole payload into JavaScript.
 */
function payloadField(dialect: Driver['dialect'], key: string): string {
  // `key` is the code's own constant; a dotted one ("data.cwd") reads a field of a nested object.
  if (dialect === 'postgres') {
    const path = `'{${key.split('.').join(',')}}'`;
    return `CASE WHEN jsonb_typeof(e.payload #> ${path}) = 'string' THEN e.payload #>> ${path} END`;
  }
  return `CASE WHEN json_type(e.payload, '$.${key}') = 'text' THEN json_extract(e.payload, '$.${key}') END`;
}

/** A list-or-string field of the payload as JSON text (null otherwise). */
function payloadJson(dialect: Driver['dialect'], key: string): string {
  return dialect === 'postgres'
    ? `CASE WHEN jsonb_typeof(e.payload -> '${key}') IN ('array', 'string') THEN (e.payload -> '${key}')::text END`
    : `CASE json_type(e.payload, '$.${key}') WHEN 'array' THEN json_extract(e.payload, '$.${key}') WHEN 'text' THEN json_quote(json_extract(e.payload, '$.${key}')) END`;
}

/**
 * An event report's SELECT with its columns, paged by `filter.limit` and, with
 * `filter.maxBytes`, by a byte budget counted in SQL: each row's text length (`row_bytes`)
 * and the running total (`page_bytes`); rows after the one that passes the budget are not
 * read (the first two always are, so a caller can tell that more follow).
 */
function budgeted(inner: string, sizeOf: readonly string[], filter: ReportFilter, params: SqlValue[]): { sql: string; params: SqlValue[] } {
  if (filter.maxBytes === undefined) return { sql: inner, params };
  // Sized from the inner query's own columns (`sizeOf`: their names): each payload field is read once.
  const size = `(200${sizeOf.map((c) => ` + COALESCE(LENGTH(t.${c}), 0)`).join('')})`;
  const order = 's.occurred_at, s.agent_id, s.event_id';
  const sql = `SELECT * FROM (SELECT s.*, SUM(s.row_bytes) OVER (ORDER BY ${order} ROWS UNBOUNDED PRECEDING) AS page_bytes, ROW_NUMBER() OVER (ORDER BY ${order}) AS row_no
      FROM (SELECT t.*, ${size} AS row_bytes FROM (${inner}) t) s) p
    WHERE p.page_bytes - p.row_bytes <= ? OR p.row_no <= 2 ORDER BY p.occurred_at, p.agent_id, p.event_id`;
  return { sql, params: [...params, filter.maxBytes] };
}

/** A user name as the MFA table keys it: Windows account names are case-insensitive. */
function mfaKey(user: string): string {
  return user.trim().toLowerCase();
}

function approvalOf(r: Row): ApprovalRequest {
  return {
    id: str(r.id),
    agentId: str(r.agent_id),
    requestId: str(r.request_id),
    computer: str(r.computer),
    user: str(r.user_name),
    processPath: str(r.process_path),
    args: strOrNull(r.args),
    justification: strOrNull(r.justification),
    status: str(r.status) as ApprovalStatus,
    createdAt: Number(r.created_at),
    decidedAt: numOrNull(r.decided_at),
    decidedBy: strOrNull(r.decided_by),
    timeLimitSeconds: numOrNull(r.time_limit_s),
    usedAt: numOrNull(r.used_at),
    rule: strOrNull(r.rule),
    reason: strOrNull(r.decision_reason),
  };
}

function mfaOf(r: Row): MfaEnrollment {
  return {
    user: str(r.user_name),
    secret: str(r.secret),
    createdAt: Number(r.created_at),
    confirmedAt: numOrNull(r.confirmed_at),
    lastStep: numOrNull(r.last_step),
    failures: Number(r.failures),
    lockedUntil: numOrNull(r.locked_until),
  };
}

const AGENT_COLUMNS = 'id, computer, enrolled_at, revoked_at, computer_key';

function agentOf(r: Row): Agent {
  return { id: str(r.id), computer: str(r.computer), enrolledAt: Number(r.enrolled_at), revokedAt: numOrNull(r.revoked_at), bound: r.computer_key !== null && r.computer_key !== undefined };
}

/** A JSON list of names from a TEXT column; null when absent or malformed (callers fail closed). */
function namesOf(v: unknown): string[] | null {
  if (v === null || v === undefined) return null;
  try {
    const parsed: unknown = JSON.parse(String(v));
    return Array.isArray(parsed) && parsed.every((x) => typeof x === 'string') ? (parsed as string[]) : null;
  } catch {
    return null;
  }
}

/** True when a write failed on the unique index that lets one live agent hold a computer name. */
function isComputerTaken(e: unknown): boolean {
  const err = e as { code?: unknown; constraint?: unknown; message?: unknown };
  if (err?.code === '23505') return err.constraint === 'agents_live_computer';
  return typeof err?.code === 'string' && err.code.startsWith('SQLITE_CONSTRAINT') && String(err.message).includes('agents.computer_key');
}

function computerTaken(computer: string, holder: string | undefined): AscendError {
  const id = holder ?? 'ID';
  return new AscendError('ASC_COLLECTOR_COMPUTER_TAKEN', `computer ${computer} is enrolled already${holder === undefined ? '' : ` (agent ${holder})`}; if this is the same machine again, revoke the old agent first: ascend server agent revoke ${id}`);
}

/** The domain-wide MFA backstop when the caller names none: ten times the per-computer count, per hour. */
const MFA_BACKSTOP_FACTOR = 10;
const MFA_BACKSTOP_WINDOW_MS = 3600_000;

function passcodeOf(r: Row): PasscodeRecord {
  return {
    id: str(r.id),
    title: str(r.title),
    maxUses: numOrNull(r.max_uses),
    uses: Number(r.uses),
    issuedAt: Number(r.issued_at),
    revokedAt: numOrNull(r.revoked_at),
    computers: namesOf(r.computers),
  };
}

function apiTokenOf(r: Row): ApiToken {
  return {
    id: str(r.id),
    name: str(r.name),
    role: str(r.role) as ApiRole,
    createdAt: Number(r.created_at),
    revokedAt: numOrNull(r.revoked_at),
    expiresAt: numOrNull(r.expires_at),
    source: str(r.source) === 'ad' ? 'ad' : 'token',
    owners: ownersOf(r.owners),
  };
}

/** The owners column: a JSON list of strings; anything else reads as no owner. */
function ownersOf(v: unknown): string[] {
  if (typeof v !== 'string' || v === '') return [];
  const parsed: unknown = JSON.parse(v);
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) throw new AscendError('ASC_COLLECTOR_STORAGE', 'an API token has a malformed owners column');
  return parsed as string[];
}

/** Queues the events an INSERT ... RETURNING event_id just stored (the new ones only); returns how many. */
async function queueForSiem(q: Sql, agentId: string, inserted: readonly Row[], now: number): Promise<number> {
  for (let start = 0; start < inserted.length; start += EVENT_CHUNK) {
    const chunk = inserted.slice(start, start + EVENT_CHUNK);
    await q.run(
      `INSERT INTO siem_outbox (agent_id, event_id, queued_at) VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')} ON CONFLICT (agent_id, event_id) DO NOTHING`,
      chunk.flatMap((r) => [agentId, str(r.event_id), now]),
    );
  }
  return inserted.length;
}

function parsePayload(v: unknown): Record<string, unknown> {
  const parsed: unknown = typeof v === 'string' ? JSON.parse(v) : v;
  return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
}

export class SqlCollectorStore implements CollectorStore {
  readonly kind: 'sqlite' | 'postgres';

  constructor(protected readonly db: Driver) {
    this.kind = db.dialect;
  }

  migrate(): Promise<number[]> {
    return migrate(this.db);
  }

  appliedMigrations(): Promise<number[]> {
    return appliedVersions(this.db);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  private webhooks: WebhookStore | undefined;

  webhookStore(): WebhookStore {
    this.webhooks ??= new WebhookStore(this.db);
    return this.webhooks;
  }

  // --- enrollment and agents

  async createEnrollmentToken(opts: { uses?: number; expiresAt?: number | null; now?: number; computers?: readonly string[] }): Promise<EnrollmentToken> {
    const computers: string[] = [];
    for (const [i, c] of (opts.computers ?? []).entries()) {
      const name = checkComputerName(c, `computers[${i}]`);
      if (!computers.some((k) => computerKey(k) === computerKey(name))) computers.push(name);
    }
    // One use per named computer unless told otherwise.
    const uses = opts.uses ?? Math.max(1, computers.length);
    if (!Number.isInteger(uses) || uses < 1) throw badInput('uses must be a whole number of at least 1');
    const token = newSecret();
    const id = randomUUID();
    const expiresAt = opts.expiresAt ?? null;
    await this.db.run('INSERT INTO enrollment_tokens (id, token_hash, uses_left, expires_at, created_at, computers) VALUES (?, ?, ?, ?, ?, ?)', [
      id,
      sha256Hex(token),
      uses,
      expiresAt,
      opts.now ?? Date.now(),
      computers.length === 0 ? null : JSON.stringify(computers),
    ]);
    return { token, id, uses, expiresAt, computers };
  }

  async enrollAgent(enrollmentToken: string, requested: string, now = Date.now()): Promise<Enrollment> {
    const computer = checkComputerName(requested, 'computer');
    const key = computerKey(computer);
    try {
      return await this.db.tx(async (q) => {
        // The token first: without a good one nothing is told about which names are held.
        // Every refusal below throws, so the transaction rolls back and no use is spent.
        const rows = await q.all(
          'UPDATE enrollment_tokens SET uses_left = uses_left - 1 WHERE token_hash = ? AND uses_left > 0 AND (expires_at IS NULL OR expires_at > ?) RETURNING id, computers',
          [sha256Hex(enrollmentToken), now],
        );
        const tokenRow = rows[0];
        if (tokenRow === undefined) throw new AscendError('ASC_COLLECTOR_ENROLL_REFUSED', 'the enrollment token is unknown, expired or used up');
        const named = tokenRow.computers === null || tokenRow.computers === undefined ? [] : namesOf(tokenRow.computers);
        if (named === null || (named.length > 0 && !named.some((n) => sameComputer(n, computer)))) {
          throw new AscendError('ASC_COLLECTOR_ENROLL_REFUSED', `this enrollment token does not enroll computer ${computer}${named === null ? '' : ` (it names ${named.join(', ')})`}`);
        }
        const holders = await q.all('SELECT id FROM agents WHERE computer_key = ? AND revoked_at IS NULL', [key]);
        if (holders.length > 0) throw computerTaken(computer, str(holders[0]?.id));
        const credential = newSecret();
        const agent: Agent = { id: randomUUID(), computer, enrolledAt: now, revokedAt: null, bound: true };
        // The unique index agents_live_computer settles a race the SELECT above can not see (PostgreSQL, read committed).
        await q.run('INSERT INTO agents (id, computer, credential_hash, enrolled_at, enrollment_token_id, computer_key) VALUES (?, ?, ?, ?, ?, ?)', [
          agent.id,
          computer,
          sha256Hex(credential),
          now,
          str(tokenRow.id),
          key,
        ]);
        return { agent, credential };
      });
    } catch (e) {
      if (isComputerTaken(e)) throw computerTaken(computer, undefined);
      throw e;
    }
  }

  async findAgentByCredential(credential: string): Promise<Agent | undefined> {
    const rows = await this.db.all(`SELECT ${AGENT_COLUMNS} FROM agents WHERE credential_hash = ?`, [sha256Hex(credential)]);
    return rows[0] === undefined ? undefined : agentOf(rows[0]);
  }

  async getAgent(id: string): Promise<Agent | undefined> {
    const rows = await this.db.all(`SELECT ${AGENT_COLUMNS} FROM agents WHERE id = ?`, [id]);
    return rows[0] === undefined ? undefined : agentOf(rows[0]);
  }

  async listAgents(page: ListPage = {}): Promise<Agent[]> {
    const { sql, params } = listSql(page, ['enrolled_at', 'id']);
    const rows = await this.db.all(`SELECT ${AGENT_COLUMNS} FROM agents${sql}`, params);
    return rows.map(agentOf);
  }

  async revokeAgent(id: string, reason?: string, now = Date.now(), notify?: (agent: Agent) => readonly WebhookEventInput[]): Promise<void> {
    await this.db.tx(async (q) => {
      const n = await q.run('UPDATE agents SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?', [now, id]);
      if (n === 0) throw new AscendError('ASC_COLLECTOR_NOT_FOUND', `no agent ${id}`);
      await this.addRevocation(q, 'agent', id, reason ?? null, now);
      // The revocation's webhook deliveries commit with it (keyed by the agent: once however often it is revoked).
      if (notify !== undefined) {
        const rows = await q.all(`SELECT ${AGENT_COLUMNS} FROM agents WHERE id = ?`, [id]);
        await this.webhookStore().enqueueIn(q, notify(agentOf(rows[0] as Row)), now);
      }
    });
  }

  private async addRevocation(q: Sql, kind: Revocation['kind'], subject: string, reason: string | null, now: number): Promise<void> {
    await q.run('INSERT INTO revocations (kind, subject, reason, revoked_at) VALUES (?, ?, ?, ?) ON CONFLICT (kind, subject) DO NOTHING', [
      kind,
      subject,
      reason,
      now,
    ]);
  }

  // --- events

  async insertEvents(agentId: string, events: readonly CollectorEventInput[], now = Date.now()): Promise<number> {
    const rows = eventRows(events);
    if (rows.length === 0) return 0;
    return this.db.tx((q) => this.insertEventRows(q, agentId, rows, now));
  }

  /**
   * Inserts validated rows for one enrolled agent inside the caller's transaction; returns how
   * many were new. The new ones only are queued, in the same transaction, for the SIEM feed
   * (when it is on) and for the webhooks (elevation.denied): a batch resent after a lost answer
   * queues nothing twice, and a batch that fails queues nothing at all.
   */
  protected async insertEventRows(q: Sql, agentId: string, rows: readonly EventRow[], now: number): Promise<number> {
    // The feed's switch is read with the agent: every collector sharing the database queues once it is on.
    const agents = await q.all("SELECT computer, revoked_at, (SELECT enabled_at FROM siem_lease WHERE name = 'feed') AS siem_on FROM agents WHERE id = ?", [agentId]);
    const agent = agents[0];
    if (agent === undefined || agent.revoked_at !== null) throw new AscendError('ASC_COLLECTOR_NOT_FOUND', `no enrolled agent ${agentId}`);
    const siem = this.siemQueue || (agent.siem_on !== null && agent.siem_on !== undefined);
    // The machine is the enrolled one, whatever the payload claims.
    const computer = str(agent.computer);
    let added = 0;
    const denied: CollectorEventInput[] = [];
    for (let start = 0; start < rows.length; start += EVENT_CHUNK) {
      const chunk = rows.slice(start, start + EVENT_CHUNK);
      const params: SqlValue[] = [];
      for (const [id, type, time, user, passcode, session, payload] of chunk) {
        params.push(agentId, id, type, time, now, computer, user, passcode, session, payload);
      }
      const values = chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
      const inserted = await q.all(
        `INSERT INTO events (agent_id, event_id, type, occurred_at, received_at, computer, user_name, passcode_id, session_id, payload) VALUES ${values} ON CONFLICT (agent_id, event_id) DO NOTHING RETURNING event_id, type`,
        params,
      );
      if (siem) await queueForSiem(q, agentId, inserted, now);
      added += inserted.length;
      const fresh = new Set(inserted.filter((r) => r.type === 'elevation-denied').map((r) => str(r.event_id)));
      if (fresh.size > 0) for (const r of chunk) if (r[1] === 'elevation-denied' && fresh.has(r[0])) denied.push(r[7]);
    }
    if (denied.length > 0) await this.webhookStore().enqueueIn(q, webhookEvents.elevationsDenied({ id: agentId, computer }, denied as Record<string, unknown>[], now), now);
    return added;
  }

  // --- the SIEM feed (siem/forwarder.ts): a queue of events not yet forwarded

  private siemQueue = false;

  /**
   * From now on every new event is queued for the SIEM feed in the transaction that stores it,
   * by this collector and, through the database's switch (siem_lease.enabled_at), by every
   * other collector sharing the database, started with --syslog or not.
   */
  async enableSiemQueue(now = Date.now()): Promise<void> {
    this.siemQueue = true;
    await this.db.run("UPDATE siem_lease SET enabled_at = COALESCE(enabled_at, ?) WHERE name = 'feed'", [now]);
  }

  /** Turns the database's switch off: collectors started without --syslog stop queueing (a forwarder keeps sending what is queued). */
  async disableSiemQueue(): Promise<void> {
    this.siemQueue = false;
    await this.db.run("UPDATE siem_lease SET enabled_at = NULL WHERE name = 'feed'");
  }

  /** Whether the database's SIEM feed switch is on, and since when. */
  async siemEnabledAt(): Promise<number | null> {
    const rows = await this.db.all("SELECT enabled_at FROM siem_lease WHERE name = 'feed'");
    return numOrNull(rows[0]?.enabled_at);
  }

  /** In the order they were stored (siem_outbox_order serves it: a backlog of millions is not sorted per batch). */
  async siemBatch(limit: number): Promise<StoredEvent[]> {
    const rows = await this.db.all(
      `SELECT o.agent_id AS agent_id, o.event_id AS event_id, e.type AS type, e.occurred_at AS occurred_at, e.received_at AS received_at, e.computer AS computer, e.user_name AS user_name, e.passcode_id AS passcode_id, e.session_id AS session_id, CAST(e.payload AS TEXT) AS payload
       FROM siem_outbox o LEFT JOIN events e ON e.agent_id = o.agent_id AND e.event_id = o.event_id
       ORDER BY o.queued_at, o.agent_id, o.event_id LIMIT ?`,
      [limit],
    );
    // An event deleted since it was queued has nothing to forward: its place goes.
    const gone = rows.filter((r) => r.type === null || r.type === undefined).map((r) => ({ agentId: str(r.agent_id), id: str(r.event_id) }));
    if (gone.length > 0) await this.siemDone(gone);
    return rows
      .filter((r) => r.type !== null && r.type !== undefined)
      .map((r) => ({
        agentId: str(r.agent_id),
        id: str(r.event_id),
        type: str(r.type),
        time: Number(r.occurred_at),
        receivedAt: Number(r.received_at),
        computer: str(r.computer),
        user: strOrNull(r.user_name),
        passcodeId: strOrNull(r.passcode_id),
        sessionId: strOrNull(r.session_id),
        payload: parsePayload(r.payload),
      }));
  }

  /** The receiver took these: they leave the queue, in one transaction. */
  async siemDone(keys: readonly { agentId: string; id: string }[]): Promise<void> {
    if (keys.length === 0) return;
    await this.db.tx(async (q) => {
      for (const k of keys) await q.run('DELETE FROM siem_outbox WHERE agent_id = ? AND event_id = ?', [k.agentId, k.id]);
    });
  }

  /**
   * Takes or renews the feed's lease until `until` for `holder`: true when it holds it. One
   * collector forwards at a time, so two sharing a database do not send each event twice.
   */
  async siemLease(holder: string, until: number, now = Date.now()): Promise<boolean> {
    return (await this.db.run("UPDATE siem_lease SET holder = ?, until = ? WHERE name = 'feed' AND (holder = ? OR holder IS NULL OR until < ?)", [holder, until, holder, now])) === 1;
  }

  async siemRelease(holder: string): Promise<void> {
    await this.db.run("UPDATE siem_lease SET holder = NULL, until = 0 WHERE name = 'feed' AND holder = ?", [holder]);
  }

  async siemQueued(): Promise<number> {
    const rows = await this.db.all('SELECT COUNT(*) AS n FROM siem_outbox');
    return Number(rows[0]?.n ?? 0);
  }

  async listEvents(agentId?: string): Promise<StoredEvent[]> {
    const where = agentId === undefined ? '' : 'WHERE agent_id = ?';
    const rows = await this.db.all(
      `SELECT agent_id, event_id, type, occurred_at, received_at, computer, user_name, passcode_id, session_id, CAST(payload AS TEXT) AS payload FROM events ${where} ORDER BY occurred_at, agent_id, event_id`,
      agentId === undefined ? [] : [agentId],
    );
    return rows.map((r) => ({
      agentId: str(r.agent_id),
      id: str(r.event_id),
      type: str(r.type),
      time: Number(r.occurred_at),
      receivedAt: Number(r.received_at),
      computer: str(r.computer),
      user: strOrNull(r.user_name),
      passcodeId: strOrNull(r.passcode_id),
      sessionId: strOrNull(r.session_id),
      payload: parsePayload(r.payload),
    }));
  }

  async countEvents(): Promise<number> {
    const rows = await this.db.all('SELECT COUNT(*) AS n FROM events');
    return Number(rows[0]?.n ?? 0);
  }

  // --- approvals

  async createApprovalRequest(agentId: string, input: ApprovalRequestInput, now = Date.now(), notify?: (r: ApprovalRequest) => readonly WebhookEventInput[], maxPending?: number): Promise<ApprovalRequest> {
    for (const f of ['requestId', 'user', 'processPath'] as const) {
      if (typeof input[f] !== 'string' || input[f] === '') throw badInput(`${f} must be a non-empty string`);
    }
    return this.db.tx(async (q) => {
      // The agent's row locked (PostgreSQL): its filings are counted and inserted one at a time, whatever the collector.
      const agents = await q.all(`SELECT computer, revoked_at FROM agents WHERE id = ?${this.kind === 'postgres' ? ' FOR UPDATE' : ''}`, [agentId]);
      const agent = agents[0];
      if (agent === undefined || agent.revoked_at !== null) throw new AscendError('ASC_COLLECTOR_NOT_FOUND', `no enrolled agent ${agentId}`);
      if (maxPending !== undefined) {
        const filed = await q.all('SELECT 1 AS one FROM approval_requests WHERE agent_id = ? AND request_id = ?', [agentId, input.requestId]);
        const pending = filed.length > 0 ? 0 : Number((await q.all("SELECT COUNT(*) AS n FROM approval_requests WHERE agent_id = ? AND status = 'pending'", [agentId]))[0]?.n ?? 0);
        if (pending >= maxPending) throw new AscendError('ASC_COLLECTOR_RATE_LIMITED', `this computer has ${maxPending} approval requests waiting already; wait for a decision before asking again`);
      }
      const n = await q.run(
        `INSERT INTO approval_requests (${APPROVAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, NULL, NULL, NULL, NULL, ?, NULL) ON CONFLICT (agent_id, request_id) DO NOTHING`,
        [randomUUID(), agentId, input.requestId, str(agent.computer), input.user, input.processPath, input.args ?? null, input.justification ?? null, now, input.rule ?? null],
      );
      const rows = await q.all(`SELECT ${APPROVAL_COLUMNS} FROM approval_requests WHERE agent_id = ? AND request_id = ?`, [agentId, input.requestId]);
      const r = approvalOf(rows[0] as Row);
      // The new request's webhook deliveries commit with it (a request filed again queues nothing).
      if (n > 0 && notify !== undefined) await this.webhookStore().enqueueIn(q, notify(r), now);
      return r;
    });
  }

  async listPendingApprovals(): Promise<ApprovalRequest[]> {
    const rows = await this.db.all(`SELECT ${APPROVAL_COLUMNS} FROM approval_requests WHERE status = 'pending' ORDER BY created_at, id`);
    return rows.map(approvalOf);
  }

  async listApprovals(filter: ApprovalFilter = {}): Promise<ApprovalRequest[]> {
    const { where, params } = filterSql(filter, 'a', 'created_at');
    if (filter.status !== undefined) (where.push('a.status = ?'), params.push(filter.status));
    const limit = pageSql(filter, ['a.created_at', 'a.id'], where, params);
    const rows = await this.db.all(
      `SELECT ${APPROVAL_COLUMNS} FROM approval_requests a ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY a.created_at, a.id${limit}`,
      params,
    );
    return rows.map(approvalOf);
  }

  async recentlyDecidedApprovals(from: number, limit: number): Promise<ApprovalRequest[]> {
    const rows = await this.db.all(
      `SELECT ${APPROVAL_COLUMNS} FROM approval_requests WHERE created_at >= ? AND status <> 'pending' ORDER BY COALESCE(decided_at, created_at) DESC, id LIMIT ?`,
      [from, limit],
    );
    return rows.map(approvalOf);
  }

  async useApproval(agentId: string, requestId: string, now = Date.now()): Promise<ApprovalRequest> {
    return this.db.tx(async (q) => {
      // One conditional UPDATE: two concurrent calls can not both run the elevation.
      const n = await q.run(
        "UPDATE approval_requests SET used_at = ? WHERE agent_id = ? AND request_id = ? AND status = 'approved' AND used_at IS NULL AND (time_limit_s IS NULL OR decided_at + time_limit_s * 1000 > ?)",
        [now, agentId, requestId, now],
      );
      const rows = await q.all(`SELECT ${APPROVAL_COLUMNS} FROM approval_requests WHERE agent_id = ? AND request_id = ?`, [agentId, requestId]);
      const row = rows[0];
      if (row === undefined) throw new AscendError('ASC_COLLECTOR_NOT_FOUND', `no approval request ${requestId} from this agent`);
      if (n === 0) {
        const a = approvalOf(row);
        const why = a.status !== 'approved' ? `is ${a.status}` : a.usedAt !== null ? 'was used already' : 'is past its time limit';
        throw new AscendError('ASC_COLLECTOR_CONFLICT', `approval request ${requestId} ${why}`);
      }
      return approvalOf(row);
    });
  }

  async getApprovalRequest(id: string): Promise<ApprovalRequest | undefined> {
    const rows = await this.db.all(`SELECT ${APPROVAL_COLUMNS} FROM approval_requests WHERE id = ?`, [id]);
    return rows[0] === undefined ? undefined : approvalOf(rows[0]);
  }

  async getApprovalForAgent(agentId: string, requestId: string): Promise<ApprovalRequest | undefined> {
    const rows = await this.db.all(`SELECT ${APPROVAL_COLUMNS} FROM approval_requests WHERE agent_id = ? AND request_id = ?`, [agentId, requestId]);
    return rows[0] === undefined ? undefined : approvalOf(rows[0]);
  }

  async decideApproval(id: string, decision: Decision, now = Date.now(), notify?: (r: ApprovalRequest) => readonly WebhookEventInput[]): Promise<ApprovalRequest> {
    const limit = decision.timeLimitSeconds;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw badInput('timeLimitSeconds must be a whole number of at least 1');
    if (typeof decision.by !== 'string' || decision.by === '') throw badInput('by must name the approver');
    const reason = decision.reason === undefined || decision.reason.trim() === '' ? null : decision.reason.trim();
    if (reason !== null && (reason.length > MAX_REASON || /[\p{Cc}\p{Zl}\p{Zp}]/u.test(reason))) throw badInput(`reason must be one line of at most ${MAX_REASON} characters`);
    return this.db.tx(async (q) => {
      const n = await q.run(
        "UPDATE approval_requests SET status = ?, decided_at = ?, decided_by = ?, time_limit_s = ?, decision_reason = ? WHERE id = ? AND status = 'pending'",
        [decision.approve ? 'approved' : 'denied', now, decision.by, decision.approve ? (limit ?? null) : null, reason, id],
      );
      const rows = await q.all(`SELECT ${APPROVAL_COLUMNS} FROM approval_requests WHERE id = ?`, [id]);
      const row = rows[0];
      if (row === undefined) throw new AscendError('ASC_COLLECTOR_NOT_FOUND', `no approval request ${id}`);
      if (n === 0) throw new AscendError('ASC_COLLECTOR_CONFLICT', `approval request ${id} is ${str(row.status)} already`);
      const r = approvalOf(row);
      // The decision's webhook deliveries commit with it.
      if (notify !== undefined) await this.webhookStore().enqueueIn(q, notify(r), now);
      return r;
    });
  }

  expirePendingApprovals(maxAgeMs: number, now = Date.now()): Promise<number> {
    return this.db.run("UPDATE approval_requests SET status = 'expired', decided_at = ? WHERE status = 'pending' AND created_at < ?", [now, now - maxAgeMs]);
  }


  // --- passcode registry

  async registerPasscode(p: { id: string; title: string; maxUses: number | null; issuedAt?: number; computers?: readonly string[] | null }): Promise<PasscodeRecord> {
    if (typeof p.id !== 'string' || p.id === '') throw badInput('passcode id must be a non-empty string');
    if (p.maxUses !== null && (!Number.isInteger(p.maxUses) || p.maxUses < 1)) throw badInput('maxUses must be null or a whole number of at least 1');
    const computers = p.computers === undefined || p.computers === null ? null : [...p.computers];
    if (computers !== null && !computers.every((c) => typeof c === 'string' && c.trim() !== '')) throw badInput('computers must be a list of computer name patterns or SIDs');
    const issuedAt = p.issuedAt ?? Date.now();
    return this.db.tx(async (q) => {
      // A passcode revoked before it was registered stays revoked.
      const revoked = await q.all("SELECT revoked_at FROM revocations WHERE kind = 'passcode' AND subject = ?", [p.id]);
      const revokedAt = revoked[0] === undefined ? null : Number(revoked[0].revoked_at);
      const list = computers === null ? null : JSON.stringify(computers);
      const n = await q.run('INSERT INTO passcodes (id, title, max_uses, uses, issued_at, revoked_at, computers) VALUES (?, ?, ?, 0, ?, ?, ?) ON CONFLICT (id) DO NOTHING', [
        p.id,
        p.title,
        p.maxUses,
        issuedAt,
        revokedAt,
        list,
      ]);
      if (n === 0) {
        // Registered before the registry kept computers: registering it again tells them (once).
        if (list !== null && (await q.run('UPDATE passcodes SET computers = ? WHERE id = ? AND computers IS NULL', [list, p.id])) > 0) {
          const rows = await q.all(`SELECT ${PASSCODE_COLUMNS} FROM passcodes WHERE id = ?`, [p.id]);
          return passcodeOf(rows[0] as Row);
        }
        throw new AscendError('ASC_COLLECTOR_CONFLICT', `passcode ${p.id} is registered already`);
      }
      return { id: p.id, title: p.title, maxUses: p.maxUses, uses: 0, issuedAt, revokedAt, computers };
    });
  }

  async getPasscode(id: string): Promise<PasscodeRecord | undefined> {
    const rows = await this.db.all(`SELECT ${PASSCODE_COLUMNS} FROM passcodes WHERE id = ?`, [id]);
    return rows[0] === undefined ? undefined : passcodeOf(rows[0]);
  }

  async listPasscodes(page: ListPage = {}): Promise<PasscodeRecord[]> {
    const { sql, params } = listSql(page, ['issued_at', 'id']);
    const rows = await this.db.all(`SELECT ${PASSCODE_COLUMNS} FROM passcodes${sql}`, params);
    return rows.map(passcodeOf);
  }

  recordRedemption(passcodeId: string, agentId: string, now = Date.now()): Promise<RedemptionResult> {
    return this.db.tx(async (q): Promise<RedemptionResult> => {
      // The passcode must be for the agent's own enrolled computer; checked before the count moves, so a refusal spends nothing.
      const passcode = (await q.all('SELECT computers FROM passcodes WHERE id = ?', [passcodeId]))[0];
      if (passcode !== undefined) {
        const agent = (await q.all('SELECT computer, computer_key FROM agents WHERE id = ? AND revoked_at IS NULL', [agentId]))[0];
        const patterns = namesOf(passcode.computers);
        // Computers unknown (registered by an older Ascend), or an agent that holds no name: nobody's.
        if (agent === undefined || agent.computer_key === null || patterns === null || !passcodeAllowsComputer(patterns, str(agent.computer))) {
          return { ok: false, reason: 'wrong-computer' };
        }
      }
      const rows = await q.all(
        'UPDATE passcodes SET uses = uses + 1 WHERE id = ? AND revoked_at IS NULL AND (max_uses IS NULL OR uses < max_uses) RETURNING uses',
        [passcodeId],
      );
      const row = rows[0];
      if (row === undefined) {
        const p = await q.all('SELECT revoked_at FROM passcodes WHERE id = ?', [passcodeId]);
        const found = p[0];
        if (found === undefined) return { ok: false, reason: 'unknown' };
        return { ok: false, reason: found.revoked_at !== null ? 'revoked' : 'spent' };
      }
      const uses = Number(row.uses);
      await q.run('INSERT INTO passcode_redemptions (passcode_id, agent_id, use_number, redeemed_at) VALUES (?, ?, ?, ?)', [passcodeId, agentId, uses, now]);
      return { ok: true, uses };
    });
  }

  async revokePasscode(id: string, reason?: string, now = Date.now(), notify?: () => readonly WebhookEventInput[]): Promise<void> {
    // A passcode the registry never saw (issued offline) can still be revoked: the revocation list carries it.
    await this.db.tx(async (q) => {
      await q.run('UPDATE passcodes SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?', [now, id]);
      await this.addRevocation(q, 'passcode', id, reason ?? null, now);
      // Its webhook deliveries commit with it.
      if (notify !== undefined) await this.webhookStore().enqueueIn(q, notify(), now);
    });
  }

  async listRevocations(since?: number, page: ListPage = {}): Promise<Revocation[]> {
    const where: string[] = since === undefined ? [] : ['revoked_at >= ?'];
    const params: SqlValue[] = since === undefined ? [] : [since];
    const limit = pageSql(page, ['revoked_at', 'kind', 'subject'], where, params);
    const rows = await this.db.all(
      `SELECT kind, subject, reason, revoked_at FROM revocations${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY revoked_at, kind, subject${limit}`,
      params,
    );
    return rows.map((r) => ({ kind: str(r.kind) as Revocation['kind'], subject: str(r.subject), reason: strOrNull(r.reason), revokedAt: Number(r.revoked_at) }));
  }

  // --- admin API tokens

  async createApiToken(
    role: ApiRole,
    name: string,
    now = Date.now(),
    opts: { expiresAt?: number | null; source?: ApiToken['source']; owners?: readonly string[] } = {},
  ): Promise<{ token: string; record: ApiToken }> {
    if (!API_ROLES.includes(role)) throw badInput(`role must be one of ${API_ROLES.join(', ')}`);
    if (typeof name !== 'string' || name.trim() === '') throw badInput('name must not be empty');
    const owners = [...new Set(opts.owners ?? [])];
    if (owners.some((o) => typeof o !== 'string' || o.trim() === '')) throw badInput('an owner must not be empty');
    const token = newSecret();
    const record: ApiToken = { id: randomUUID(), name, role, createdAt: now, revokedAt: null, expiresAt: opts.expiresAt ?? null, source: opts.source ?? 'token', owners };
    await this.db.run('INSERT INTO api_tokens (id, token_hash, name, role, created_at, expires_at, source, owners) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
      record.id,
      sha256Hex(token),
      name,
      role,
      now,
      record.expiresAt,
      record.source,
      owners.length === 0 ? null : JSON.stringify(owners),
    ]);
    return { token, record };
  }

  async findApiToken(token: string, now = Date.now()): Promise<ApiToken | undefined> {
    const rows = await this.db.all(
      `SELECT ${API_TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)`,
      [sha256Hex(token), now],
    );
    return rows[0] === undefined ? undefined : apiTokenOf(rows[0]);
  }

  async revokeApiToken(id: string, now = Date.now()): Promise<void> {
    const n = await this.db.run('UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?', [now, id]);
    if (n === 0) throw new AscendError('ASC_COLLECTOR_NOT_FOUND', `no API token ${id}`);
  }

  async listApiTokens(page: ListPage = {}): Promise<ApiToken[]> {
    const { sql, params } = listSql(page, ['created_at', 'id']);
    const rows = await this.db.all(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens${sql}`, params);
    return rows.map(apiTokenOf);
  }

  async getApiToken(id: string): Promise<ApiToken | undefined> {
    const rows = await this.db.all(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens WHERE id = ?`, [id]);
    return rows[0] === undefined ? undefined : apiTokenOf(rows[0]);
  }

  // --- MFA (TOTP)

  async putMfaSecret(user: string, secret: string, now = Date.now()): Promise<MfaEnrollment> {
    const key = mfaKey(user);
    if (key === '') throw badInput('user must not be empty');
    if (!/^[A-Z2-7]{16,128}$/.test(secret)) throw badInput('the TOTP secret must be base32 (16 to 128 characters)');
    await this.db.tx(async (q) => {
      await q.run(
        `INSERT INTO mfa_enrollments (user_key, ${MFA_COLUMNS}) VALUES (?, ?, ?, ?, NULL, NULL, 0, NULL)
         ON CONFLICT (user_key) DO UPDATE SET user_name = excluded.user_name, secret = excluded.secret, created_at = excluded.created_at,
           confirmed_at = NULL, last_step = NULL, failures = 0, locked_until = NULL, window_start = NULL`,
        [key, user.trim(), secret, now],
      );
      await q.run('DELETE FROM mfa_lockouts WHERE user_key = ?', [key]);
    });
    return { user: user.trim(), secret, createdAt: now, confirmedAt: null, lastStep: null, failures: 0, lockedUntil: null };
  }

  async getMfa(user: string): Promise<MfaEnrollment | undefined> {
    const rows = await this.db.all(`SELECT ${MFA_COLUMNS} FROM mfa_enrollments WHERE user_key = ?`, [mfaKey(user)]);
    return rows[0] === undefined ? undefined : mfaOf(rows[0]);
  }

  async listMfaLocks(user: string, now = Date.now()): Promise<{ computer: string; lockedUntil: number }[]> {
    const rows = await this.db.all('SELECT computer_key, locked_until FROM mfa_lockouts WHERE user_key = ? AND locked_until > ? ORDER BY computer_key', [mfaKey(user), now]);
    return rows.map((r) => ({ computer: str(r.computer_key), lockedUntil: Number(r.locked_until) }));
  }

  async deleteMfa(user: string): Promise<boolean> {
    return this.db.tx(async (q) => {
      await q.run('DELETE FROM mfa_lockouts WHERE user_key = ?', [mfaKey(user)]);
      return (await q.run('DELETE FROM mfa_enrollments WHERE user_key = ?', [mfaKey(user)])) > 0;
    });
  }

  recordMfaAttempt(user: string, step: number | null, opts: MfaAttemptOptions): Promise<MfaCheck> {
    const now = opts.now ?? Date.now();
    const key = mfaKey(user);
    const computer = opts.computer ?? '';
    const backstop = opts.backstopFailures ?? opts.maxFailures * MFA_BACKSTOP_FACTOR;
    const windowMs = opts.backstopWindowMs ?? MFA_BACKSTOP_WINDOW_MS;
    return this.db.tx(async (q): Promise<MfaCheck> => {
      // Read and write in one transaction (the enrollment row locked on PostgreSQL) so that concurrent guesses are all counted.
      const rows = await q.all(`SELECT ${MFA_COLUMNS}, window_start FROM mfa_enrollments WHERE user_key = ?${this.kind === 'postgres' ? ' FOR UPDATE' : ''}`, [key]);
      const row = rows[0];
      if (row === undefined) return { ok: false, reason: 'not-enrolled' };
      const m = mfaOf(row);
      // Domain-wide lock (the backstop) first, then this computer's.
      if (m.lockedUntil !== null && m.lockedUntil > now) return { ok: false, reason: 'locked', lockedUntil: m.lockedUntil };
      const here = (await q.all('SELECT failures, locked_until FROM mfa_lockouts WHERE user_key = ? AND computer_key = ?', [key, computer]))[0];
      const hereLocked = numOrNull(here?.locked_until);
      if (hereLocked !== null && hereLocked > now) return { ok: false, reason: 'locked', lockedUntil: hereLocked };
      if (step !== null && (m.lastStep === null || step > m.lastStep)) {
        // A good code clears this computer's run of failures, not the domain-wide window: a fleet's guesses keep counting.
        await q.run('UPDATE mfa_enrollments SET last_step = ?, confirmed_at = COALESCE(confirmed_at, ?) WHERE user_key = ?', [step, now, key]);
        await q.run('DELETE FROM mfa_lockouts WHERE user_key = ? AND computer_key = ?', [key, computer]);
        return { ok: true };
      }
      const failures = (hereLocked === null ? Number(here?.failures ?? 0) : 0) + 1;
      const lockHere = failures >= opts.maxFailures ? now + opts.lockMs : null;
      await q.run(
        'INSERT INTO mfa_lockouts (user_key, computer_key, failures, locked_until) VALUES (?, ?, ?, ?) ON CONFLICT (user_key, computer_key) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until',
        [key, computer, lockHere === null ? failures : 0, lockHere],
      );
      const windowStart = numOrNull(row.window_start);
      const fresh = windowStart === null || now - windowStart >= windowMs || now < windowStart;
      const domainFailures = (fresh ? 0 : m.failures) + 1;
      const lockAll = domainFailures >= backstop ? now + opts.lockMs : null;
      await q.run('UPDATE mfa_enrollments SET failures = ?, window_start = ?, locked_until = ? WHERE user_key = ?', [
        lockAll === null ? domainFailures : 0,
        lockAll === null ? (fresh ? now : windowStart) : null,
        lockAll,
        key,
      ]);
      const reason = step === null ? 'wrong-code' : 'replayed';
      const lockedUntil = lockAll ?? lockHere;
      // The lockout's webhook deliveries commit with it.
      if (lockedUntil !== null && opts.notify !== undefined) await this.webhookStore().enqueueIn(q, opts.notify(lockedUntil), now);
      return lockedUntil === null ? { ok: false, reason } : { ok: false, reason, lockedUntil };
    });
  }

  // --- reports

  /**
   * TSE Usage Report: one row per process-elevated event, with its session (the
   * passcode-redeemed event of the same agent and session id) and how the session ended
   * (session-expired = by expiry; session-ended otherwise).
   */
  async tseUsageReport(filter: ReportFilter = {}): Promise<TseUsageRow[]> {
    const { where, params } = filterSql(filter, 'e');
    // TSE usage: the elevations made inside a passcode session (by the session itself, or by a rule or approval meanwhile).
    where.unshift("e.type = 'process-elevated'", '(e.passcode_id IS NOT NULL OR e.session_id IS NOT NULL)');
    if (filter.passcodeId !== undefined) (where.push('e.passcode_id = ?'), params.push(filter.passcodeId));
    const limit = pageSql(filter, EVENT_ORDER, where, params);
    const d = this.db.dialect;
    const fields = { passcodeTitle: payloadField(d, 'passcodeTitle'), processPath: payloadField(d, 'processPath'), args: payloadField(d, 'args'), elevatedBy: payloadField(d, 'elevatedBy') };
    const q = budgeted(
      `SELECT e.agent_id, e.event_id, e.occurred_at, e.computer, e.user_name, e.passcode_id, e.session_id,
              ${fields.passcodeTitle} AS f_passcode_title, ${fields.processPath} AS f_process_path, ${fields.args} AS f_args, ${fields.elevatedBy} AS f_elevated_by,
              p.title AS passcode_title,
              (SELECT MIN(s.occurred_at) FROM events s WHERE s.agent_id = e.agent_id AND s.session_id = e.session_id AND s.type = 'passcode-redeemed') AS session_start,
              (SELECT MIN(x.occurred_at) FROM events x WHERE x.agent_id = e.agent_id AND x.session_id = e.session_id AND x.type IN ('session-expired', 'session-ended')) AS session_end,
              (SELECT COUNT(*) FROM events x WHERE x.agent_id = e.agent_id AND x.session_id = e.session_id AND x.type = 'session-expired') AS expired
         FROM events e LEFT JOIN passcodes p ON p.id = e.passcode_id
        WHERE ${where.join(' AND ')}
        ORDER BY e.occurred_at, e.agent_id, e.event_id${limit}`,
      ['computer', 'user_name', 'passcode_title', 'f_passcode_title', 'f_process_path', 'f_args', 'f_elevated_by'],
      filter,
      params,
    );
    const rows = await this.db.all(q.sql, q.params);
    return rows.map((r) => {
      return {
        ...pageBytesOf(r),
        time: Number(r.occurred_at),
        computer: str(r.computer),
        user: strOrNull(r.user_name),
        passcodeId: strOrNull(r.passcode_id),
        passcodeTitle: strOrNull(r.passcode_title) ?? strOrNull(r.f_passcode_title),
        processPath: strOrNull(r.f_process_path),
        args: strOrNull(r.f_args),
        elevatedBy: strOrNull(r.f_elevated_by),
        sessionId: strOrNull(r.session_id),
        sessionStart: numOrNull(r.session_start),
        sessionEnd: numOrNull(r.session_end),
        endedByExpiry: Number(r.expired) > 0,
        agentId: str(r.agent_id),
        eventId: str(r.event_id),
      };
    });
  }

  /**
   * Events of one type, filtered, oldest first, with the payload fields the report shows
   * (`fields`: column alias → payload key; `lists`: the same for list fields, as JSON text).
   */
  private async eventsOfType(type: string, filter: ReportFilter, fields: Record<string, string>, lists: Record<string, string> = {}): Promise<Row[]> {
    const { where, params } = filterSql(filter, 'e');
    where.unshift('e.type = ?');
    params.unshift(type);
    if (filter.passcodeId !== undefined) (where.push('e.passcode_id = ?'), params.push(filter.passcodeId));
    const limit = pageSql(filter, EVENT_ORDER, where, params);
    const d = this.db.dialect;
    const exprs = [...Object.entries(fields).map(([alias, key]) => [alias, payloadField(d, key)] as const), ...Object.entries(lists).map(([alias, key]) => [alias, payloadJson(d, key)] as const)];
    const q = budgeted(
      `SELECT e.agent_id, e.event_id, e.occurred_at, e.computer, e.user_name, e.passcode_id, e.session_id${exprs.map(([alias, x]) => `, ${x} AS ${alias}`).join('')}
         FROM events e WHERE ${where.join(' AND ')} ORDER BY e.occurred_at, e.agent_id, e.event_id${limit}`,
      ['computer', 'user_name', ...exprs.map(([alias]) => alias)],
      filter,
      params,
    );
    return this.db.all(q.sql, q.params);
  }

  async elevationsReport(filter: ReportFilter = {}): Promise<ElevationRow[]> {
    const rows = await this.eventsOfType('process-elevated', filter, { f_process_path: 'processPath', f_args: 'args', f_elevated_by: 'elevatedBy', f_rule: 'rule' }, { f_controls: 'controls' });
    return rows.map((row) => ({
      ...pageBytesOf(row),
      time: Number(row.occurred_at),
      computer: str(row.computer),
      user: strOrNull(row.user_name),
      processPath: strOrNull(row.f_process_path),
      args: strOrNull(row.f_args),
      elevatedBy: strOrNull(row.f_elevated_by),
      rule: strOrNull(row.f_rule),
      controls: listText(row.f_controls),
      passcodeId: strOrNull(row.passcode_id),
      sessionId: strOrNull(row.session_id),
      agentId: str(row.agent_id),
      eventId: str(row.event_id),
    }));
  }

  async deniedReport(filter: ReportFilter = {}): Promise<DeniedRow[]> {
    const rows = await this.eventsOfType('elevation-denied', filter, { f_process_path: 'processPath', f_args: 'args', f_rule: 'rule', f_reason: 'reason' });
    return rows.map((row) => ({
      ...pageBytesOf(row),
      time: Number(row.occurred_at),
      computer: str(row.computer),
      user: strOrNull(row.user_name),
      processPath: strOrNull(row.f_process_path),
      args: strOrNull(row.f_args),
      rule: strOrNull(row.f_rule),
      reason: strOrNull(row.f_reason),
      agentId: str(row.agent_id),
      eventId: str(row.event_id),
    }));
  }

  async discoveryReport(filter: ReportFilter = {}): Promise<DiscoveryRow[]> {
    const rows = await this.eventsOfType(
      'elevation-discovered',
      filter,
      {
        f_run_as: 'data.runAs',
        f_process_path: 'processPath',
        f_args: 'args',
        f_cwd: 'data.cwd',
        f_result: 'result',
        f_rule: 'rule',
        f_publisher: 'data.publisher',
        f_sha256: 'data.sha256',
        f_source: 'data.source',
      },
      { f_controls: 'controls' },
    );
    return rows.map((row) => ({
      ...pageBytesOf(row),
      time: Number(row.occurred_at),
      computer: str(row.computer),
      user: strOrNull(row.user_name),
      runAs: strOrNull(row.f_run_as),
      processPath: strOrNull(row.f_process_path),
      args: strOrNull(row.f_args),
      cwd: strOrNull(row.f_cwd),
      result: strOrNull(row.f_result),
      rule: strOrNull(row.f_rule),
      controls: listText(row.f_controls),
      publisher: strOrNull(row.f_publisher),
      sha256: strOrNull(row.f_sha256),
      source: strOrNull(row.f_source),
      agentId: str(row.agent_id),
      eventId: str(row.event_id),
    }));
  }

  /**
   * The grouped Discovery reports: elevation-discovered events counted per program (the
   * payload's processPath, "" when absent) and, for `user` / `computer`, per user or computer
   * too. Ordered by (program, group), which is unique, and paged by it: `filter.after.a` is
   * the program and `.b` the user or computer ("" for `program`).
   */
  async discoveryGroups(by: DiscoveryGroupBy, filter: ReportFilter = {}): Promise<DiscoveryGroupRow[]> {
    const field = (k: string): string => (this.kind === 'postgres' ? `(e.payload->>'${k}')` : `json_extract(e.payload, '$.${k}')`);
    const program = `COALESCE(${field('processPath')}, '')`;
    const group = by === 'user' ? "COALESCE(e.user_name, '')" : by === 'computer' ? 'e.computer' : "CAST('' AS TEXT)";
    const result = field('result');
    const { where, params } = filterSql(filter, 'e');
    where.unshift("e.type = 'elevation-discovered'");
    const outer: string[] = [];
    if (filter.after !== undefined) (outer.push('(g.program, g.grp) > (?, ?)'), params.push(filter.after.a, filter.after.b));
    let limit = '';
    if (filter.limit !== undefined) (params.push(filter.limit), (limit = ' LIMIT ?'));
    const rows = await this.db.all(
      `SELECT g.* FROM (
         SELECT ${program} AS program, ${group} AS grp, COUNT(*) AS runs, COUNT(DISTINCT e.user_name) AS users, COUNT(DISTINCT e.computer) AS computers,
                MIN(e.occurred_at) AS first_seen, MAX(e.occurred_at) AS last_seen,
                SUM(CASE WHEN ${result} = 'would-allow' THEN 1 ELSE 0 END) AS would_allow,
                SUM(CASE WHEN ${result} = 'would-deny' THEN 1 ELSE 0 END) AS would_deny,
                SUM(CASE WHEN ${result} = 'no-rule' THEN 1 ELSE 0 END) AS no_rule
           FROM events e WHERE ${where.join(' AND ')}
          GROUP BY ${program}${by === 'program' ? '' : `, ${group}`}
       ) g${outer.length > 0 ? ` WHERE ${outer.join(' AND ')}` : ''}
       ORDER BY g.program, g.grp${limit}`,
      params,
    );
    return rows.map((r) => {
      const runs = Number(r.runs);
      const wouldAllow = Number(r.would_allow);
      return {
        processPath: str(r.program),
        ...(by === 'user' ? { user: str(r.grp) } : by === 'computer' ? { computer: str(r.grp) } : {}),
        runs,
        users: Number(r.users),
        computers: Number(r.computers),
        firstSeen: Number(r.first_seen),
        lastSeen: Number(r.last_seen),
        wouldAllow,
        wouldDeny: Number(r.would_deny),
        noRule: Number(r.no_rule),
        coveredPercent: runs === 0 ? 0 : Math.round((wouldAllow * 1000) / runs) / 10,
      };
    });
  }
}

/** A list field read as JSON text (payloadJson), shown as "a, b" (controls: mfa, approval). */
function listText(json: unknown): string | null {
  if (json === null || json === undefined) return null;
  let v: unknown;
  try {
    v = JSON.parse(String(json));
  } catch {
    return null;
  }
  if (Array.isArray(v)) return v.filter((x) => typeof x === 'string').join(', ');
  return typeof v === 'string' ? v : null;
}

/** The running total of a budgeted page (absent when the query had no budget). */
function pageBytesOf(row: Row): { pageBytes?: number } {
  return row.page_bytes === undefined || row.page_bytes === null ? {} : { pageBytes: Number(row.page_bytes) };
}

/**
 * Embedded SQLite in a data folder (collector.db). WAL journal with synchronous=FULL:
 * the WAL is fsynced at every commit, so a commit that returned (an acknowledged batch)
 * survives kill -9 and also a power loss or OS crash (NORMAL would survive kill -9 but
 * could lose the last commits on power loss).
 */
export class SqliteStore extends SqlCollectorStore {
  readonly file: string;
  private queued: { agentId: string; rows: EventRow[]; now: number; done: (n: number) => void; fail: (e: unknown) => void }[] = [];
  private flushScheduled = false;

  /**
   * Group commit: batches that arrive while the event loop is busy share one transaction
   * (each in its own savepoint, so one refused batch does not undo the others), and every
   * caller is answered only after that COMMIT — the acknowledgement stays durable, and the
   * fsync is paid once per group instead of once per request.
   */
  override insertEvents(agentId: string, events: readonly CollectorEventInput[], now = Date.now()): Promise<number> {
    let rows: EventRow[];
    try {
      rows = eventRows(events);
    } catch (e) {
      return Promise.reject(e);
    }
    if (rows.length === 0) return Promise.resolve(0);
    return new Promise<number>((done, fail) => {
      this.queued.push({ agentId, rows, now, done, fail });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => void this.flushEvents());
      }
    });
  }

  private async flushEvents(): Promise<void> {
    this.flushScheduled = false;
    const group = this.queued.splice(0);
    if (group.length === 0) return;
    const results: ({ ok: true; n: number } | { ok: false; e: unknown })[] = [];
    try {
      await this.db.tx(async (q) => {
        for (const item of group) {
          await q.run('SAVEPOINT batch');
          try {
            results.push({ ok: true, n: await this.insertEventRows(q, item.agentId, item.rows, item.now) });
            await q.run('RELEASE batch');
          } catch (e) {
            await q.run('ROLLBACK TO batch');
            await q.run('RELEASE batch');
            results.push({ ok: false, e });
          }
        }
      });
    } catch (e) {
      // The COMMIT itself failed: nothing of the group is stored, and nobody is told otherwise.
      for (const item of group) item.fail(e);
      return;
    }
    group.forEach((item, i) => {
      const r = results[i];
      if (r?.ok) item.done(r.n);
      else item.fail(r === undefined ? new AscendError('ASC_INTERNAL', 'a batch of the group was not stored') : r.e);
    });
  }

  private constructor(driver: SqliteDriver, file: string) {
    super(driver);
    this.file = file;
  }

  static async open(dataDir: string, opts: { migrate?: boolean } = {}): Promise<SqliteStore> {
    let db: Database.Database;
    const file = join(dataDir, 'collector.db');
    try {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      // The database holds TOTP secrets and credential hashes: only the collector's user may read
      // it, whatever the umask or the folder's mode (SQLite gives its -wal and -shm the same mode).
      closeSync(openSync(file, 'a', 0o600));
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
      db = new Database(file);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      // Checkpoint the WAL less often (up to ~40 MB): fewer stalls under a steady stream of events.
      db.pragma('wal_autocheckpoint = 10000');
    } catch (e) {
      throw new AscendError('ASC_COLLECTOR_STORAGE', `cannot open ${file}: ${(e as Error).message}`, { cause: e });
    }
    const store = new SqliteStore(new SqliteDriver(db), file);
    if (opts.migrate !== false) await store.migrate();
    return store;
  }
}

/** PostgreSQL through a pg Pool; several collectors may share one database. */
export class PostgresStore extends SqlCollectorStore {
  private constructor(driver: PostgresDriver) {
    super(driver);
  }

  static async open(connectionString: string, opts: { migrate?: boolean; poolSize?: number } = {}): Promise<PostgresStore> {
    const driver = new PostgresDriver(connectionString, opts.poolSize === undefined ? {} : { max: opts.poolSize });
    const store = new PostgresStore(driver);
    if (opts.migrate !== false) {
      try {
        await store.migrate();
      } catch (e) {
        await driver.close();
        throw e;
      }
    }
    return store;
  }
}
