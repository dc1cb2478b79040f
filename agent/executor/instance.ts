/**
 * This agent's instance id: 16 random hex digits made once and kept in the state folder. Every
 * account (its GECOS marker), home folder (<homeRoot>/<instance>/) and cgroup
 * (<cgroup parent>/<instance>/) the executor makes carries it, and the orphan cleanup touches
 * only what carries this instance's id, so several agents on one machine (tests, containers
 * sharing the host's accounts) leave each other's elevations alone.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { AscendError } from '../../src/errors.js';

export const INSTANCE_FILE = 'instance-id';
export const INSTANCE_ID = /^[0-9a-f]{16}$/;

/** The state folder exists (made 0700), is a folder, the agent's own, and others cannot write it. */
export function checkStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (st.mode & 0o022) !== 0 || (uid !== undefined && st.uid !== uid)) {
    throw new AscendError('ASC_AGENT_CONFIG', `The executor's state folder ${JSON.stringify(dir)} must be a folder of the agent's own that others cannot write.`);
  }
}

/** Reads the instance id, or makes it (written to a temporary file, flushed, then linked so a second writer cannot overwrite it). */
export function loadInstanceId(stateDir: string): string {
  const dir = path.resolve(stateDir);
  checkStateDir(dir);
  const file = path.join(dir, INSTANCE_FILE);
  const read = (): string | null => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    const id = text.trim();
    if (!INSTANCE_ID.test(id)) {
      throw new AscendError('ASC_AGENT_CONFIG', `The instance id in ${JSON.stringify(file)} is damaged.`, {
        hint: 'Accounts this agent made carry it; restore the file, or remove it and clean up old ephemeral accounts by hand.',
      });
    }
    return id;
  };
  const existing = read();
  if (existing) return existing;
  const temp = path.join(dir, `.${INSTANCE_FILE}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, `${randomBytes(8).toString('hex')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, file); // fails with EEXIST when another process made it first: then that one counts
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    rmSync(temp, { force: true });
  }
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } catch {
    /* some filesystems refuse to sync a folder */
  } finally {
    closeSync(dfd);
  }
  const made = read();
  if (!made) throw new AscendError('ASC_AGENT_CONFIG', `The instance id ${JSON.stringify(file)} could not be made.`);
  return made;
}
