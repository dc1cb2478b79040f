import { spawnSync } from 'node:child_process';
import { accessSync, constants as fsConstants, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

/** True when the command runs (exit 0) with these arguments. */
export function commandWorks(cmd: string, args: readonly string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.status === 0;
}

/**
 * A suite that needs a real component calls this in its `before` hook. Under CI=true a
 * missing component fails the suite; elsewhere the suite is skipped with the reason.
 */
export function requireComponent(ctx: Mocha.Context, available: boolean, what: string, install: string): void {
  if (available) return;
  if (process.env.CI === 'true') throw new Error(`${what} is required under CI=true but missing (install: ${install})`);
  console.warn(`    skipped: ${what} is missing (install: ${install})`);
  ctx.skip();
}

/** Debian's python3 with Samba's bindings (python3-samba). */
export const SAMBA_PYTHON = '/usr/bin/python3';

export function sambaPythonAvailable(): boolean {
  return commandWorks(SAMBA_PYTHON, ['-c', 'from samba.dcerpc import preg; from samba import ndr']);
}

export function xmllintAvailable(): boolean {
  return commandWorks('xmllint', ['--version']);
}

/**
 * A cgroup v2 hierarchy root may write to (a child can be made and has cgroup.procs), found
 * from /proc/self/mounts here, independently of the agent's own detection; null when none.
 */
export function writableCgroup2(): string | null {
  let mounts: string;
  try {
    mounts = readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return null;
  }
  for (const line of mounts.split('\n')) {
    const [, point, type] = line.split(' ');
    if (type !== 'cgroup2' || point === undefined) continue;
    const mount = point.replace(/\\040/g, ' ');
    const probe = join(mount, `ascend-test-probe-${process.pid}`);
    try {
      mkdirSync(probe);
      try {
        accessSync(join(probe, 'cgroup.procs'), fsConstants.W_OK);
        return mount;
      } finally {
        rmdirSync(probe);
      }
    } catch {
      // not writable here: try the next mount
    }
  }
  return null;
}
