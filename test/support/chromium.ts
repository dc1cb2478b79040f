/**
 * Real Chromium for the web-page tests (Debian's `chromium`), driven through playwright-core.
 * ASCEND_TEST_CHROMIUM names another executable.
 */
import { existsSync } from 'node:fs';
import { commandWorks } from './components.js';

export const CHROMIUM = process.env.ASCEND_TEST_CHROMIUM ?? '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM) && commandWorks(CHROMIUM, ['--version']);
}

/** Launch options: as root Chromium needs --no-sandbox (the tests run as root in CI containers). */
export function chromiumLaunchOptions(): { executablePath: string; args: string[]; headless: boolean } {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  return { executablePath: CHROMIUM, args: root ? ['--no-sandbox'] : [], headless: true };
}
