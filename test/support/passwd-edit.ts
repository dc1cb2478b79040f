/**
 * Test-only edits of /etc/passwd and /etc/group that useradd, usermod and groupadd refuse (a
 * primary gid no group has, a group name with blanks, a second account of the same name), made
 * as the agent makes its own: under shadow-utils' locks, written beside and renamed into place
 * (agent/executor/pwdb.ts). Root only.
 */
import { PasswdDb } from '../../agent/executor/pwdb.js';

/** Rewrites /etc/passwd or /etc/group with `edit` applied to its lines. */
export async function editEtc(file: 'passwd' | 'group', edit: (lines: string[]) => string[]): Promise<void> {
  await new PasswdDb().edit((db) => {
    const text = db[file];
    if (text === null) throw new Error(`/etc/${file} could not be read`);
    return { db: { ...db, [file]: edit(text.split('\n')).join('\n') }, value: undefined };
  }, 'passwd-first');
}

/** Sets the primary gid of `name` in /etc/passwd to `gid`, whether or not a group has it. */
export async function setPrimaryGid(name: string, gid: number): Promise<void> {
  let found = false;
  await editEtc('passwd', (lines) =>
    lines.map((l) => {
      const f = l.split(':');
      if (f[0] !== name || f.length < 7) return l;
      found = true;
      f[3] = String(gid);
      return f.join(':');
    }),
  );
  if (!found) throw new Error(`no account ${name} in /etc/passwd`);
}
