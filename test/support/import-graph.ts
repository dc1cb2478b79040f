/**
 * The import graph of the source tree and the house rules of DESIGN section 2 as checks
 * (issue 15): read from the TypeScript sources, so a rule is broken the moment an import is
 * written, not only once it is built.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface ImportEdge {
  /** Importing file, relative to the root, with forward slashes. */
  from: string;
  /** A relative import resolved to a file relative to the root, or the bare module name ("node:fs", "pg"). */
  to: string;
  /** `import type` / `export type`: gone at run time. */
  typeOnly: boolean;
}

const SOURCE_ROOTS = ['src', 'agent', 'gpo-extension'];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Every import and re-export of one file's text (static, dynamic and side-effect imports). */
export function importsOf(text: string): { spec: string; typeOnly: boolean }[] {
  const out: { spec: string; typeOnly: boolean }[] = [];
  // Comments may quote imports: drop them first (strings holding "//" are rare in import lines, and harmless here).
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  for (const m of code.matchAll(/\b(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/g)) out.push({ spec: m[4] as string, typeOnly: m[2] !== undefined });
  for (const m of code.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push({ spec: m[1] as string, typeOnly: false });
  for (const m of code.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) out.push({ spec: m[1] as string, typeOnly: false });
  return out;
}

function resolveRelative(root: string, fromFile: string, spec: string): string {
  const base = path.resolve(path.dirname(fromFile), spec);
  const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, path.join(base, 'index.ts'), base];
  const hit = candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? candidates[0];
  return path.relative(root, hit as string).split(path.sep).join('/');
}

export function importGraph(root: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const top of SOURCE_ROOTS) {
    for (const file of sourceFiles(path.join(root, top))) {
      const from = path.relative(root, file).split(path.sep).join('/');
      for (const { spec, typeOnly } of importsOf(readFileSync(file, 'utf8'))) {
        edges.push({ from, to: spec.startsWith('.') ? resolveRelative(root, file, spec) : spec, typeOnly });
      }
    }
  }
  return edges;
}

/** The pure core: decisions and codecs, no I/O (DESIGN section 2). */
export const CORE = ['src/catalog/', 'src/formats/', 'src/policy/', 'src/rules/', 'src/passcode/', 'src/errors.ts', 'src/log-line.ts', 'src/collector-api/'];
/** The one edge adapter inside src/collector-api (HTTP to the collector). */
export const CORE_EDGES = ['src/collector-api/transport.ts'];
/** Modules that reach the world: files, processes, network, databases, terminals. */
export const IO_MODULES = [
  'node:fs', 'node:fs/promises', 'node:child_process', 'node:net', 'node:http', 'node:https', 'node:http2', 'node:tls', 'node:dgram', 'node:dns',
  'node:os', 'node:worker_threads', 'node:cluster', 'node:readline', 'node:module', 'fs', 'child_process', 'net', 'http', 'https', 'tls', 'os',
  'ldapts', 'better-sqlite3', 'pg', 'fastify', 'pino', '@napi-rs/keyring', '@oclif/core', 'undici', 'otpauth',
];

const under = (file: string, prefixes: readonly string[]) => prefixes.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p));

export interface Violation {
  rule: 'core-imports-io' | 'core-imports-edge' | 'agent-collector' | 'src-imports-upward' | 'command-imports-command' | 'gpo-layout-outside';
  edge: ImportEdge;
}

/** Every edge that breaks a house rule. */
export function violations(edges: readonly ImportEdge[]): Violation[] {
  const out: Violation[] = [];
  for (const e of edges) {
    const relative = !e.to.includes(':') && /^(src|agent|gpo-extension|test)\//.test(e.to);
    const core = under(e.from, CORE) && !under(e.from, CORE_EDGES);
    // 1. The pure core imports no I/O at run time, and only other core modules.
    if (core && !e.typeOnly && !relative && (IO_MODULES.includes(e.to) || e.to.startsWith('@fastify/'))) out.push({ rule: 'core-imports-io', edge: e });
    if (core && relative && !under(e.to, CORE)) out.push({ rule: 'core-imports-edge', edge: e });
    // 2. Agent and collector meet only in src/collector-api.
    if ((e.from.startsWith('agent/') && e.to.startsWith('src/collector/')) || (e.from.startsWith('src/collector/') && e.to.startsWith('agent/'))) out.push({ rule: 'agent-collector', edge: e });
    // 3. Nothing under src/ but the CLI reaches up into gpo-extension (or the agent).
    if (e.from.startsWith('src/') && !e.from.startsWith('src/cli/') && (e.to.startsWith('gpo-extension/') || e.to.startsWith('agent/'))) out.push({ rule: 'src-imports-upward', edge: e });
    // 4. A CLI command imports no other command: shared helpers live in src/cli/shared.
    if (e.from.startsWith('src/cli/commands/') && e.to.startsWith('src/cli/commands/') && e.to !== e.from) out.push({ rule: 'command-imports-command', edge: e });
    // 5. Only gpo-extension knows the GPO layout (GPT.INI, the SYSVOL folders); the library surface may re-export the codec.
    if ((e.to.startsWith('src/formats/gpt-ini/') || e.to === 'gpo-extension/layout.ts') && !e.from.startsWith('gpo-extension/') && !e.from.startsWith('src/formats/gpt-ini/') && e.from !== 'src/index.ts') {
      out.push({ rule: 'gpo-layout-outside', edge: e });
    }
  }
  return out;
}
