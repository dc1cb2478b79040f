/**
 * H18f (review L1): the SIEM feed's switch is in the database. Once a collector started with
 * --syslog turns it on, every collector sharing the database queues the events it receives
 * (started with --syslog or not), so none is left out of the feed; turned off, they stop.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { type CollectorStore, PostgresStore, SqliteStore } from '../../src/collector/storage/index.js';
import { getTestPostgres } from '../support/postgres.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const backends: { name: string; open(ctx: Mocha.Context): Promise<() => Promise<CollectorStore>> }[] = [
  {
    name: 'SQLite (two stores on one file)',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'ascend-h18f-'));
      dirs.push(dir);
      return () => SqliteStore.open(join(dir, 'data'));
    },
  },
  {
    name: 'PostgreSQL (two collectors on one database)',
    async open(ctx) {
      const url = await (await getTestPostgres(ctx)).createDatabase('h18f_switch');
      return () => PostgresStore.open(url);
    },
  },
];

const batch = (prefix: string) => [1, 2, 3].map((i) => ({ id: `${prefix}-${i}`, type: 'mfa', time: Date.now(), user: 'bob' }));

for (const backend of backends) {
  describe(`h18f SIEM feed switch in the database: ${backend.name}`, function () {
    this.timeout(60_000);
    let forwarding: CollectorStore;
    let plain: CollectorStore;
    let agentId: string;

    before(async function () {
      const open = await backend.open(this);
      forwarding = await open();
      plain = await open();
      const { token } = await forwarding.createEnrollmentToken({ uses: 1 });
      agentId = (await forwarding.enrollAgent(token, 'h18f-pc1')).agent.id;
    });

    after(async () => {
      await plain?.close();
      await forwarding?.close();
    });

    it('is off at first: nothing is queued', async () => {
      expect(await plain.siemEnabledAt()).to.equal(null);
      await plain.insertEvents(agentId, batch('off'));
      expect(await forwarding.siemQueued()).to.equal(0);
    });

    it('once one collector turns the feed on, a collector started without --syslog queues what it receives', async () => {
      await forwarding.enableSiemQueue();
      expect(await plain.insertEvents(agentId, batch('on'))).to.equal(3);
      expect(await forwarding.siemQueued(), 'events received by the other collector, queued for the feed').to.equal(3);
      expect(await plain.siemEnabledAt()).to.be.a('number');
      expect((await forwarding.siemBatch(10)).map((e) => e.id).sort()).to.deep.equal(['on-1', 'on-2', 'on-3']);
    });

    it('turned off, the others stop queueing; what is queued stays', async () => {
      await forwarding.disableSiemQueue();
      await plain.insertEvents(agentId, batch('after'));
      expect(await forwarding.siemQueued()).to.equal(3);
    });
  });
}
