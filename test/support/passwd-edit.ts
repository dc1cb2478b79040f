/**
 * Test-only edits of /etc/passwd that useradd and usermod refuse (a primary gid no group has):
 * the file read, changed, written beside and renamed into place. Root only.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

/** Sets the primary gid of `name` in /etc/passwd to `gid`, whether or not a group has it. */
export function setPrimaryGid(name: string, gid: number): void {
  const lines = readFileSync('/etc/passwd', 'utf8').split('\n');
  let found = false;
  const next = lines.map((l) => {
    const f = l.split(':');
    if (f[0] !== name || f.length < 7) return l;
    found = true;
    f[3] = String(gid);
    return f.join(':');
  });
  if (!found) throw new Error(`no account ${name} in /etc/passwd`);
  const temp = `/etc/passwd+${process.pid}`;
  writeFileSync(temp, next.join('\n'), { mode: 0o644 });
  renameSync(temp, '/etc/passwd');
}
