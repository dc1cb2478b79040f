/**
 * The public surface (issue 15, Deliver 5): package.json "main" and "types" name files the build
 * makes, the three entry points (src/index.ts, gpo-extension/index.ts, agent/index.ts) export
 * what a library user needs, and src/index.ts reaches only the pure core (no I/O module in its
 * import graph). Uses the BUILT code in dist/: run `npm run build` first.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'chai';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');

/** Modules that do I/O (files, network, processes, databases, keychains, the CLI framework). */
const IO_MODULES = new Set([
  'fs',
  'fs/promises',
  'net',
  'tls',
  'http',
  'https',
  'http2',
  'dgram',
  'dns',
  'child_process',
  'cluster',
  'worker_threads',
  'readline',
  'better-sqlite3',
  'pg',
  'ldapts',
  'fastify',
  '@napi-rs/keyring',
  '@oclif/core',
  'cli-progress',
]);
const isIo = (spec: string): boolean => {
  const bare = spec.replace(/^node:/, '');
  return IO_MODULES.has(bare) || bare.startsWith('@fastify/');
};

/** The core folders src/index.ts may reach (and src/errors.js). */
const PURE = ['catalog', 'formats', 'policy', 'rules', 'passcode'].map((d) => path.join(DIST, 'src', d) + path.sep);

/** Every module specifier of a compiled file: static imports and re-exports, side-effect and dynamic imports, require. */
function specifiers(file: string): string[] {
  const js = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const re of [/(?:^|[\n;])\s*(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]/g, /(?:^|[\n;])\s*import\s*['"]([^'"]+)['"]/g, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g, /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g]) {
    for (const m of js.matchAll(re)) out.push(m[1] as string);
  }
  return out;
}

/** The files reached from `entry` through relative imports, and the bare modules they name. */
function importGraph(entry: string): { files: Set<string>; bare: Map<string, string> } {
  const files = new Set<string>();
  const bare = new Map<string, string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of specifiers(file)) {
      if (spec.startsWith('.')) todo.push(path.resolve(path.dirname(file), spec));
      else if (!bare.has(spec)) bare.set(spec, path.relative(ROOT, file));
    }
  }
  return { files, bare };
}

/** A module namespace object (`export * as name`). */
const isNamespace = (v: unknown): boolean => typeof v === 'object' && v !== null && Object.prototype.toString.call(v) === '[object Module]';

async function load(rel: string): Promise<Record<string, unknown>> {
  const file = path.join(ROOT, rel);
  expect(existsSync(file), `${rel} (run npm run build)`).to.equal(true);
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

describe('the public surface (built entry points)', () => {
  it('package.json "main" and "types" name files the build made', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { main: string; types: string };
    expect(pkg.main).to.equal('./dist/src/index.js');
    expect(existsSync(path.join(ROOT, pkg.main)), pkg.main).to.equal(true);
    expect(existsSync(path.join(ROOT, pkg.types)), pkg.types).to.equal(true);
    const build = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
    expect(build.include).to.include.members(['src', 'gpo-extension', 'agent']);
    for (const d of ['dist/gpo-extension/index.d.ts', 'dist/agent/index.d.ts']) expect(existsSync(path.join(ROOT, d)), d).to.equal(true);
  });

  it('src/index.ts exports the catalog, codecs, fold, rules and passcode verification', async () => {
    const core = await load('dist/src/index.js');
    for (const name of ['AscendError', 'isAscendError', 'ERROR_CODES', 'ASCEND_CATALOG', 'requirePolicy', 'readRegistryPol', 'writeRegistryPol', 'encodePolicyState', 'foldRegistryPol', 'resolveEffectivePolicies', 'compileRules', 'decide', 'rulesFromSources', 'checkPasscode', 'parsePasscode', 'PasscodeVerifier']) {
      expect(core[name], name).to.not.equal(undefined);
    }
    for (const ns of ['catalog', 'registryPol', 'gptIni', 'admx', 'policy', 'rules', 'passcode']) expect(isNamespace(core[ns]), ns).to.equal(true);
    expect((core.gptIni as Record<string, unknown>).parseGptIni).to.be.a('function');
    expect((core.admx as Record<string, unknown>).writeAdmx).to.be.a('function');
    // The exports work together: a policy state written as Registry.pol bytes and read back.
    const { ASCEND_CATALOG, requirePolicy, encodePolicyState, writeRegistryPol, readRegistryPol } = core as unknown as {
      ASCEND_CATALOG: unknown;
      requirePolicy: (c: unknown, id: string) => unknown;
      encodePolicyState: (p: unknown, s: string, v?: Record<string, unknown>) => unknown[];
      writeRegistryPol: (e: unknown[]) => Uint8Array;
      readRegistryPol: (b: Uint8Array) => unknown[];
    };
    const entries = encodePolicyState(requirePolicy(ASCEND_CATALOG, 'ClientDataCollection'), 'disabled');
    expect(entries.length).to.be.greaterThan(0);
    expect(readRegistryPol(writeRegistryPol(entries))).to.have.length(entries.length);
  });

  it('src/index.ts reaches only the pure core: no I/O module in its import graph', () => {
    const { files, bare } = importGraph(path.join(DIST, 'src', 'index.js'));
    // The walk is not vacuous: it reaches the decision engine and the passcode check.
    for (const f of ['src/rules/engine.js', 'src/passcode/verify.js', 'src/formats/registry-pol/reader.js', 'src/policy/virtual-registry.js']) {
      expect([...files].map((x) => path.relative(DIST, x).split(path.sep).join('/')), f).to.include(f);
    }
    const outside = [...files].filter((f) => f !== path.join(DIST, 'src', 'index.js') && f !== path.join(DIST, 'src', 'errors.js') && !PURE.some((p) => f.startsWith(p)));
    expect(outside.map((f) => path.relative(ROOT, f)), 'modules outside the pure core').to.deep.equal([]);
    const io = [...bare].filter(([spec]) => isIo(spec)).map(([spec, from]) => `${spec} (imported by ${from})`);
    expect(io, 'I/O modules').to.deep.equal([]);
  });

  it('gpo-extension/index.ts exports the GPO admin, the connection and the RSoP', async () => {
    const gpo = await load('dist/gpo-extension/index.js');
    for (const name of ['GpoAdmin', 'connectDomain', 'resolveRsop', 'gpoSysvolPath', 'parseGpLink', 'gpoTarget', 'openSysvolStore', 'FsSysvolStore']) {
      expect(gpo[name], name).to.be.a('function');
    }
  });

  it('agent/index.ts exports the agent, its executor, policy sources and socket client', async () => {
    const agent = await load('dist/agent/index.js');
    for (const name of ['AscendAgent', 'createExecutor', 'LinuxExecutor', 'WindowsExecutor', 'DomainPolicy', 'LocalPolicyFiles', 'WindowsRegistryPolicy', 'PolicyRefresher', 'PolicyCache', 'ipcCall']) {
      expect(agent[name], name).to.be.a('function');
    }
    for (const ns of ['executor', 'policy', 'ipc']) expect(isNamespace(agent[ns]), ns).to.equal(true);
  });
});
