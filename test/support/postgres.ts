/**
 * One real PostgreSQL (Debian's server binaries, DESIGN section 10) for the whole mocha run.
 *
 * getTestPostgres() creates a cluster in a fresh temp folder on first use (initdb as the
 * `postgres` user when we run as root: the server refuses to run as root), starts it with
 * pg_ctl on a free loopback port (socket in the same folder), and returns how to reach it.
 * mochaGlobalTeardown (this file is in .mocharc.cjs's `require`) stops it and removes the
 * folder; an exit hook does the same if the run dies first. ASCEND_TEST_PG_KEEP=1 keeps it.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { requireComponent } from './components.js';

export interface TestPostgres {
  host: string;
  port: number;
  user: string;
  dir: string;
  /** postgres://postgres@127.0.0.1:PORT/DB */
  connectionString(database?: string): string;
  /** Creates a fresh empty database and returns its connection string. */
  createDatabase(prefix?: string): Promise<string>;
}

const START_TIMEOUT_MS = 120_000;

/** The newest Debian PostgreSQL server binaries, or undefined. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin/initdb')) && existsSync(join(root, v, 'bin/pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

export function postgresAvailable(): boolean {
  if (postgresBinDir() === undefined) return false;
  if (process.getuid?.() === 0) return spawnSync('id', ['-u', 'postgres'], { stdio: 'ignore' }).status === 0;
  return true;
}

interface State {
  promise?: Promise<TestPostgres>;
  owned?: { dir: string; pgCtl: string };
  exitHook?: boolean;
  dbCounter?: number;
}

const STATE_KEY = Symbol.for('ascend.test.postgres');
function state(): State {
  const g = globalThis as { [STATE_KEY]?: State };
  return (g[STATE_KEY] ??= {});
}

function asServerUser(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  const [c, a] = asServerUser(cmd, args);
  return new Promise((resolve, reject) => {
    execFile(c, a, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} failed: ${(stderr || err.message).trim().split('\n').slice(-3).join(' | ')}`));
      else resolve(stdout);
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function start(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (bin === undefined) throw new Error('PostgreSQL server binaries are missing (/usr/lib/postgresql/*/bin)');
  const dir = mkdtempSync(join(tmpdir(), 'ascend-pg-'));
  const s = state();
  if (process.getuid?.() === 0) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(dir, uid, gid);
  }
  const pgCtl = join(bin, 'pg_ctl');
  s.owned = { dir, pgCtl };
  if (!s.exitHook) {
    process.once('exit', () => stopOwnSync());
    s.exitHook = true;
  }
  const data = join(dir, 'data');
  await run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'], START_TIMEOUT_MS);
  const port = await freePort();
  await run(
    pgCtl,
    ['-D', data, '-l', join(dir, 'server.log'), '-o', `-k ${dir} -p ${port} -c listen_addresses=127.0.0.1`, '-w', '-t', '60', 'start'],
    START_TIMEOUT_MS,
  );
  const host = '127.0.0.1';
  const user = 'postgres';
  const connectionString = (database = 'postgres'): string => `postgres://${user}@${host}:${port}/${database}`;
  return {
    host,
    port,
    user,
    dir,
    connectionString,
    async createDatabase(prefix = 'ascend_test') {
      const n = (s.dbCounter = (s.dbCounter ?? 0) + 1);
      const name = `${prefix}_${process.pid}_${n}`.replace(/[^a-z0-9_]/gi, '_').toLowerCase();
      const client = new pg.Client({ connectionString: connectionString() });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return connectionString(name);
    },
  };
}

/**
 * The run's PostgreSQL, started on first use. Call from a `before` hook: under CI=true a
 * missing PostgreSQL fails the suite, elsewhere it is skipped.
 */
export async function getTestPostgres(ctx: Mocha.Context): Promise<TestPostgres> {
  requireComponent(ctx, postgresAvailable(), 'PostgreSQL server (Debian postgresql)', 'scripts/install-system-deps.sh');
  const s = state();
  s.promise ??= start();
  return s.promise;
}

function stopOwnSync(): void {
  const s = state();
  const owned = s.owned;
  if (owned === undefined) return;
  s.owned = undefined;
  const [c, a] = asServerUser(owned.pgCtl, ['-D', join(owned.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
  spawnSync(c, a, { stdio: 'ignore', timeout: 30_000 });
  if (process.env.ASCEND_TEST_PG_KEEP !== '1') rmSync(owned.dir, { recursive: true, force: true });
}

export async function stopTestPostgres(): Promise<void> {
  const s = state();
  const owned = s.owned;
  if (owned === undefined) return;
  await s.promise?.catch(() => undefined);
  if (existsSync(join(owned.dir, 'data/postmaster.pid'))) {
    await run(owned.pgCtl, ['-D', join(owned.dir, 'data'), '-m', 'fast', '-w', 'stop'], 60_000).catch((e: Error) => {
      console.warn(`    could not stop the test PostgreSQL: ${e.message}`);
    });
  }
  // Cleared only now: if the run dies while stopping, the exit hook still stops and removes it.
  s.owned = undefined;
  s.promise = undefined;
  if (process.env.ASCEND_TEST_PG_KEEP !== '1') rmSync(owned.dir, { recursive: true, force: true });
  else console.warn(`    test PostgreSQL kept in ${owned.dir}`);
}

export async function mochaGlobalTeardown(): Promise<void> {
  await stopTestPostgres();
}
