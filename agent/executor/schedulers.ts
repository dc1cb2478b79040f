/**
 * Programs that hand work to a daemon which runs it later, outside the elevated tree: cron's
 * `crontab`, `at`/`batch`, and systemd's `systemd-run` and `loginctl` (lingering user managers).
 * A job queued by an ephemeral account would run as that account, with its groups, but outside
 * the launcher's seccomp filter and the exec guard, so deny rules and the set-id refusal would
 * not apply to it. Inside an elevation these programs are refused (by file identity, so a hard
 * link under another name is refused too; a copy loses the set-id bit they need to queue
 * anything), and whatever such an account queued anyway is removed with the account.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { SAFE_PATH } from './common.js';

export const SCHEDULER_PROGRAMS = ['crontab', 'at', 'batch', 'systemd-run', 'loginctl'] as const;

const CRONTABS = '/var/spool/cron/crontabs';
const AT_JOBS = ['/var/spool/cron/atjobs', '/var/spool/at'];

/** The scheduler program a file is (by device and inode, after links), or null. */
export async function schedulerOf(file: { dev: number | bigint; ino: number | bigint }): Promise<string | null> {
  const key = `${String(file.dev)}:${String(file.ino)}`;
  for (const name of SCHEDULER_PROGRAMS) {
    for (const dir of SAFE_PATH.split(':')) {
      try {
        const st = await fsp.stat(path.join(dir, name));
        if (`${String(st.dev)}:${String(st.ino)}` === key) return name;
      } catch {
        /* not there */
      }
    }
  }
  return null;
}

/**
 * Removes what a removed account queued: its crontab (named after it, owned by its uid) and the
 * at jobs its uid owns. Only regular files owned by that uid are removed; nothing is followed.
 */
export async function removeScheduledWork(account: string, uid: number): Promise<string[]> {
  const removed: string[] = [];
  if (!Number.isInteger(uid) || uid <= 0 || account.includes('/') || account === '' || account === '.' || account === '..') return removed;
  const drop = async (file: string): Promise<void> => {
    try {
      const st = await fsp.lstat(file);
      if (!st.isFile() || st.uid !== uid) return;
      await fsp.unlink(file);
      removed.push(file);
    } catch {
      /* gone, or not there */
    }
  };
  await drop(path.join(CRONTABS, account));
  for (const dir of AT_JOBS) {
    let names: string[] = [];
    try {
      names = await fsp.readdir(dir);
    } catch {
      continue;
    }
    for (const name of names) await drop(path.join(dir, name));
  }
  return removed;
}
