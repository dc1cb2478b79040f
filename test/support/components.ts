import { spawnSync } from 'node:child_process';

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
