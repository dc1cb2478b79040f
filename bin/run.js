#!/usr/bin/env node
// Entry of the `ascend` CLI: runs the compiled commands listed in oclif.manifest.json.
// The user-facing client commands (`elevate`, `tse redeem|status`, `agent status`) start
// without oclif: the lean client bundled into dist/client/ascend-client.js (scripts/
// bundle-client.js), found next to this file's real path, runs them, or hands the command
// line back (help, and the few lines only oclif reads its own way).
import { realpathSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The Node check comes first, so an older Node says so in one line (the modules, and
// better-sqlite3 built for another Node, would fail later with a stack trace).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(`ascend: Node ${process.versions.node} is too old: Ascend needs Node 22.12 or later (Node 24 LTS is the supported runtime)\n`);
  process.exit(1);
}

const LEAN_FIRST = new Set(['elevate', 'tse', 'agent']);
const argv = process.argv.slice(2);
let handled = false;
if (LEAN_FIRST.has(argv[0])) {
  const client = new URL('../dist/client/ascend-client.js', pathToFileURL(realpathSync(fileURLToPath(import.meta.url))));
  let lean;
  try {
    lean = await import(client.href);
  } catch (e) {
    // A tree built without the bundle (tsc alone) still runs every command, through oclif.
    if (e?.code !== 'ERR_MODULE_NOT_FOUND') throw e;
  }
  if (lean) handled = await lean.runLeanClient(argv);
}
// The daemon too (`agent run`): dist/agent/daemon/main.js starts it without oclif, or hands
// the line back (help, and lines only oclif reads its own way).
if (!handled && argv[0] === 'agent' && argv[1] === 'run') {
  const daemon = new URL('../dist/agent/daemon/main.js', pathToFileURL(realpathSync(fileURLToPath(import.meta.url))));
  handled = await (await import(daemon.href)).runLeanAgent(argv.slice(2));
}
if (!handled) {
  const { execute } = await import('@oclif/core');
  await execute({ dir: import.meta.url });
}
