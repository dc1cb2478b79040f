/**
 * Who is on the other end of an agent socket, from the kernel: SO_PEERCRED through the tiny
 * N-API addon in native/peercred.c (built into build/native/peercred.node by
 * scripts/build-native.js). There is no fallback: without the addon, or when the kernel does
 * not answer, the request is refused with ASC_AGENT_PEER_UNKNOWN — never decided on what the
 * client says about itself.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AscendError } from '../../src/errors.js';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

interface Addon {
  peerCredentials(fd: number): PeerCredentials;
}

const PACKAGE_NAME = 'ascend-privilege-manager';
const ADDON = join('build', 'native', 'peercred.node');
const HINT = 'build it: npm run build:native (needs a C compiler and the Node headers), on Linux';

let loaded: { addon: Addon } | { error: string } | undefined;

/**
 * The package root: the nearest folder upward holding our package.json. The same from
 * agent/ipc/*.ts (run by tsx) and from dist/agent/ipc/*.js.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME) return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new AscendError('ASC_AGENT_PEER_UNKNOWN', `cannot find the ${PACKAGE_NAME} package folder above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** Where the addon is expected. */
export function addonPath(): string {
  return join(packageRoot(), ADDON);
}

function load(): { addon: Addon } | { error: string } {
  if (loaded) return loaded;
  if (process.platform !== 'linux') {
    loaded = { error: `peer credentials (SO_PEERCRED) are implemented on Linux only, not on ${process.platform}` };
    return loaded;
  }
  try {
    const path = addonPath();
    const mod = createRequire(import.meta.url)(path) as Partial<Addon>;
    if (typeof mod.peerCredentials !== 'function') throw new Error(`${path} does not export peerCredentials`);
    loaded = { addon: mod as Addon };
  } catch (e) {
    loaded = { error: `the peer-credentials addon could not be loaded: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` };
  }
  return loaded;
}

/** Whether the addon is there and loads (it says nothing of a particular socket). */
export function peerCredentialsAvailable(): boolean {
  return 'addon' in load();
}

/** The credentials the kernel holds for the peer of the socket with this file descriptor. */
export function peerCredentialsOfFd(fd: number): PeerCredentials {
  const l = load();
  if ('error' in l) throw new AscendError('ASC_AGENT_PEER_UNKNOWN', l.error, { hint: HINT });
  let creds: PeerCredentials;
  try {
    creds = l.addon.peerCredentials(fd);
  } catch (e) {
    throw new AscendError('ASC_AGENT_PEER_UNKNOWN', `the kernel did not say who is on the socket: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  for (const k of ['pid', 'uid', 'gid'] as const) {
    if (!Number.isInteger(creds[k]) || creds[k] < 0) throw new AscendError('ASC_AGENT_PEER_UNKNOWN', `the kernel gave an unusable ${k} (${String(creds[k])}) for the socket peer`);
  }
  return { pid: creds.pid, uid: creds.uid, gid: creds.gid };
}

/**
 * The credentials of the process that connected this Unix socket (as they were at connect()).
 * Throws ASC_AGENT_PEER_UNKNOWN when the socket has no file descriptor (closed, not a Unix
 * socket), the addon is missing, or getsockopt fails.
 */
export function peerCredentials(socket: Socket): PeerCredentials {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
    throw new AscendError('ASC_AGENT_PEER_UNKNOWN', 'the socket has no file descriptor to ask the kernel about (closed, or not a local socket)');
  }
  return peerCredentialsOfFd(fd);
}
