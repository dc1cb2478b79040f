#!/usr/bin/env node
/**
 * Builds the agent's native addon, native/peercred.c, into build/native/peercred.node, the
 * elevation launcher, native/launch.c, into the executable build/native/ascend-launch, and the
 * native `ascend elevate` client, native/elevate-client.c, into build/native/ascend-elevate (all
 * git-ignored). Runs first in `npm run build`, so `npm ci` (through prepare) and `npm test`
 * (through pretest) build it; nothing is downloaded.
 *
 * It is one C file against node_api.h (N-API, ABI-stable), so the system C compiler builds it
 * directly; node-gyp is not needed (it would want the full Node headers, which it downloads
 * when it does not find them). The headers are looked for, in order, in $ASCEND_NODE_HEADERS,
 * npm's `nodedir` setting, next to the running node (PREFIX/include/node, as the official
 * tarballs and NodeSource's packages have them), /usr/include/node, /usr/local/include/node,
 * and node-gyp's header cache. The compiler is $CC, else cc, gcc, clang or g++ (as C).
 *
 * SO_PEERCRED is Linux only: on other systems the script says so and builds nothing (the
 * agent then refuses requests with ASC_AGENT_PEER_UNKNOWN). ASCEND_SKIP_NATIVE=1 skips it.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = join(ROOT, 'native', 'peercred.c');
const OUT_DIR = join(ROOT, 'build', 'native');
const OUT = join(OUT_DIR, 'peercred.node');
const LAUNCH_SOURCE = join(ROOT, 'native', 'launch.c');
const LAUNCH_OUT = join(OUT_DIR, 'ascend-launch');
const ELEVATE_SOURCE = join(ROOT, 'native', 'elevate-client.c');
const ELEVATE_OUT = join(OUT_DIR, 'ascend-elevate');
const AGENTD_SOURCE = join(ROOT, 'native', 'agentd.c');
const AGENTD_OUT = join(OUT_DIR, 'ascend-agentd');

function fail(message) {
  process.stderr.write(`build-native: ${message}\n`);
  process.exit(1);
}

function headerDirs() {
  const dirs = [];
  const add = (d) => {
    if (d && !dirs.includes(d)) dirs.push(d);
  };
  add(process.env.ASCEND_NODE_HEADERS);
  if (process.env.npm_config_nodedir) add(join(process.env.npm_config_nodedir, 'include', 'node'));
  add(resolve(dirname(process.execPath), '..', 'include', 'node'));
  const prefix = process.config?.variables?.node_prefix;
  if (typeof prefix === 'string' && prefix !== '') add(join(prefix, 'include', 'node'));
  add('/usr/include/node');
  add('/usr/local/include/node');
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  add(join(cache, 'node-gyp', process.versions.node, 'include', 'node'));
  return dirs;
}

function compilers() {
  const list = [];
  if (process.env.CC) list.push({ cmd: process.env.CC, pre: [] });
  list.push({ cmd: 'cc', pre: [] }, { cmd: 'gcc', pre: [] }, { cmd: 'clang', pre: [] }, { cmd: 'g++', pre: ['-x', 'c'] });
  return list;
}

if (process.env.ASCEND_SKIP_NATIVE === '1') {
  process.stdout.write('build-native: skipped (ASCEND_SKIP_NATIVE=1)\n');
  process.exit(0);
}
if (process.platform !== 'linux') {
  process.stdout.write(`build-native: SO_PEERCRED is Linux only; no addon on ${process.platform}\n`);
  process.exit(0);
}

const searched = headerDirs();
const include = searched.find((d) => existsSync(join(d, 'node_api.h')));
if (!include) {
  fail(
    `node_api.h not found (looked in ${searched.join(', ')}); install Node's headers ` +
      '(they come with the official Node tarball and NodeSource packages) or set ASCEND_NODE_HEADERS to the folder holding node_api.h',
  );
}

mkdirSync(OUT_DIR, { recursive: true });

/** The native client's hardening: warnings are errors, fortified, stack protector, PIE, full RELRO. */
const ELEVATE_FLAGS = ['-O2', '-std=c11', '-Wall', '-Wextra', '-Werror', '-D_FORTIFY_SOURCE=2', '-fstack-protector-strong', '-fPIE', '-pie', '-Wl,-z,relro,-z,now'];

/** Compiles one C file with the first compiler found; exits on failure. */
function compile(source, out, flags) {
  const tmp = `${out}.${process.pid}.tmp`;
  const tried = [];
  for (const { cmd, pre } of compilers()) {
    const r = spawnSync(cmd, [...pre, source, ...flags, '-o', tmp], { cwd: ROOT, encoding: 'utf8' });
    if (r.error && r.error.code === 'ENOENT') {
      tried.push(`${cmd} (not installed)`);
      continue;
    }
    if (r.status !== 0) {
      rmSync(tmp, { force: true });
      fail(`${cmd} failed to compile ${relative(ROOT, source)} (exit ${r.status ?? r.signal}):\n${r.stderr || r.stdout || r.error?.message || ''}`);
    }
    renameSync(tmp, out);
    return cmd;
  }
  return fail(`no C compiler found (tried ${tried.join(', ')}); install gcc (Debian: apt-get install gcc) or set CC`);
}

const cc = compile(SOURCE, OUT, ['-shared', '-fPIC', '-O2', '-std=c11', '-Wall', '-Wextra', `-I${include}`]);
process.stdout.write(`build-native: ${cc} built ${join('build', 'native', 'peercred.node')} (headers ${include})\n`);

// The launcher every elevated program is started through (agent/executor/launcher.ts). It runs
// as root, so the agent checks that the file and its folders belong to root and that nobody
// else can write them; 0755, and the temporary file is renamed over the old one.
if (process.arch === 'x64') {
  compile(LAUNCH_SOURCE, LAUNCH_OUT, ['-O2', '-std=c11', '-Wall', '-Wextra', '-fstack-protector-strong', '-D_FORTIFY_SOURCE=2', '-fPIE', '-pie']);
  chmodSync(LAUNCH_OUT, 0o755);
  process.stdout.write(`build-native: ${cc} built ${join('build', 'native', 'ascend-launch')}\n`);
} else {
  process.stdout.write(`build-native: the launcher (native/launch.c) supports x86_64 only; elevations are refused on ${process.arch}\n`);
}

// The native `ascend elevate` client (issue 16): the lean client without Node's start-up. It hands
// what it does not answer itself to bin/run.js under the node that built it (its absolute path is
// compiled in; a package's bundled node/bin/node is preferred at run time), and needs the error
// codes of the error catalogue to tell an agent's known code from an unknown one.
// A checkout has src/errors.ts (this runs before tsc); the npm tarball has only the compiled dist/src/errors.js.
const catalogue = [join(ROOT, 'src', 'errors.ts'), join(ROOT, 'dist', 'src', 'errors.js')].find((f) => existsSync(f));
if (!catalogue) fail('neither src/errors.ts nor dist/src/errors.js is there: the native client needs the error codes');
const codes = [...readFileSync(catalogue, 'utf8').matchAll(/^\s+(ASC_[A-Z0-9_]+):/gm)].map((m) => m[1]);
if (codes.length === 0) fail(`no error codes found in ${relative(ROOT, catalogue)}`);
writeFileSync(join(OUT_DIR, 'error-codes.h'), `/* Generated by scripts/build-native.js from ${relative(ROOT, catalogue)}. */\nstatic const char *const ASCEND_ERROR_CODES[] = {${codes.map((c) => JSON.stringify(c)).join(', ')}};\n`);
// The node a checkout's binary hands over to: the one building it. scripts/package.sh builds the
// package's own copy with ASCEND_ELEVATE_NODE=/usr/lib/ascend/node/bin/node (and
// ASCEND_ELEVATE_OUT), so no path of the building machine is ever compiled into a package.
const elevateNode = process.env.ASCEND_ELEVATE_NODE || realpathSync(process.execPath);
if (!elevateNode.startsWith('/') || /["\\\n]/.test(elevateNode)) fail(`ASCEND_ELEVATE_NODE must be an absolute path without quotes, backslashes or newlines: ${elevateNode}`);
const elevateOut = process.env.ASCEND_ELEVATE_OUT || ELEVATE_OUT;
// -Werror for the project's own builds; an install on another compiler (npm install -g) must not
// fail on a warning that compiler adds.
const installing = ['preinstall', 'install', 'postinstall'].includes(process.env.npm_lifecycle_event ?? '');
compile(ELEVATE_SOURCE, elevateOut, [
  ...ELEVATE_FLAGS.filter((f) => !(installing && f === '-Werror')),
  `-I${OUT_DIR}`,
  `-DASCEND_NODE=${JSON.stringify(elevateNode)}`,
]);
chmodSync(elevateOut, 0o755);
process.stdout.write(`build-native: ${cc} built ${join('build', 'native', 'ascend-elevate')}\n`);

// ascend-agentd (native/agentd.c): what stays resident of an agent run with --idle-exit. Root
// runs it, so it is checked like the launcher (agent/daemon/launch.ts becomeAgentd).
compile(AGENTD_SOURCE, AGENTD_OUT, ELEVATE_FLAGS.filter((f) => !(installing && f === '-Werror')));
chmodSync(AGENTD_OUT, 0o755);
process.stdout.write(`build-native: ${cc} built ${join('build', 'native', 'ascend-agentd')}\n`);
