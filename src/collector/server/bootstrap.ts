/**
 * The bootstrap admin token: on the first start with no API token in the store, one admin
 * token is made and written to DATA/bootstrap-admin-token with mode 0600. It is never
 * logged; only the path is.
 */
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { CollectorStore } from '../storage/index.js';

export const BOOTSTRAP_TOKEN_FILE = 'bootstrap-admin-token';

export interface BootstrapResult {
  file: string;
  /** true when the token was made now; false when the store had API tokens already. */
  created: boolean;
  /** Whether the file is there (it may have been deleted after first use). */
  exists: boolean;
}

export async function ensureBootstrapToken(store: CollectorStore, dataDir: string): Promise<BootstrapResult> {
  const file = join(dataDir, BOOTSTRAP_TOKEN_FILE);
  if ((await store.listApiTokens({ limit: 1 })).length > 0) return { file, created: false, exists: existsSync(file) };
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const { token } = await store.createApiToken('admin', 'bootstrap');
  const fd = openSync(file, 'w', 0o600);
  try {
    chmodSync(file, 0o600); // an existing file keeps its mode on open: set it
    writeSync(fd, `${token}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return { file, created: true, exists: true };
}
