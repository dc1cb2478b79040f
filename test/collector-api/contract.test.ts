/**
 * The one contract between agent, collector and CLI (issue 15, src/collector-api): the event
 * types the collector takes are the agent's union, the report labels the CLI prints are the
 * ones the web page shows, and every event the agent makes (fitted to the published limits)
 * is one the collector stores. The collector is the real one (fastify inject, SQLite in a temp
 * folder); the events are made by the agent's own audit trail and spool.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Static } from '@sinclair/typebox';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { EVENT_TYPES, type Event, EventSchema, type EventType, isEventType } from '../../src/collector-api/events.js';
import { EVENT_LIST_LIMITS, EVENT_STRING_LIMITS } from '../../src/collector-api/limits.js';
import { COLUMN_LABELS, columnLabel, REPORT_COLUMNS, REPORT_NAMES, REPORT_TITLES } from '../../src/collector-api/reports.js';
import * as collectorSchemas from '../../src/collector/server/schemas.js';
import { buildServer, REPORT_COLUMNS as SERVER_REPORT_COLUMNS } from '../../src/collector/server/index.js';
import { REPORT_PAGE_HTML } from '../../src/collector/server/web/report-page.js';
import { SqliteStore } from '../../src/collector/storage/index.js';
import ReportCommand, { COLUMN_LABELS as CLI_COLUMN_LABELS } from '../../src/cli/commands/report.js';
import { AuditTrail } from '../../agent/daemon/audit.js';
import { eventClass } from '../../agent/daemon/settings.js';
import { fitEvent } from '../../agent/spool/fit.js';
import { Spool, type SpoolEvent } from '../../agent/spool/spool.js';

// Type-level: the schema is the type (a field or type added to one is in the other).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaIsTheType: Same<Static<typeof EventSchema>['type'], EventType> = true;
const eventIsTheSchema: Same<Event, Static<typeof collectorSchemas.EventSchema>> = true;
// @ts-expect-error a misspelled event type is a compile error
const misspelled: EventType = 'elevation-denyed';

const tempDirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'h7-contract-'));
  tempDirs.push(d);
  return d;
}
after(() => {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The collector, in process, with one enrolled agent. */
async function collector(): Promise<{ app: FastifyInstance; post: (events: unknown[]) => Promise<{ statusCode: number; body: string }> }> {
  const store = await SqliteStore.open(tempDir());
  const app = buildServer({ store, logger: false });
  await app.ready();
  const { token } = await store.createEnrollmentToken({ uses: 1 });
  const enrolled = await app.inject({ method: 'POST', url: '/api/v1/enroll', payload: { enrollmentToken: token, computer: 'H7-PC' } });
  expect(enrolled.statusCode, enrolled.body).to.equal(201);
  const { credential } = enrolled.json() as { credential: string };
  const post = (events: unknown[]) => app.inject({ method: 'POST', url: '/api/v1/events', payload: { events }, headers: { authorization: `Bearer ${credential}` } });
  return { app, post };
}

describe('collector-api: one contract between agent, collector and CLI', () => {
  it('declares the types once: the schema is the type', () => {
    expect([schemaIsTheType, eventIsTheSchema]).to.deep.equal([true, true]);
    expect(misspelled).to.be.a('string');
    // The collector validates with the contract's schema object itself, not a copy.
    expect(collectorSchemas.EventSchema).to.equal(EventSchema);
    expect(collectorSchemas.EVENT_TYPES).to.equal(EVENT_TYPES);
    expect(collectorSchemas.REPORT_NAMES).to.equal(REPORT_NAMES);
    const items = collectorSchemas.EventsBody.properties.events.items;
    expect(items).to.equal(EventSchema);
    expect((EventSchema.properties.type as unknown as { enum: string[] }).enum).to.deep.equal([...EVENT_TYPES]);
  });

  describe('against the real collector', () => {
    let app: FastifyInstance;
    let post: (events: unknown[]) => Promise<{ statusCode: number; body: string }>;
    beforeEach(async () => {
      ({ app, post } = await collector());
    });
    afterEach(async () => {
      await app.close();
    });

    it('takes every event type of the union, and no other', async () => {
      for (const type of EVENT_TYPES) {
        const r = await post([{ id: `h7-${type}`, type, time: '2026-03-02T09:00:00Z' }]);
        expect(r.statusCode, `${type}: ${r.body}`).to.equal(200);
        expect(isEventType(type)).to.equal(true);
      }
      for (const type of ['no-such-type', 'Process-Elevated', 'process-elevated ', '']) {
        const r = await post([{ id: 'h7-other', type, time: '2026-03-02T09:00:00Z' }]);
        expect(r.statusCode, `${JSON.stringify(type)}: ${r.body}`).to.equal(400);
        expect(isEventType(type)).to.equal(false);
      }
    });

    it('stores an event the agent fitted, of each type, however long its fields were', async () => {
      const long = (n: number) => `${'a'.repeat(n - 3)}\u{1F600}\u0000\ud800${'b'.repeat(n)}`;
      for (const type of EVENT_TYPES) {
        const raw: Record<string, unknown> = { id: `h7-fit-${type}`, type, time: Date.parse('2026-03-02T09:00:00Z') };
        for (const [field, limit] of Object.entries(EVENT_STRING_LIMITS)) raw[field] = long(limit);
        raw.controls = ['approval', 'justify', 'mfa', 'mfa', 'approval'].slice(0, EVENT_LIST_LIMITS.controls + 2);
        raw.processIds = Array.from({ length: EVENT_LIST_LIMITS.processIds + 5 }, (_, i) => i);
        raw.elevatedBy = 'rule';
        raw.pid = 42;
        raw.data = { note: long(5000), deep: { list: [long(6000)] }, ['k\u0000']: 1 };
        const fitted = fitEvent(raw);
        const r = await post([fitted]);
        expect(r.statusCode, `${type}: ${r.body.slice(0, 300)}`).to.equal(200);
        expect(JSON.parse(r.body)).to.deep.equal({ accepted: 1, stored: 1 });
      }
    });

    it("stores every event the agent's audit trail spools, with the fields the agent gives them", async () => {
      const spool = await Spool.open(tempDir());
      const audit = new AuditTrail({ spool, computer: 'H7-PC', now: () => Date.parse('2026-03-02T09:00:00Z'), collects: () => true });
      const base = { user: 'h7user', processPath: '/usr/bin/id', args: '-u' };
      const session = { user: 'h7user', passcodeId: 'pc-1', passcodeTitle: 'Support', sessionId: 's-1' };
      const made: Record<EventType, () => Promise<void>> = {
        'passcode-redeemed': () => audit.emit('passcode-redeemed', { ...session, result: 'uses left 2' }),
        'passcode-refused': () => audit.emit('passcode-refused', { user: 'h7user', reason: 'revoked', message: 'no' }),
        'process-elevated': () => audit.emit('process-elevated', { ...base, elevatedBy: 'rule', rule: 'Tools', controls: ['justify'], pid: 7, data: { account: 'h7x', groups: ['S-1-5-32-544'], integrity: 'high' } }),
        'elevation-denied': () => audit.emit('elevation-denied', { ...base, reason: 'deny-rule', rule: 'No', message: 'denied' }),
        'elevation-discovered': async () => {
          await audit.emitWithId('elevation-discovered', { ...base, result: 'would-allow', rule: 'Tools', controls: ['justify'], data: { cwd: '/tmp', runAs: 'root', sha256: 'a'.repeat(64), source: 'journal', tty: 'pts/0' } }, 'h7-discovered-1', '2026-03-02T08:59:00.000Z');
        },
        'session-expired': () => audit.emit('session-expired', session),
        'session-ended': () => audit.emit('session-ended', { ...session, reason: 'passcode revoked' }),
        'processes-ended': () => audit.emit('processes-ended', { ...session, processIds: [1, 2], reason: 'session-expired' }),
        'approval-requested': () => audit.emit('approval-requested', { ...base, requestId: 'r-1', justification: 'why' }),
        justification: () => audit.emit('justification', { ...base, justification: 'because', requestId: 'r-1' }),
        mfa: () => audit.emit('mfa', { ...base, result: 'verified' }),
        'policy-applied': () => audit.emit('policy-applied', { policy: '0123456789abcdef', message: 'local: no GPO; 0 rules' }),
        'agent-error': () => audit.emit('agent-error', { message: 'x', data: { n: 1 } }),
      };
      for (const type of EVENT_TYPES) await made[type]();
      audit.close();
      const { events } = await spool.read(100);
      await spool.close();
      expect(events.map((e: SpoolEvent) => e.type)).to.deep.equal([...EVENT_TYPES]);
      const r = await post(events);
      expect(r.statusCode, r.body.slice(0, 300)).to.equal(200);
      expect(JSON.parse(r.body)).to.deep.equal({ accepted: EVENT_TYPES.length, stored: EVENT_TYPES.length });
    });
  });

  it('gives every event type a collection class on the agent', () => {
    for (const type of EVENT_TYPES) expect(['elevations', 'denials', 'passcodes', 'approvals', 'policy'], type).to.include(eventClass(type));
  });

  describe('reports: one list of names, columns and labels', () => {
    it('the server shapes the columns the contract lists', () => {
      expect(SERVER_REPORT_COLUMNS).to.equal(REPORT_COLUMNS);
      expect(Object.keys(REPORT_COLUMNS)).to.deep.equal([...REPORT_NAMES]);
    });

    it('the CLI prints the labels the web page shows, from the same source', () => {
      expect(CLI_COLUMN_LABELS).to.equal(COLUMN_LABELS);
      const m = /const LABELS = (\{[^\n]*\});/.exec(REPORT_PAGE_HTML);
      expect(m, 'the page has its labels').to.not.equal(null);
      expect(JSON.parse((m as RegExpExecArray)[1] as string)).to.deep.equal(COLUMN_LABELS);
      // Every column of every report has a label of its own.
      for (const name of REPORT_NAMES) for (const c of REPORT_COLUMNS[name]) expect(columnLabel(c), `${name}.${c}`).to.not.equal(c);
    });

    it('the CLI, the page and the server offer the same report names', () => {
      expect(ReportCommand.args.name?.options).to.deep.equal([...REPORT_NAMES]);
      for (const name of REPORT_NAMES) expect(REPORT_PAGE_HTML).to.include(`<option value="${name}">${REPORT_TITLES[name]}</option>`);
      const offered = [...REPORT_PAGE_HTML.matchAll(/<option value="([^"]+)">/g)].map((x) => x[1]);
      expect(offered).to.deep.equal([...REPORT_NAMES]);
    });
  });
});
