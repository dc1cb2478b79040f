/**
 * The lean client (issue 16, Deliver 2): `ascend elevate`, `tse redeem|status` and `agent
 * status` run from dist/client/ascend-client.js without oclif, and answer exactly as the oclif
 * commands do. Each case runs twice as an unprivileged user against a real agent (root, a local
 * policy): through bin/run.js (the lean path) and through oclif's execute() directly (the
 * commands as oclif runs them); stdout, stderr and the exit status must be the same. A module
 * hook records what the lean path loads: no @oclif module, nothing from node_modules, and no
 * compiled command. --help still goes to oclif. Accounts: prefix `aslc`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { requireComponent } from '../support/components.js';
import { type ClientAgent, elevateCases, type Outcome, startClientAgent } from '../support/client-agent.js';
import { bin, requireBuiltCli, root } from '../passcode-cli/support.js';

const USER = 'aslcuser';
const PREFIX = 'aslc';

describe('lean client: the user commands without oclif, answering as oclif does (root, real agent)', function () {
  this.timeout(120_000);
  let tmp: string;
  /** Root's own folder (no world-writable parent), for the program a rule allows by path. */
  let rootOwned: string;
  let socket: string;
  let oclifEntry: string;
  let hook: string;
  let shared: ClientAgent | undefined;
  let agentLog = { text: '' };

  /** Runs the CLI as the user: through bin/run.js (lean) or oclif's execute() (oclif). */
  const asUser = (how: 'lean' | 'oclif', args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}, nodeArgs: readonly string[] = []): Promise<Outcome> =>
    (shared as ClientAgent).asUser([process.execPath, ...nodeArgs, how === 'lean' ? bin : oclifEntry, ...args], { env: extraEnv });

  /** Both paths, side by side; they must answer the same. */
  async function same(args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Outcome> {
    const [lean, oclif] = await Promise.all([asUser('lean', args, extraEnv), asUser('oclif', args, extraEnv)]);
    expect(lean, `${args.join(' ')}\n${agentLog.text.slice(-2000)}`).to.deep.equal(oclif);
    return lean;
  }

  /** The module URLs a lean run resolves, recorded by a resolve hook. */
  async function loaded(args: readonly string[]): Promise<{ outcome: Outcome; urls: string[] }> {
    const log = path.join(tmp, `loaded-${Math.random().toString(36).slice(2)}.log`);
    writeFileSync(log, '', { mode: 0o666 });
    chmodSync(log, 0o666);
    const outcome = await asUser('lean', args, { LEAN_TEST_LOG: log }, ['--import', pathToFileURL(hook).href]);
    return { outcome, urls: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
  }

  before(async function () {
    requireComponent(this, process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0, 'root with setpriv (the agent creates accounts)', 'run the tests as root; apt-get install util-linux');
    requireBuiltCli();
    if (!existsSync(path.join(root, 'dist', 'client', 'ascend-client.js'))) throw new Error('the lean client is not built: run "npm run build"');
    // The agent (root, a local policy allowing true, echo, printf with a reason and a root-owned
    // both.sh writing much to both streams) and the user, shared with test/cli/native-client.test.ts.
    shared = await startClientAgent({ user: USER, prefix: PREFIX, computer: 'LEAN-PC' });
    ({ tmp, rootOwned, socket } = shared);
    agentLog = shared.log;

    // oclif's own path to the same commands, as bin/run.js calls it when the lean client hands back.
    const oclifCore = pathToFileURL(createRequire(bin).resolve('@oclif/core')).href;
    oclifEntry = path.join(tmp, 'oclif-entry.mjs');
    writeFileSync(oclifEntry, `import { execute } from ${JSON.stringify(oclifCore)};\nawait execute({ dir: ${JSON.stringify(pathToFileURL(bin).href)}, args: process.argv.slice(2) });\n`, { mode: 0o644 });
    // Records every module URL resolved (the hook runs on its own thread and appends to a file).
    const resolveHook = path.join(tmp, 'resolve-hook.mjs');
    writeFileSync(resolveHook, "import { appendFileSync } from 'node:fs';\nexport async function resolve(specifier, context, next) {\n  const r = await next(specifier, context);\n  appendFileSync(process.env.LEAN_TEST_LOG, r.url + '\\n');\n  return r;\n}\n", { mode: 0o644 });
    hook = path.join(tmp, 'hook.mjs');
    writeFileSync(hook, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(resolveHook).href)});\n`, { mode: 0o644 });
  });

  after(async () => {
    await shared?.stop();
  });

  it('elevate: the same output, errors and exit status on both paths', async () => {
    expect((await same(['elevate', '--', '/usr/bin/true'])).status).to.equal(0);
    const echo = await same(['elevate', '--', 'echo', 'a', '-x', '--y', 'a']);
    expect(echo.stdout).to.equal('a -x --y a\n');
    await same(['elevate', '--socket', socket, '--', 'echo', '--socket']);
    await same(['elevate', `--socket=${socket}`, 'echo', 'plain']);
    const justified = await same(['elevate', '--justify', 'ticket 4711: a test', '--', 'printf', '%s|', 'x', 'y']);
    expect(justified.stdout).to.equal('x|y|');
    // Refusals and user errors: one line each (the table test/cli/native-client.test.ts shares).
    for (const args of elevateCases(tmp, socket).slice(5)) {
      const r = await same(args);
      expect(r.status, args.join(' ')).to.not.equal(0);
      expect(r.stderr.trimEnd().split('\n'), `${args.join(' ')}: ${r.stderr}`).to.have.length(1);
    }
  });

  it('elevate: every byte of the program on stdout and stderr arrives, then its exit status', async () => {
    const r = await same(['elevate', '--', path.join(rootOwned, 'both.sh')]);
    expect(r.status, r.stderr.slice(0, 500)).to.equal(3);
    const outLines = r.stdout.split('\n');
    const errLines = r.stderr.split('\n');
    expect(outLines).to.have.length(3001);
    expect(errLines).to.have.length(3001);
    expect(outLines[2999]).to.equal('out line 2999 ........................................');
    expect(errLines[2999]).to.equal('err line 2999');
  });

  it('tse redeem and tse status: the same lines, --json shapes and errors on both paths', async () => {
    const garbage = path.join(tmp, 'garbage.ascpass');
    writeFileSync(garbage, 'not a passcode\n', { mode: 0o644 });
    for (const args of [
      ['tse', 'status'],
      ['tse', 'status', '--json'],
      ['tse', 'status', '--socket', path.join(tmp, 'none.sock')],
      ['tse', 'status', '--json', '--socket', path.join(tmp, 'none.sock')],
      ['tse', 'status', '--bogus'],
      ['tse', 'status', '--json', '--bogus'],
      ['tse', 'status', '--', 'x'],
      ['tse', 'redeem', garbage],
      ['tse', 'redeem', garbage, '--json'],
      ['tse', 'redeem', path.join(tmp, 'missing.ascpass')],
      ['tse', 'redeem', path.join(tmp, 'missing.ascpass'), '--json'],
      ['tse', 'redeem', garbage, 'extra'],
      ['tse', 'redeem', '--nope', garbage],
      ['tse', 'redeem', tmp],
      ['tse', 'redeem', garbage, '--socket', path.join(tmp, 'none.sock')],
      ['tse', 'redeem'],
      ['tse', 'redeem', '--json'],
      ['tse', 'redeem', '--', '--json'],
      ['tse', 'redeem', '-1'],
      ['tse', 'status', 'now'],
    ]) {
      await same(args);
    }
    const status = await same(['tse', 'status', '--json']);
    expect(status.status).to.equal(0);
    expect(JSON.parse(status.stdout)).to.include({ user: USER });
    const refused = await same(['tse', 'redeem', garbage, '--json']);
    expect(refused.status).to.not.equal(0);
    expect(JSON.parse(refused.stdout)).to.have.nested.property('error.code');
  });

  it('agent status: the same lines, --json shape and errors on both paths', async () => {
    const text = await same(['agent', 'status']);
    expect(text.status).to.equal(0);
    expect(text.stdout).to.match(/^Agent on LEAN-PC \(pid \d+, since /);
    const json = await same(['agent', 'status', '--json']);
    expect(JSON.parse(json.stdout)).to.include({ computer: 'LEAN-PC' });
    await same(['agent', 'status'], { ASCEND_CONTENT_TYPE: 'json' });
    await same(['agent', 'status', '--json', '--json']);
    for (const args of [
      ['agent', 'status', '--socket', path.join(tmp, 'none.sock')],
      ['agent', 'status', '--json', '--socket', path.join(tmp, 'none.sock')],
      ['agent', 'status', '--socket'],
      ['agent', 'status', '--what'],
      ['agent', 'status', '--json', '--', 'x'],
      ['agent', 'status', '--json=true'],
      ['agent', 'status', '--socket='],
      ['agent', 'status', '--sock', socket],
      ['agent', 'status', '-'],
    ]) {
      const r = await same(args);
      expect(r.status, args.join(' ')).to.not.equal(0);
    }
  });

  it('a reader that closed its end of stdout ends the output quietly, as under oclif (no EPIPE stack trace)', async () => {
    const closedStdout = (how: 'lean' | 'oclif'): Promise<{ status: number | null; stderr: string }> =>
      new Promise((resolve) => {
        const entry = how === 'lean' ? bin : oclifEntry;
        const child = spawn('setpriv', ['--reuid', USER, '--regid', USER, '--init-groups', '--', process.execPath, entry, 'agent', 'status', '--json'], {
          cwd: tmp,
          env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: tmp, NO_COLOR: '1', ASCEND_AGENT_SOCKET: socket },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        // The reader goes away before the answer is written.
        child.stdout.destroy();
        const err: Buffer[] = [];
        child.stderr.on('data', (d: Buffer) => err.push(d));
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.on('close', (status) => {
          clearTimeout(timer);
          resolve({ status, stderr: Buffer.concat(err).toString() });
        });
      });
    const [lean, oclif] = await Promise.all([closedStdout('lean'), closedStdout('oclif')]);
    expect(lean.stderr, 'lean').to.equal('');
    expect(lean).to.deep.equal(oclif);
    expect(lean.status).to.equal(0);
  });

  it('loads no @oclif module, nothing from node_modules and no compiled command on the lean path', async () => {
    for (const args of [['elevate', '--', '/usr/bin/true'], ['tse', 'status'], ['agent', 'status', '--json'], ['tse', 'redeem', path.join(tmp, 'missing.ascpass')], ['elevate', '--bogus']]) {
      const { outcome, urls } = await loaded(args);
      expect(outcome.stderr, args.join(' ')).to.not.match(/TypeError|hook/i);
      expect(urls, args.join(' ')).to.include(pathToFileURL(path.join(root, 'dist', 'client', 'ascend-client.js')).href);
      const ours = urls.filter((u) => !u.startsWith('node:'));
      expect(ours, args.join(' ')).to.deep.equal([pathToFileURL(bin).href, pathToFileURL(path.join(root, 'dist', 'client', 'ascend-client.js')).href]);
    }
    // The same hook sees oclif when oclif answers: the check above can fail.
    const help = await loaded(['elevate', '--help']);
    expect(help.urls.some((u) => u.includes('/node_modules/@oclif/'))).to.equal(true);
  });

  it('--help and -h still go to oclif', async () => {
    for (const args of [['elevate', '--help'], ['elevate', '--socket', 'x', '--help', '--', 'true'], ['tse', 'redeem', '--help'], ['tse', 'status', '--help'], ['agent', 'status', '--help']]) {
      const r = await same(args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).to.equal(0);
      expect(r.stdout, args.join(' ')).to.match(/^USAGE/m);
    }
    // oclif reads -h as help only where it says so; the lean path hands it over and oclif answers.
    await same(['elevate', '-h', '--', '/usr/bin/true']);
    await same(['tse', 'status', '-h']);
    // After `--` it is the program's: elevate runs it.
    const prog = await same(['elevate', '--', 'echo', 'x', '--help']);
    expect(prog.stdout).to.equal('x --help\n');
  });
});
