/**
 * ascend-collector.service takes the PostgreSQL URL from ASCEND_DATABASE_URL (its
 * EnvironmentFile /etc/ascend/collector.env), so a password is on no command line: the built
 * `ascend server start` reads it and opens PostgreSQL instead of SQLite.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('ascend server start: ASCEND_DATABASE_URL', function () {
  this.timeout(120_000);
  let tmp = '';
  before(() => {
    expect(existsSync(path.join(REPO, 'dist/src/index.js')), 'npm run build first').to.equal(true);
    tmp = mkdtempSync(path.join(tmpdir(), 'ascend-dburl-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('opens the PostgreSQL the variable names (here one that refuses), not SQLite, and does not echo the password', function () {
    const data = path.join(tmp, 'data');
    const r = spawnSync(process.execPath, [path.join(REPO, 'bin/run.js'), 'server', 'start', '--port', '0', '--insecure-http', '--data', data], {
      encoding: 'utf8',
      timeout: 90_000,
      env: { ...process.env, ASCEND_DATABASE_URL: 'postgres://ascend:s3cret-pw@127.0.0.1:1/ascend' },
    });
    expect(r.signal, 'it would have served on SQLite').to.equal(null);
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.match(/127\.0\.0\.1:1|ECONNREFUSED|PostgreSQL/i);
    expect(r.stderr + r.stdout).to.not.include('s3cret-pw');
    expect(existsSync(path.join(data, 'collector.db')), 'no SQLite database').to.equal(false);
  });
});
