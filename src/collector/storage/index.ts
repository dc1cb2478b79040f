export * from './types.js';
export { MIGRATIONS, type Migration } from './migrations.js';
export { PostgresStore, SqlCollectorStore, SqliteStore, sha256Hex } from './store.js';
