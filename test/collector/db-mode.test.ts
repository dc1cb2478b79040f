/**
 * The SQLite database holds TOTP secrets and credential hashes: only the collector's user may
 * read it, also when the data folder was made by someone else with a wider mode and the umask
 * is the usual 022 (found in review for issue 13).
 */
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { SqliteStore } from '../../src/collector/storage/index.js';

describe('collector storage: the SQLite files are 0600', () => {
  let dir: string;
  let umask: number;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ascend-dbmode-'));
    chmodSync(dir, 0o755);
    umask = process.umask(0o022);
  });
  afterEach(() => {
    process.umask(umask);
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates collector.db (and its -wal and -shm) readable by its owner only, in a folder others may read', async () => {
    const store = await SqliteStore.open(dir);
    try {
      await store.putMfaSecret('dbmode-alice', 'JBSWY3DPEHPK3PXP');
      for (const f of ['collector.db', 'collector.db-wal', 'collector.db-shm']) {
        const p = join(dir, f);
        if (f === 'collector.db' || existsSync(p)) expect((statSync(p).mode & 0o777).toString(8), f).to.equal('600');
      }
    } finally {
      await store.close();
    }
  });

  it('narrows an existing database that others could read', async () => {
    writeFileSync(join(dir, 'collector.db'), '');
    chmodSync(join(dir, 'collector.db'), 0o644);
    const store = await SqliteStore.open(dir);
    await store.close();
    expect((statSync(join(dir, 'collector.db')).mode & 0o777).toString(8)).to.equal('600');
  });
});
