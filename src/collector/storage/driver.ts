/**
 * A thin SQL layer the two adapters share: statements are written once with `?`
 * placeholders (turned into $1, $2 ... for PostgreSQL), and `tx` runs a function inside
 * one transaction. Values are strings, numbers or null; BIGINT columns come back as numbers.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { SerialQueue } from '../../serial-queue.js';

export type SqlValue = string | number | null;
export type Row = Record<string, unknown>;

export interface Sql {
  all(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /** Runs a statement; resolves with the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

export interface Driver extends Sql {
  readonly dialect: 'sqlite' | 'postgres';
  /** Runs fn in one transaction (BEGIN IMMEDIATE on SQLite); commits when it resolves, rolls back when it throws. */
  tx<T>(fn: (q: Sql) => Promise<T>, opts?: { lockKey?: number }): Promise<T>;
  exec(script: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * better-sqlite3 is synchronous, on one connection. Every call goes through a mutex so a
 * transaction's awaits can not interleave with another caller's statements.
 */
export class SqliteDriver implements Driver {
  readonly dialect = 'sqlite' as const;
  private readonly mutex = new SerialQueue();
  private closed = false;

  constructor(readonly db: Database.Database) {}

  /** Prepared statements by SQL text; ours are a small fixed set (plus a few batch sizes). */
  private readonly statements = new Map<string, Database.Statement>();

  private prepare(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (st === undefined) {
      st = this.db.prepare(sql);
      if (this.statements.size >= 200) this.statements.clear();
      this.statements.set(sql, st);
    }
    return st;
  }

  private direct: Sql = {
    all: async (sql, params = []) => {
      const st = this.prepare(sql);
      return (st.reader ? st.all(...params) : (st.run(...params), [])) as Row[];
    },
    run: async (sql, params = []) => this.prepare(sql).run(...params).changes,
  };

  all(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    return this.mutex.run(() => this.direct.all(sql, params));
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.mutex.run(() => this.direct.run(sql, params));
  }

  tx<T>(fn: (q: Sql) => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const out = await fn(this.direct);
        // With synchronous=FULL the WAL is fsynced before COMMIT returns.
        this.db.exec('COMMIT');
        return out;
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e;
      }
    });
  }

  exec(script: string): Promise<void> {
    return this.mutex.run(async () => {
      this.db.exec(script);
    });
  }

  close(): Promise<void> {
    return this.mutex.run(async () => {
      if (this.closed) return;
      this.closed = true;
      this.db.close();
    });
  }
}

/** `?` → `$n`. The statements are ours and hold no `?` inside literals. */
export function toPgPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

const INT8_OID = 20;
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

export class PostgresDriver implements Driver {
  readonly dialect = 'postgres' as const;
  readonly pool: pg.Pool;

  constructor(connectionString: string, opts: { max?: number } = {}) {
    this.pool = new pg.Pool({ connectionString, max: opts.max ?? 10, types: types as pg.CustomTypesConfig });
    // An idle connection the server drops (restart, failover) must not crash the process;
    // the pool replaces it and the next query reports any lasting failure.
    this.pool.on('error', () => undefined);
  }

  private static on(client: pg.Pool | pg.PoolClient): Sql {
    return {
      all: async (sql, params = []) => (await client.query(toPgPlaceholders(sql), params as SqlValue[])).rows as Row[],
      run: async (sql, params = []) => (await client.query(toPgPlaceholders(sql), params as SqlValue[])).rowCount ?? 0,
    };
  }

  all(sql: string, params?: readonly SqlValue[]): Promise<Row[]> {
    return PostgresDriver.on(this.pool).all(sql, params);
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return PostgresDriver.on(this.pool).run(sql, params);
  }

  async tx<T>(fn: (q: Sql) => Promise<T>, opts: { lockKey?: number } = {}): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // Several collectors may migrate at once: a transaction-scoped advisory lock serializes them.
      if (opts.lockKey !== undefined) await client.query('SELECT pg_advisory_xact_lock($1)', [opts.lockKey]);
      const out = await fn(PostgresDriver.on(client));
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  async exec(script: string): Promise<void> {
    await this.pool.query(script);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
