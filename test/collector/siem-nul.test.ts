/**
 * A NUL in an event (a local user can type one into a justification) must not make a batch
 * unstorable on PostgreSQL (the agent would retry it forever, its audit trail stuck behind it)
 * nor reach the SIEM feed raw: it is stored as U+FFFD on both databases alike.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { withoutNul } from '../../src/collector/storage/store.js';
import { type CollectorEventInput, type CollectorStore, PostgresStore, SqliteStore } from '../../src/collector/storage/index.js';
import { getTestPostgres } from '../support/postgres.js';

function nulSuite(name: string, open: (ctx: Mocha.Context) => Promise<{ store: CollectorStore; dispose: () => void }>): void {
  describe(`events with NUL characters: ${name}`, function () {
    this.timeout(60_000);
    let store: CollectorStore;
    let dispose = () => undefined as void;

    before(async function () {
      ({ store, dispose } = await open(this));
      store.enableSiemQueue();
    });
    after(async () => {
      await store?.close();
      dispose();
    });

    it('stores the batch, every NUL as U+FFFD, and forwards it so', async () => {
      const { token } = await store.createEnrollmentToken({});
      const agentId = (await store.enrollAgent(token, 'WS-NUL')).agent.id;
      const events = [
        { id: 'n\u00001', type: 'justification', time: Date.now(), user: 'eve\u0000', justification: 'a\u0000b', data: { 'k\u0000': 'v\u0000', literal: '\\u0000 stays' } },
        { id: 'ok', type: 'justification', time: Date.now(), user: 'bob' },
      ] as CollectorEventInput[];
      expect(await store.insertEvents(agentId, events)).to.equal(2);
      expect(await store.insertEvents(agentId, events), 'the same batch again is the same events').to.equal(0);
      const [stored] = (await store.listEvents(agentId)).filter((e) => e.id !== 'ok');
      expect(stored?.id).to.equal('n\ufffd1');
      expect(stored?.user).to.equal('eve\ufffd');
      expect(stored?.payload.justification).to.equal('a\ufffdb');
      expect(stored?.payload.data).to.deep.equal({ 'k\ufffd': 'v\ufffd', literal: '\\u0000 stays' });
      const queued = await store.siemBatch(10);
      expect(queued.map((e) => e.id).sort()).to.deep.equal(['n\ufffd1', 'ok']);
    });
  });
}

describe('withoutNul', () => {
  it('rewrites NUL escapes, not an escaped backslash followed by u0000', () => {
    expect(withoutNul(JSON.stringify({ a: '\u0000', b: '\\u0000', c: '\\\u0000', d: '\\\\u0000' }))).to.equal(JSON.stringify({ a: '\ufffd', b: '\\u0000', c: '\\\ufffd', d: '\\\\u0000' }).replace(/\ufffd/g, '\\ufffd'));
  });
});

nulSuite('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'h18b-nul-'));
  return { store: await SqliteStore.open(dir), dispose: () => rmSync(dir, { recursive: true, force: true }) };
});

nulSuite('PostgreSQL', async (ctx) => {
  const url = await (await getTestPostgres(ctx)).createDatabase('h18b_nul');
  return { store: await PostgresStore.open(url), dispose: () => undefined };
});
