#!/usr/bin/env node
// Entry of the `ascend` CLI: runs the compiled commands listed in oclif.manifest.json.
// The Node check comes first, so an older Node says so in one line (the modules, and
// better-sqlite3 built for another Node, would fail later with a stack trace).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(`ascend: Node ${process.versions.node} is too old: Ascend needs Node 22.12 or later (Node 24 LTS is the supported runtime)\n`);
  process.exit(1);
}
const { execute } = await import('@oclif/core');
await execute({ dir: import.meta.url });
