/**
 * Runs every benchmark in bench/ (files named *.bench.ts), one after the other.
 * Each bench module exports `run(): Promise<unknown>`. `npm run bench` runs this file;
 * `npm run bench -- registry-pol` runs only the benches whose file name contains an argument.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);

const files = readdirSync(HERE)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

if (files.length === 0) {
  console.error(`no benchmarks match ${filters.join(', ') || '*.bench.ts'} in ${HERE}`);
  process.exitCode = 1;
}

for (const f of files) {
  const mod = (await import(pathToFileURL(join(HERE, f)).href)) as { run?: () => Promise<unknown> };
  if (typeof mod.run !== 'function') {
    console.error(`${f}: exports no run() function, skipped`);
    process.exitCode = 1;
    continue;
  }
  console.log(`== ${f}`);
  await mod.run();
  console.log('');
}
