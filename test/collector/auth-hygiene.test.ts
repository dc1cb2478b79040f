/**
 * Issue 13, finding 5, against a real collector (buildServer over a SqliteStore on 127.0.0.1):
 * - failed authentication is limited per client address before the credential is looked up
 *   (the store, wrapped to count its calls, is not touched once an address is over the limit;
 *   successes do not count);
 * - a token put in a URL's query string never reaches the server's log;
 * - CSV report cells that a spreadsheet could take for a formula are defused, and the CSV,
 *   opened with a real spreadsheet program (Gnumeric's ssconvert, Debian package gnumeric),
 *   has no formula cell. Under CI=true a missing ssconvert fails the suite.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { addressKey, FailureCounter } from '../../src/collector/server/auth-failures.js';
import { buildServer } from '../../src/collector/server/index.js';
import { SqliteStore } from '../../src/collector/storage/index.js';
import { commandWorks, requireComponent } from '../support/components.js';
import { caFetch } from '../support/tls.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const RUN = join(ROOT, 'bin', 'run.js');

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request from a chosen local address (127.0.0.x), so the collector sees that client address. */
function from(localAddress: string, url: string, path: string, token?: string): Promise<Answer> {
  return new Promise((done, fail) => {
    const u = new URL(url);
    const req = httpRequest(
      { host: u.hostname, port: u.port, path, method: 'GET', localAddress, headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (s: string) => (body += s));
        res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', fail);
    req.end();
  });
}

function code(a: Answer): string | undefined {
  try {
    return (JSON.parse(a.body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
  return `http://127.0.0.1:${addr.port}`;
}

const LOOKUPS = new Set(['findApiToken', 'findAgentByCredential']);

/** The store, counting the credential lookups (each a hash and a SELECT) made through it. */
function counting(store: SqliteStore): { store: SqliteStore; lookups: () => number } {
  let n = 0;
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      const fn = v as (...a: unknown[]) => unknown;
      return (...args: unknown[]) => {
        if (typeof prop === 'string' && LOOKUPS.has(prop)) n++;
        return fn.apply(target, args);
      };
    },
  });
  return { store: proxy, lookups: () => n };
}

describe('h4 auth hygiene: failed authentication limited per address, before the store', function () {
  this.timeout(60_000);
  let dir: string;
  let app: FastifyInstance;
  let url: string;
  let lookups: () => number;
  let viewer: string;
  const MAX = 5;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ascend-h4-auth-'));
    const real = await SqliteStore.open(join(dir, 'data'));
    viewer = (await real.createApiToken('viewer', 'h4 viewer')).token;
    const wrapped = counting(real);
    lookups = wrapped.lookups;
    app = buildServer({ store: wrapped.store, settings: { authMaxFailures: MAX, authFailureWindowMs: 60_000 } });
    url = await listen(app);
  });
  after(async () => {
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers 429 after the failures, without a lookup; successes do not count; other addresses go on', async () => {
    const A = '127.0.0.2';
    // Successes from the address, many of them: they count for nothing.
    for (let i = 0; i < 3 * MAX; i++) expect((await from(A, url, '/api/v1/whoami', viewer)).status).to.equal(200);
    // MAX made-up tokens (on admin and agent routes alike): each is looked up and refused.
    for (let i = 0; i < MAX; i++) {
      const path = i % 2 === 0 ? '/api/v1/whoami' : '/api/v1/agent/revocations';
      const r = await from(A, url, path, `made-up-${i}`);
      expect(r.status, r.body).to.equal(401);
      expect(code(r)).to.equal('ASC_COLLECTOR_UNAUTHENTICATED');
    }
    const before = lookups();
    // Over the limit: refused before the store is asked, whatever the credential and route.
    for (const [path, token] of [
      ['/api/v1/whoami', 'made-up-again'],
      ['/api/v1/agent/revocations', 'made-up-agent'],
      ['/api/v1/approvals', 'another-guess'],
    ] as const) {
      const r = await from(A, url, path, token);
      expect(r.status, `${path} ${r.body}`).to.equal(429);
      expect(code(r)).to.equal('ASC_COLLECTOR_RATE_LIMITED');
      expect(Number(r.headers['retry-after'])).to.be.within(1, 60);
    }
    expect(lookups(), 'credential lookups while the address is over its limit').to.equal(before);
    // A credential that authenticated lately still gets through the blocked address (one lookup):
    // made-up tokens from a neighbour on the same address (a local user, a NAT) lock nobody out.
    expect((await from(A, url, '/api/v1/whoami', viewer)).status).to.equal(200);
    expect(lookups()).to.equal(before + 1);

    // Another address is not affected.
    expect((await from('127.0.0.3', url, '/api/v1/whoami', viewer)).status).to.equal(200);
    expect((await from('127.0.0.3', url, '/api/v1/whoami', 'made-up-elsewhere')).status).to.equal(401);
  });

  it('counts an IPv6 client per /64 and an IPv4-mapped one as IPv4', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).to.equal(addressKey('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    expect(addressKey('2001:db8:1:2::1')).to.not.equal(addressKey('2001:db8:1:3::1'));
    expect(addressKey('::ffff:192.0.2.7')).to.equal('192.0.2.7');
    expect(addressKey('192.0.2.7')).to.equal('192.0.2.7');
  });

  it('keeps its memory bounded whatever number of addresses fail', () => {
    const counter = new FailureCounter(2, 60_000, 100);
    for (let i = 0; i < 5000; i++) {
      counter.fail(`198.51.${i >> 8}.${i & 255}`, 1000);
      counter.fail(`198.51.${i >> 8}.${i & 255}`, 1000);
    }
    expect((counter as unknown as { failures: Map<string, number[]> }).failures.size).to.be.at.most(101);
    // The latest addresses are still remembered, and blocked.
    expect(counter.blockedFor('198.51.19.135', 1001)).to.be.greaterThan(0);
  });

  it('limits made-up tokens by default too', async () => {
    const d = mkdtempSync(join(tmpdir(), 'ascend-h4-auth-default-'));
    const wrapped = counting(await SqliteStore.open(join(d, 'data')));
    const server = buildServer({ store: wrapped.store });
    try {
      const u = await listen(server);
      let limited = 0;
      for (let i = 0; i < 200 && limited === 0; i++) if ((await from('127.0.0.4', u, '/api/v1/whoami', `guess-${i}`)).status === 429) limited = i;
      expect(limited, 'made-up tokens before a 429').to.be.within(1, 100);
      expect(wrapped.lookups()).to.equal(limited);
    } finally {
      await server.close();
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('h4 auth hygiene: query strings are not logged', function () {
  this.timeout(30_000);

  it('logs the path with every query value replaced, and no secret anywhere in the log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ascend-h4-log-'));
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.setEncoding('utf8').on('data', (s: string) => lines.push(...s.split('\n').filter((l) => l !== '')));
    const store = await SqliteStore.open(join(dir, 'data'));
    const viewer = (await store.createApiToken('viewer', 'h4 log viewer')).token;
    const app = buildServer({ store, logger: { level: 'info', stream } });
    try {
      const url = await listen(app);
      const SECRETS = ['h4SECRETone', 'h4SECRETtwo', 'h4SECRETthree', 'h4SECRETfour', viewer];
      const tries: [string, string | undefined][] = [
        [`/api/v1/reports/elevations?token=${SECRETS[0]}&format=json`, viewer],
        [`/api/v1/reports/elevations?format=json&${SECRETS[1]}`, viewer],
        [`/no/such/route?access_token=${SECRETS[2]}`, undefined],
        [`/api/v1/whoami?token=${SECRETS[3]}`, viewer],
        [`/api/v1/whoami?t=${SECRETS[4]}`, undefined],
      ];
      const statuses: number[] = [];
      for (const [path, token] of tries) statuses.push((await from('127.0.0.1', url, path, token)).status);
      // A message that quotes a URL (as some of fastify's warnings do) and an error carrying one.
      app.log.warn(`Reply was already sent for "/api/v1/whoami?token=${SECRETS[3]}"`);
      app.log.error({ err: new Error(`bad /api/v1/x?k=${SECRETS[2]}`) }, 'failed');
      // Unknown parameters are refused (400); without a token, 401.
      expect(statuses).to.deep.equal([400, 400, 404, 400, 401]);
      await app.close();
      const log = lines.join('\n');
      expect(lines.length).to.be.greaterThan(0);
      for (const s of SECRETS) expect(log, `the log holds ${s}`).to.not.include(s);
      const urls = lines.map((l) => (JSON.parse(l) as { req?: { url?: string } }).req?.url).filter((u): u is string => u !== undefined);
      expect(urls).to.include('/api/v1/reports/elevations?[redacted]=[redacted]&format=[redacted]');
      expect(urls).to.include('/api/v1/reports/elevations?format=[redacted]&[redacted]=[redacted]');
      expect(urls).to.include('/no/such/route?[redacted]=[redacted]');
      expect(log).to.include('Reply was already sent for \\"/api/v1/whoami?[redacted]');
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('h4 auth hygiene: query strings are not in the log of `ascend server start`', function () {
  this.timeout(90_000);
  let dir: string;
  let child: ChildProcess | undefined;

  before(function () {
    if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'commands', 'server', 'start.js'))) throw new Error('the CLI is not built: run "npm run build"');
    dir = mkdtempSync(join(tmpdir(), 'ascend-h4-start-'));
  });
  after(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('logs each request with its query values replaced', async () => {
    const data = join(dir, 'data');
    const proc = spawn(process.execPath, [RUN, 'server', 'start', '--port', '0', '--data', data], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ASCEND_LOG_LEVEL: 'info' } });
    child = proc;
    let stdout = '';
    let stderr = '';
    proc.stderr?.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    const exited = new Promise<void>((done) => proc.on('exit', () => done()));
    const url = await new Promise<string>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`no URL printed in 60 s; stdout: ${stdout}; stderr: ${stderr}`)), 60_000);
      proc.stdout?.setEncoding('utf8').on('data', (t: string) => {
        stdout += t;
        const m = /listening on (https?:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
        if (m?.[1] && /Bootstrap admin token written to (\S+)/.test(stdout)) {
          clearTimeout(timer);
          done(m[1]);
        }
      });
      proc.on('exit', (code) => fail(new Error(`exited ${code}: ${stderr}`)));
    });
    const admin = readFileSync(join(data, 'bootstrap-admin-token'), 'utf8').trim();
    const caFile = join(data, 'tls', 'ca.pem');
    const get = url.startsWith('https:') ? caFetch(readFileSync(caFile, 'utf8')) : (u: string, init?: { headers?: Record<string, string> }) => fetch(u, init);
    const secret = 'h4STARTsecret';
    expect((await get(`${url}/api/v1/reports/denied?format=json&token=${secret}1`, { headers: { authorization: `Bearer ${admin}` } })).status).to.equal(400);
    expect((await get(`${url}/api/v1/reports/denied?format=json`, { headers: { authorization: `Bearer ${admin}` } })).status).to.equal(200);
    expect((await get(`${url}/api/v1/health?${secret}2`)).status).to.equal(400);
    proc.kill('SIGTERM');
    await exited;
    expect(stderr).to.not.include(secret);
    expect(stderr).to.not.include(admin);
    expect(stderr).to.include('"url":"/api/v1/reports/denied?format=[redacted]&[redacted]=[redacted]"');
    expect(stderr).to.include('"url":"/api/v1/health?[redacted]=[redacted]"');
  });
});

// ---- CSV with a real spreadsheet

const SOFFICE = 'soffice';
/**
 * LibreOffice's CSV import, set as hostile as its dialog allows: comma-separated, "quoted
 * field as text" off, "trim spaces" on, "evaluate formulas" on (tokens 7, 11 and 13).
 */
const CSV_IMPORT = 'CSV:44,34,76,1,,0,false,true,false,false,true,-1,true';

/** Text values an agent could put in a report field, each one a formula in some spreadsheet unless defused. */
const HOSTILE = [
  '=1+1',
  '+1+1',
  '-1+1',
  '@SUM(1,1)',
  '\t=1+1',
  '\r=1+1',
  '\n=1+1',
  ' =1+1',
  '   =HYPERLINK("http://x.example","y")',
  ' \n =1+1',
  '\u00a0=1+1',
  '\u3000=1+1',
  '\u200b=1+1',
  '\ufeff=1+1',
  '\uff1d1+1',
  '\uff0b1+1',
  '\uff0d1+1',
  '\uff20SUM(1,1)',
  '\ufe661+1',
  ' \uff1d1+1',
  '\u22121+1',
  "=cmd|' /C calc'!A0",
];
/** Values that are not formulas and must arrive unchanged. */
const BENIGN = ['alice', 'a=b', 'x-1', 'C:\\Program Files\\App\\setup.exe', "it's"];

/** RFC 4180 fields of a CSV text (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

interface SheetCell {
  /** The formula, when the spreadsheet made one of the cell. */
  formula: string | undefined;
  text: string;
}

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#(\d+)|#x([0-9a-fA-F]+));/g, (_m, name: string, dec?: string, hex?: string) =>
    dec !== undefined ? String.fromCodePoint(Number(dec)) : hex !== undefined ? String.fromCodePoint(Number.parseInt(hex, 16)) : (({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }) as Record<string, string>)[name] ?? '',
  );
}

/** The text of an ODF cell: its paragraphs, with the elements that stand for spaces, tabs and line breaks. */
function odfText(inner: string): string {
  const paragraphs = [...inner.matchAll(/<text:p(?:\s[^>]*)?>([\s\S]*?)<\/text:p>|<text:p(?:\s[^>]*)?\/>/g)].map((m) =>
    unescapeXml(
      (m[1] ?? '')
        .replace(/<text:s\s+text:c="(\d+)"\s*\/>/g, (_x, n: string) => ' '.repeat(Number(n)))
        .replace(/<text:s\s*\/>/g, ' ')
        .replace(/<text:tab\s*\/>/g, '\t')
        .replace(/<text:line-break\s*\/>/g, '\n')
        .replace(/<[^>]+>/g, ''),
    ),
  );
  return paragraphs.join('\n');
}

/** Opens the CSV with LibreOffice (headless) and returns its rows of cells as the spreadsheet holds them. */
function openInLibreOffice(csvFile: string, outDir: string): SheetCell[][] {
  const profile = join(outDir, 'lo-profile');
  const r = spawnSync(SOFFICE, ['--headless', '--norestore', `-env:UserInstallation=file://${profile}`, `--infilter=${CSV_IMPORT}`, '--convert-to', 'fods', '--outdir', outDir, csvFile], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, HOME: outDir },
  });
  expect(r.status, `${r.stdout}${r.stderr}`).to.equal(0);
  const xml = readFileSync(join(outDir, `${basename(csvFile, '.csv')}.fods`), 'utf8');
  const rows: SheetCell[][] = [];
  for (const row of xml.matchAll(/<table:table-row\b[^>]*>([\s\S]*?)<\/table:table-row>/g)) {
    const cells: SheetCell[] = [];
    for (const c of (row[1] ?? '').matchAll(/<table:table-cell\b([^>]*?)(?:\/>|>([\s\S]*?)<\/table:table-cell>)/g)) {
      const attrs = c[1] ?? '';
      const repeated = Number(/table:number-columns-repeated="(\d+)"/.exec(attrs)?.[1] ?? '1');
      const formula = /table:formula="([^"]*)"/.exec(attrs)?.[1];
      const cell = { formula: formula === undefined ? undefined : unescapeXml(formula), text: odfText(c[2] ?? '') };
      for (let i = 0; i < Math.min(repeated, 64); i++) cells.push(cell);
    }
    rows.push(cells);
  }
  return rows;
}

describe('h4 auth hygiene: CSV cells cannot become formulas', function () {
  this.timeout(180_000);
  let dir: string;
  let app: FastifyInstance;
  let url: string;
  let viewer: string;

  before(async function () {
    requireComponent(this, commandWorks(SOFFICE, ['--version']), 'LibreOffice Calc (soffice)', 'apt-get install --no-install-recommends libreoffice-calc-nogui');
    dir = mkdtempSync(join(tmpdir(), 'ascend-h4-csv-'));
    const store = await SqliteStore.open(join(dir, 'data'));
    viewer = (await store.createApiToken('viewer', 'h4 csv viewer')).token;
    const { token } = await store.createEnrollmentToken({ uses: 1 });
    const agentId = (await store.enrollAgent(token, 'H4-CSV-PC')).agent.id;
    const T0 = Date.parse('2026-03-02T09:00:00Z');
    // Each value as the user and as the arguments (the agent writes both).
    const values = [...HOSTILE, ...BENIGN];
    await store.insertEvents(
      agentId,
      values.map((v, i) => ({ id: `h4-e${i}`, type: 'process-elevated', time: T0 + i * 1000, user: v, processPath: '/usr/bin/id', args: v, elevatedBy: 'rule' })),
    );
    app = buildServer({ store });
    url = await listen(app);
  });
  after(async () => {
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('defuses every formula start (also after spaces and line breaks, and in full width); LibreOffice makes no formula and shows the mark', async () => {
    const r = await fetch(`${url}/api/v1/reports/elevations?format=csv`, { headers: { authorization: `Bearer ${viewer}` } });
    expect(r.status).to.equal(200);
    const csv = await r.text();

    // The fields as sent: each hostile one starts with the apostrophe that marks text; the benign ones are unchanged.
    const rows = parseCsv(csv);
    const header = rows[0] ?? [];
    const argsCol = header.indexOf('args');
    const userCol = header.indexOf('user');
    expect(argsCol).to.be.greaterThan(-1);
    const data = rows.slice(1);
    expect(data).to.have.length(HOSTILE.length + BENIGN.length);
    HOSTILE.forEach((v, i) => {
      expect(data[i]?.[argsCol], `args ${JSON.stringify(v)}`).to.equal(`'${v}`);
      expect(data[i]?.[userCol], `user ${JSON.stringify(v)}`).to.equal(`'${v}`);
    });
    BENIGN.forEach((v, i) => expect(data[HOSTILE.length + i]?.[argsCol], JSON.stringify(v)).to.equal(v));

    // A real spreadsheet opens it, with formulas evaluated and spaces trimmed: no cell is a
    // formula, and each hostile cell is text that starts with the apostrophe (so it stays
    // text when edited, and in spreadsheets that skip leading spaces or fold full-width forms).
    const csvFile = join(dir, 'elevations.csv');
    writeFileSync(csvFile, csv);
    const sheet = openInLibreOffice(csvFile, dir);
    const formulas = sheet.flat().filter((c) => c.formula !== undefined);
    expect(formulas, `formula cells: ${JSON.stringify(formulas)}`).to.deep.equal([]);
    expect(sheet[0]?.[argsCol]?.text).to.equal('args');
    HOSTILE.forEach((v, i) => {
      const cell = sheet[i + 1]?.[argsCol];
      // As sent (LibreOffice keeps the apostrophe as text; a CR inside a cell becomes a line break).
      expect(cell?.text, `the sheet's cell for ${JSON.stringify(v)}`).to.equal(`'${v.replace(/\r/g, '\n')}`);
      expect(sheet[i + 1]?.[userCol]?.text, `the sheet's user cell for ${JSON.stringify(v)}`).to.match(/^'/);
    });
  });
});
