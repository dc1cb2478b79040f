/** The agent's state folder (policy cache, TSE use counts, spool, collector credential). */
import { promises as fs } from 'node:fs';
import { AscendError } from '../../src/errors.js';
import { checkRootOnlyFolder } from '../policy/root-only.js';

/** The state folder: created 0700, and refused when others may write it or it is not root's. */
export async function prepareStateDir(dir: string): Promise<void> {
  // 0711: others may pass through (the ephemeral homes live below it by default) but not list it;
  // every file in it is 0600.
  await fs.mkdir(dir, { recursive: true, mode: 0o711 });
  const st = await fs.stat(dir);
  if (!st.isDirectory()) throw new AscendError('ASC_AGENT_CONFIG', `the state folder ${dir} is not a folder`);
  if ((st.mode & 0o022) !== 0) throw new AscendError('ASC_AGENT_CONFIG', `the state folder ${dir} may be written by others (mode ${(st.mode & 0o777).toString(8)})`, { hint: `chmod 700 ${dir}` });
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) throw new AscendError('ASC_AGENT_CONFIG', `the state folder ${dir} belongs to uid ${st.uid}, not to the agent (uid ${uid})`);
  // And every folder above it: whoever could rename one could put another state folder there.
  await checkRootOnlyFolder(dir, 'state folder');
}
