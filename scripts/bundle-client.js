// Bundles the lean client (src/cli/client/main.ts: `ascend elevate`, `tse redeem|status`,
// `agent status` without oclif) into one file, dist/client/ascend-client.js, that bin/run.js
// loads from next to itself. Runs as part of `npm run build`. The bundle must load nothing but
// node's built-in modules: an input from a package, or an import left to load at run time, fails
// the build, so what unprivileged users run never reaches for node_modules, the current folder
// or a path from the environment.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = path.join(root, 'dist', 'client', 'ascend-client.js');
rmSync(outfile, { force: true });

const result = await build({
  entryPoints: [path.join(root, 'src', 'cli', 'client', 'main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const problems = [];
for (const input of Object.keys(result.metafile.inputs)) {
  if (input.includes('node_modules') || !/^(src|agent)\//.test(input)) problems.push(`bundles ${input}`);
}
for (const output of Object.values(result.metafile.outputs)) {
  for (const imp of output.imports) if (!imp.external || !imp.path.startsWith('node:')) problems.push(`imports ${imp.path} at run time`);
}
if (problems.length > 0) {
  rmSync(outfile, { force: true });
  console.error(`bundle-client: the lean client must load only node built-ins:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`${path.relative(root, outfile)}: ${Object.keys(result.metafile.inputs).length} modules, ${bytes} bytes`);
