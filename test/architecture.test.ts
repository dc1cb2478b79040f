/**
 * DESIGN section 2 as a test (issue 15): the pure core imports no I/O, agent and collector
 * meet only in src/collector-api, nothing in src/ (but the CLI) imports gpo-extension, and no
 * CLI command imports another. Each rule is also shown to catch a planted violation.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { type ImportEdge, importGraph, importsOf, violations } from './support/import-graph.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const show = (v: { rule: string; edge: ImportEdge }) => `${v.rule}: ${v.edge.from} imports ${v.edge.to}`;

describe('architecture: the house rules of DESIGN section 2 hold for the source tree', () => {
  const graph = importGraph(root);

  it('reads the imports of the whole tree (static, dynamic, re-exports, type-only)', () => {
    expect(graph.length).to.be.greaterThan(500);
    expect(importsOf("import type { A } from './a.js';\nexport { b } from \"./b.js\";\nconst c = await import('./c.js');\nimport './d.js';\n// import x from './comment.js'")).to.deep.equal([
      { spec: './a.js', typeOnly: true },
      { spec: './b.js', typeOnly: false },
      { spec: './c.js', typeOnly: false },
      { spec: './d.js', typeOnly: false },
    ]);
    expect(graph.some((e) => e.from === 'agent/daemon/agent.ts' && e.to.startsWith('src/collector-api/'))).to.equal(true);
  });

  it('no file breaks a rule', () => {
    expect(violations(graph).map(show)).to.deep.equal([]);
  });

  describe('each rule catches its violation', () => {
    const edge = (from: string, to: string, typeOnly = false): ImportEdge => ({ from, to, typeOnly });
    it('the pure core importing I/O (node:fs, a database, the network) or an edge module', () => {
      expect(violations([edge('src/rules/engine.ts', 'node:fs')]).map((v) => v.rule)).to.deep.equal(['core-imports-io']);
      expect(violations([edge('src/passcode/verify.ts', 'pg')]).map((v) => v.rule)).to.deep.equal(['core-imports-io']);
      expect(violations([edge('src/policy/decode.ts', 'src/local-policy/pol-file.ts')]).map((v) => v.rule)).to.deep.equal(['core-imports-edge']);
      // A type-only import brings no I/O at run time; the transport is the contract's one adapter.
      expect(violations([edge('src/policy/target.ts', 'node:fs', true), edge('src/collector-api/transport.ts', 'node:https')])).to.deep.equal([]);
    });
    it('agent and collector importing each other', () => {
      expect(violations([edge('agent/collector/client.ts', 'src/collector/server/client.ts')]).map((v) => v.rule)).to.deep.equal(['agent-collector']);
      expect(violations([edge('src/collector/server/app.ts', 'agent/spool/spool.ts', true)]).map((v) => v.rule)).to.deep.equal(['agent-collector', 'src-imports-upward']);
    });
    it('a module under src/ (not the CLI) importing gpo-extension or the agent', () => {
      expect(violations([edge('src/passcode-keys/tse-policy.ts', 'gpo-extension/admin.ts')]).map((v) => v.rule)).to.deep.equal(['src-imports-upward']);
      expect(violations([edge('src/cli/commands/gpo/link.ts', 'gpo-extension/admin.ts')])).to.deep.equal([]);
    });
    it('a CLI command importing another command', () => {
      expect(violations([edge('src/cli/commands/rules/list.ts', 'src/cli/commands/rules/add.ts', true)]).map((v) => v.rule)).to.deep.equal(['command-imports-command']);
      expect(violations([edge('src/cli/commands/rules/list.ts', 'src/cli/shared/rules-source.ts')])).to.deep.equal([]);
    });
    it('the GPO layout (GPT.INI codec, SYSVOL folders) used outside gpo-extension', () => {
      expect(violations([edge('agent/policy/domain.ts', 'src/formats/gpt-ini/index.ts')]).map((v) => v.rule)).to.deep.equal(['gpo-layout-outside']);
      expect(violations([edge('src/cli/commands/gpo/show.ts', 'gpo-extension/layout.ts')]).map((v) => v.rule)).to.deep.equal(['gpo-layout-outside']);
      expect(violations([edge('gpo-extension/admin.ts', 'src/formats/gpt-ini/index.ts')])).to.deep.equal([]);
    });
  });
});
