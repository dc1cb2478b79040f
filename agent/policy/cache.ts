/**
 * The last policy read, kept in the state folder so the agent starts offline (the domain
 * unreachable, a laptop on a train) with what it last enforced. One JSON file,
 * `policy-cache.json`, mode 600, replaced atomically (temporary file, fsync, rename).
 * A cache that cannot be read back whole (truncated, edited, a digest that no longer
 * matches its entries) counts as no cache, with the reason given.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { replaceFileAtomically } from '../../src/atomic-file.js';
import { AscendError } from '../../src/errors.js';
import type { PolSource } from '../../src/policy/index.js';
import { digestSources, type PolicyOrigin, type PolicySnapshot } from './snapshot.js';

export const POLICY_CACHE_FILE = 'policy-cache.json';
export const POLICY_ATTEMPT_FILE = 'policy-read-attempt.json';
const FORMAT = 'ascend-policy-cache';
const VERSION = 1;
/** A policy is a few KiB; refuse to parse anything absurd. */
const MAX_CACHE_BYTES = 64 * 1024 * 1024;

interface CacheFile {
  format: typeof FORMAT;
  version: typeof VERSION;
  savedAt: number;
  snapshot: {
    origin: PolicyOrigin;
    sources: { source: string; entries: { key: string; valueName: string; type: number; data: string }[] }[];
    labels: Record<string, string>;
    fetchedAt: number;
    computer?: { name: string; dn: string; sid: string; groupSids: string[] };
    problems: string[];
    digest: string;
  };
}

/** The last read of the source, as an agent on demand records it beside the cache. */
export interface PolicyReadAttempt {
  attemptedAt: number;
  /** The digest the read gave and the cache now holds; null when the read failed or its snapshot could not be cached. */
  cachedDigest: string | null;
  /** Why it failed. */
  error?: string;
}

export interface PolicyCacheRead {
  snapshot: PolicySnapshot | undefined;
  /** Why a cache file that exists was not used. */
  problem?: string;
}

export class PolicyCache {
  readonly file: string;
  /** The reason the last load() found no usable cache in a file that exists. */
  lastProblem: string | undefined;

  constructor(stateDir: string, private readonly now: () => number = Date.now) {
    this.file = path.join(stateDir, POLICY_CACHE_FILE);
  }

  /** Writes the snapshot atomically, mode 600 (an older file with a looser mode is tightened first). */
  async save(snapshot: PolicySnapshot): Promise<void> {
    const body: CacheFile = {
      format: FORMAT,
      version: VERSION,
      savedAt: this.now(),
      snapshot: {
        origin: snapshot.origin,
        sources: snapshot.sources.map((s) => ({
          source: s.source,
          entries: s.entries.map((e) => ({ key: e.key, valueName: e.valueName, type: e.type, data: Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength).toString('base64') })),
        })),
        labels: snapshot.labels,
        fetchedAt: snapshot.fetchedAt,
        ...(snapshot.computer ? { computer: snapshot.computer } : {}),
        problems: snapshot.problems,
        digest: snapshot.digest,
      },
    };
    try {
      // replaceFileAtomically keeps an existing file's mode: make sure that mode is 600.
      const st = await fs.stat(this.file).catch(() => undefined);
      if (st && (st.mode & 0o077) !== 0) await fs.chmod(this.file, 0o600);
      await replaceFileAtomically(this.file, Buffer.from(`${JSON.stringify(body)}\n`, 'utf8'), 0o600);
    } catch (e) {
      throw new AscendError('ASC_FILE_UNREADABLE', `cannot write the policy cache ${this.file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { cause: e });
    }
  }

  /** The cached snapshot, or undefined when there is none or it is damaged (the reason in lastProblem). */
  async load(): Promise<PolicySnapshot | undefined> {
    const r = await this.read();
    return r.snapshot;
  }

  /** As load(), with the reason a cache file that exists was not used. Never throws. */
  async read(): Promise<PolicyCacheRead> {
    this.lastProblem = undefined;
    let text: string;
    try {
      const st = await fs.stat(this.file);
      if (!st.isFile()) return this.damaged('it is not a regular file');
      if (st.size > MAX_CACHE_BYTES) return this.damaged(`it is ${st.size} bytes, more than a policy cache holds`);
      text = await fs.readFile(this.file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { snapshot: undefined };
      return this.damaged(`it cannot be read (${code ?? String(e)})`);
    }
    try {
      return { snapshot: parseCache(text) };
    } catch (e) {
      return this.damaged(e instanceof Error ? e.message : String(e));
    }
  }

  private damaged(why: string): PolicyCacheRead {
    this.lastProblem = `the policy cache ${this.file} was ignored: ${why}`;
    return { snapshot: undefined, problem: this.lastProblem };
  }

  /** Where the time of the last read of the source (successful or not) is kept, for an agent that runs on demand. */
  get attemptFile(): string {
    return path.join(path.dirname(this.file), POLICY_ATTEMPT_FILE);
  }

  /** Records the last read of the source (mode 600): when, and the digest it gave and cached, or the error. */
  async saveAttempt(attempt: PolicyReadAttempt): Promise<void> {
    await replaceFileAtomically(this.attemptFile, Buffer.from(`${JSON.stringify(attempt)}\n`), 0o600);
  }

  /** The last read of the source recorded, or undefined (none, or unreadable). */
  async readAttempt(): Promise<PolicyReadAttempt | undefined> {
    try {
      const text = await fs.readFile(this.attemptFile, 'utf8');
      if (text.length > 4096) return undefined;
      const v = JSON.parse(text) as Partial<PolicyReadAttempt>;
      if (typeof v.attemptedAt !== 'number' || !Number.isSafeInteger(v.attemptedAt) || v.attemptedAt <= 0) return undefined;
      if (v.cachedDigest !== null && typeof v.cachedDigest !== 'string') return undefined;
      return { attemptedAt: v.attemptedAt, cachedDigest: v.cachedDigest, ...(typeof v.error === 'string' ? { error: v.error.slice(0, 1000) } : {}) };
    } catch {
      return undefined;
    }
  }
}

/** Why a cache file is not used (caught by read(), which ignores the file and says why). */
function damaged(why: string): AscendError {
  return new AscendError('ASC_AGENT_CONFIG', why);
}

function parseCache(text: string): PolicySnapshot {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw damaged('it is not valid JSON (truncated or damaged)');
  }
  const top = obj(doc, 'the file');
  if (top.format !== FORMAT) throw damaged(`it is not a policy cache (format ${JSON.stringify(top.format)})`);
  if (top.version !== VERSION) throw damaged(`it has version ${JSON.stringify(top.version)}, not ${VERSION}`);
  const s = obj(top.snapshot, 'snapshot');
  const origin = s.origin;
  if (origin !== 'local' && origin !== 'domain' && origin !== 'registry') throw damaged(`snapshot.origin ${JSON.stringify(origin)} is not local, domain or registry`);
  const sources: PolSource[] = arr(s.sources, 'snapshot.sources').map((x, i) => {
    const src = obj(x, `sources[${i}]`);
    return {
      source: str(src.source, `sources[${i}].source`),
      entries: arr(src.entries, `sources[${i}].entries`).map((y, j) => {
        const where = `sources[${i}].entries[${j}]`;
        const e = obj(y, where);
        const data = str(e.data, `${where}.data`);
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data) || data.length % 4 !== 0) throw damaged(`${where}.data is not base64`);
        const type = e.type;
        if (typeof type !== 'number' || !Number.isInteger(type) || type < 0 || type > 0xffffffff) throw damaged(`${where}.type is not a registry type number`);
        return { key: str(e.key, `${where}.key`), valueName: str(e.valueName, `${where}.valueName`), type, data: new Uint8Array(Buffer.from(data, 'base64')) };
      }),
    };
  });
  const labelsIn = obj(s.labels, 'snapshot.labels');
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(labelsIn)) labels[k] = str(v, `snapshot.labels.${k}`);
  const fetchedAt = s.fetchedAt;
  if (typeof fetchedAt !== 'number' || !Number.isFinite(fetchedAt)) throw damaged('snapshot.fetchedAt is not a time');
  const problems = arr(s.problems, 'snapshot.problems').map((p, i) => str(p, `snapshot.problems[${i}]`));
  const digest = str(s.digest, 'snapshot.digest');
  if (digestSources(sources) !== digest) throw damaged('its digest does not match its entries (the file was altered or damaged)');
  const snapshot: PolicySnapshot = { origin, sources, labels, fetchedAt, problems, digest };
  if (s.computer !== undefined) {
    const c = obj(s.computer, 'snapshot.computer');
    snapshot.computer = {
      name: str(c.name, 'computer.name'),
      dn: str(c.dn, 'computer.dn'),
      sid: str(c.sid, 'computer.sid'),
      groupSids: arr(c.groupSids, 'computer.groupSids').map((g, i) => str(g, `computer.groupSids[${i}]`)),
    };
  }
  return snapshot;
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw damaged(`${what} is not an object`);
  return v as Record<string, unknown>;
}
function arr(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw damaged(`${what} is not a list`);
  return v;
}
function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw damaged(`${what} is not a string`);
  return v;
}
