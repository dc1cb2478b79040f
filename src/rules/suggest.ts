/**
 * Rule suggestions from discovered elevations (issue 19, pure: no I/O). `ascend rules suggest`
 * reads the collector's Discovery report (every elevation-discovered event) and hands the
 * rows here; this proposes allow rules:
 *
 * - One rule per program and subcommand. The subcommand is the start of the command line up
 *   to and including its first non-option word (`restart` in `systemctl restart nginx`).
 *   Options before that word stay in it literally: whether `-u` takes the next word as its
 *   value (`journalctl -u nginx`) cannot be told from the text, so the word after it is
 *   treated as a subcommand too, which only ever makes rules narrower. A first non-option
 *   that is not a plain word (a path, `key=value`) is an argument, not a subcommand.
 * - Arguments generalised where the same program and subcommand ran with different
 *   arguments: positions that differ become `*` when every command line has as many words,
 *   else everything after the subcommand is `*`. Never across subcommands: `systemctl
 *   restart x` and `systemctl mask x` give two rules. A subcommand run without arguments
 *   gets a rule of its own (`restart *` does not match `restart`).
 * - The program named by its full path and pinned by its Debian package (`publisher:
 *   deb:pkg`, which the agent only reports when dpkg's checksum matched the file) when every
 *   run says so, else by the SHA-256 of its latest run (several hashes are noted).
 * - Counts of runs, users and computers, and the findings `rules lint` gives the rule: a
 *   rule with a high finding (a program that starts a shell or writes any file, unpinned),
 *   and every generalised rule (its * matches any words, options included), is `risky`, and
 *   `ascend rules suggest --apply` never writes it unless it is selected.
 */
import { formatRule, ruleFromJson, ELEVATION_RULES_POLICY, type Rule } from './model.js';
import { normalizeArgs } from './normalize.js';
import { riskyProgram, type RiskKind } from './risk-catalog.js';
import { ruleFindings, type RuleFinding } from './risk.js';
import { compileWildcard, hasWildcard, matchWildcard, type Wildcard } from './wildcard.js';

/** One discovered run, as the Discovery report lists it (fields the report may leave null). */
export interface DiscoveredRun {
  time: number | string | null;
  computer: string | null;
  user: string | null;
  processPath: string | null;
  args: string | null;
  /** would-allow | would-deny | no-rule */
  result: string | null;
  publisher: string | null;
  sha256: string | null;
}

export interface SuggestOptions {
  /** Only rules that at least this many distinct users ran (default 1). */
  minUsers?: number;
  /** Only runs on computers matching this pattern (`*`, `?`, case-insensitive). */
  computer?: string;
  /** Also suggest rules for command lines the current rules already allowed every time. */
  includeCovered?: boolean;
}

export interface Suggestion {
  /** 1-based, in the order shown (most runs first): what --select takes. */
  index: number;
  /** The rule, as `rules add` would write it (action allow, list ElevationRules). */
  rule: { name: string; action: 'allow'; match: Rule['match']; description: string };
  /** The list value written (formatRule). */
  value: string;
  program: string;
  /** The literal start of the command line the rule keeps ("" when none). */
  subcommand: string;
  /** What pins the file: its package (publisher), its hash, or nothing but the path. */
  basis: 'publisher' | 'sha256' | 'path';
  /** Distinct SHA-256 values seen for the program. */
  hashes: number;
  runs: number;
  users: number;
  computers: number;
  userNames: string[];
  computerNames: string[];
  /** Distinct command lines the rule covers, and up to five of them. */
  commandLines: number;
  examples: string[];
  /** Whether the args pattern holds a `*` that stands for arguments that were seen to vary. */
  generalised: boolean;
  /** Runs the agent judged the rules it had would allow. */
  wouldAllow: number;
  firstSeen: string | null;
  lastSeen: string | null;
  /** What the program can do (risk catalogue); `risky`: `rules lint` flags the rule high, or it is generalised (written only when selected). */
  riskKinds: RiskKind[];
  risky: boolean;
  findings: RuleFinding[];
  notes: string[];
}

export interface SuggestResult {
  /** Runs read (after the computer filter). */
  runs: number;
  suggestions: Suggestion[];
  /** Groups left out: every run already allowed by the rules the agent had, or too few users. */
  skippedCovered: number;
  skippedMinUsers: number;
  /** Runs that name no usable program (no absolute path, or a path with * or ?), with why. */
  skippedRuns: number;
  skipped: string[];
}

/** A plain word: a subcommand candidate (`restart`, `install`, `show-config`). */
const WORD = /^[a-z][a-z0-9_-]*$/;

/** Splits normalised args (lower case, single spaces) into the subcommand head and the rest. */
export function splitSubcommand(tokens: readonly string[]): { head: string[]; tail: string[] } {
  let i = 0;
  while (i < tokens.length && (tokens[i] as string).startsWith('-')) i++;
  if (i < tokens.length && WORD.test(tokens[i] as string)) i++;
  return { head: tokens.slice(0, i), tail: tokens.slice(i) };
}

/** The words of a command line as the rule engine compares them (normalizeArgs, split). */
export function argTokens(args: string | null): string[] {
  const text = normalizeArgs(args ?? '');
  return text === '' ? [] : text.split(' ');
}

/**
 * One token as pattern text that normalizeArgs reads back as the same token: quoted when
 * it is empty or holds a quote (backslashes before a quote doubled, the quote escaped).
 */
export function patternToken(token: string): string {
  if (token !== '' && !token.includes('"')) return token;
  let out = '"';
  let slashes = 0;
  for (const c of token) {
    if (c === '\\') {
      slashes++;
      continue;
    }
    if (c === '"') out += `${'\\'.repeat(slashes * 2 + 1)}"`;
    else out += `${'\\'.repeat(slashes)}${c}`;
    slashes = 0;
  }
  return `${out}${'\\'.repeat(slashes * 2)}"`;
}

/** What is kept of a program and subcommand's runs: counts and sets, never the runs themselves. */
interface Group {
  program: string;
  head: string[];
  lines: Map<string, { tokens: string[]; runs: number }>;
  runs: number;
  users: Set<string>;
  computers: Set<string>;
  wouldAllow: number;
  first: number;
  last: number;
}

/** What is kept per program: its publishers and hashes, and the hash of its latest run. */
interface ProgramFacts {
  publishers: Set<string>;
  hashes: Set<string>;
  latestHash: string | undefined;
  latestTime: number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

function timeOf(v: DiscoveredRun['time']): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isFinite(t) ? t : 0;
  }
  return 0;
}

/** The args pattern for a group's distinct command lines after the head, and whether it generalised. */
function tailPattern(tails: readonly string[][]): { tokens: string[]; generalised: boolean } {
  const first = tails[0] ?? [];
  if (tails.length === 1) return { tokens: first, generalised: false };
  if (tails.every((t) => t.length === first.length)) {
    return { tokens: first.map((tok, i) => (tails.every((t) => t[i] === tok) ? tok : '*')), generalised: true };
  }
  return { tokens: ['*'], generalised: true };
}

/** A rule name from the program and subcommand: letters, digits and dashes. */
function ruleName(program: string, head: readonly string[], used: Set<string>): string {
  const base = program.slice(program.lastIndexOf('/') + 1);
  const words = [base, ...head.filter((h) => !h.startsWith('-'))].join('-');
  let stem = `discovered-${words.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')}`.slice(0, 100).replace(/-+$/, '');
  if (stem === 'discovered') stem = 'discovered-program';
  let name = stem;
  for (let n = 2; used.has(name); n++) name = `${stem}-${n}`;
  used.add(name);
  return name;
}

const iso = (t: number): string | null => (t > 0 && Number.isFinite(t) ? new Date(t).toISOString() : null);

/**
 * Collects discovered runs one at a time (a page of the report after another) and proposes
 * the rules at the end; it keeps counts and sets per program and subcommand, not the runs, so
 * its memory grows with the distinct command lines, not with the runs.
 */
export class RuleSuggester {
  private readonly computerPattern: Wildcard | undefined;
  private readonly skipped = new Map<string, number>();
  private readonly groups = new Map<string, Group>();
  private readonly programs = new Map<string, ProgramFacts>();
  private counted = 0;

  constructor(private readonly options: SuggestOptions = {}) {
    this.computerPattern = options.computer === undefined ? undefined : compileWildcard(options.computer.toLowerCase());
  }

  private skip(why: string): void {
    this.skipped.set(why, (this.skipped.get(why) ?? 0) + 1);
  }

  add(run: DiscoveredRun): void {
    if (this.computerPattern !== undefined && !matchWildcard(this.computerPattern, (run.computer ?? '').toLowerCase())) return;
    this.counted++;
    const program = run.processPath ?? '';
    if (!program.startsWith('/') && !/^[a-z]:\\/i.test(program)) {
      this.skip('the program is not an absolute path');
      return;
    }
    if (hasWildcard(program)) {
      // A file named with * or ? would be a pattern in a rule's path: it would allow more programs.
      this.skip('the program path holds * or ?, which a rule reads as a wildcard');
      return;
    }
    const time = timeOf(run.time);
    const tokens = argTokens(run.args);
    const { head, tail } = splitSubcommand(tokens);
    // A subcommand run without arguments is a group of its own: `restart *` does not match `restart`.
    const key = JSON.stringify([program, head, tail.length === 0]);
    let g = this.groups.get(key);
    if (g === undefined) {
      g = { program, head, lines: new Map(), runs: 0, users: new Set(), computers: new Set(), wouldAllow: 0, first: Infinity, last: 0 };
      this.groups.set(key, g);
    }
    const lineKey = tail.join(' ');
    const line = g.lines.get(lineKey);
    if (line === undefined) g.lines.set(lineKey, { tokens: tail, runs: 1 });
    else line.runs++;
    g.runs++;
    const user = (run.user ?? '').toLowerCase();
    if (user !== '') g.users.add(user);
    const computer = (run.computer ?? '').toLowerCase();
    if (computer !== '') g.computers.add(computer);
    if (run.result === 'would-allow') g.wouldAllow++;
    if (time > 0) {
      g.first = Math.min(g.first, time);
      g.last = Math.max(g.last, time);
    }
    // Names and hashes are per program: a program's rules share its basis.
    let p = this.programs.get(program);
    if (p === undefined) this.programs.set(program, (p = { publishers: new Set(), hashes: new Set(), latestHash: undefined, latestTime: -1 }));
    p.publishers.add(run.publisher ?? '');
    const hash = (run.sha256 ?? '').toLowerCase();
    if (SHA256_HEX.test(hash)) {
      p.hashes.add(hash);
      if (time >= p.latestTime) (p.latestHash = hash), (p.latestTime = time);
    }
  }

  /** The suggestions for every run added. */
  finish(): SuggestResult {
    const options = this.options;
    const minUsers = options.minUsers ?? 1;
    let skippedCovered = 0;
    let skippedMinUsers = 0;
    const made: Omit<Suggestion, 'index' | 'rule' | 'value' | 'findings' | 'risky'>[] = [];
    const matches: Rule['match'][] = [];
    for (const g of this.groups.values()) {
      if (!options.includeCovered && g.wouldAllow === g.runs) {
        skippedCovered++;
        continue;
      }
      if (g.users.size < minUsers) {
        skippedMinUsers++;
        continue;
      }
      const notes: string[] = [];
      const facts = this.programs.get(g.program) as ProgramFacts;
      const publisher = facts.publishers.size === 1 ? [...facts.publishers][0] : undefined;
      const match: { path: string; publisher?: string; sha256?: string; args?: string } = { path: g.program };
      let basis: Suggestion['basis'];
      if (publisher !== undefined && /^deb:[a-z0-9][a-z0-9+.-]*$/.test(publisher)) {
        match.publisher = publisher;
        basis = 'publisher';
        notes.push(`dpkg's checksum matched on every run: the rule names package ${publisher.slice(4)}, so it survives updates and still refuses a modified file`);
      } else if (facts.latestHash !== undefined) {
        match.sha256 = facts.latestHash;
        basis = 'sha256';
        if (facts.hashes.size > 1) notes.push(`${facts.hashes.size} different SHA-256 values were seen for this program (updated or modified): the rule pins the latest; runs of the others would not match`);
        if (facts.publishers.size > 1 && [...facts.publishers].some((x) => x !== '')) notes.push('only some runs named a package (a modified file, or an older agent): pinned by hash instead');
      } else {
        basis = 'path';
        notes.push("no run reported the file's SHA-256: the rule names the path alone");
      }
      const tails = [...g.lines.values()].map((l) => l.tokens);
      const { tokens, generalised } = tailPattern(tails);
      match.args = [...g.head, ...tokens].map(patternToken).join(' ');
      if ([...g.head, ...tails.flat()].some((t) => hasWildcard(t))) notes.push('the command line holds * or ?, which the rule reads as wildcards: it matches more than was run');
      if (generalised) notes.push(`generalised from ${tails.length} different command lines: each * stands for any words, options included, so it is only written when selected by name or number`);
      const hit = riskyProgram(g.program.slice(g.program.lastIndexOf('/') + 1));
      made.push({
        program: g.program,
        subcommand: g.head.join(' '),
        basis,
        hashes: facts.hashes.size,
        runs: g.runs,
        users: g.users.size,
        computers: g.computers.size,
        userNames: [...g.users].sort(),
        computerNames: [...g.computers].sort(),
        commandLines: g.lines.size,
        examples: [...g.lines.entries()].sort((a, b) => b[1].runs - a[1].runs).slice(0, 5).map(([, l]) => [...g.head, ...l.tokens].join(' ')),
        generalised,
        wouldAllow: g.wouldAllow,
        firstSeen: g.last > 0 ? iso(g.first) : null,
        lastSeen: g.last > 0 ? iso(g.last) : null,
        riskKinds: hit ? [...hit.program.kinds] : [],
        notes,
      });
      matches.push(match);
    }
    return this.ranked(made, matches, skippedCovered, skippedMinUsers);
  }

  private ranked(made: Omit<Suggestion, 'index' | 'rule' | 'value' | 'findings' | 'risky'>[], matches: Rule['match'][], skippedCovered: number, skippedMinUsers: number): SuggestResult {
    const skip = (why: string): void => this.skip(why);
    const order = made.map((_, i) => i).sort((a, b) => {
      const x = made[a] as (typeof made)[number];
      const y = made[b] as (typeof made)[number];
      return y.runs - x.runs || (x.program < y.program ? -1 : x.program > y.program ? 1 : 0) || (x.subcommand < y.subcommand ? -1 : x.subcommand > y.subcommand ? 1 : 0);
    });
    const used = new Set<string>();
    const suggestions: Suggestion[] = [];
    for (const i of order) {
      const s = made[i] as (typeof made)[number];
      const match = matches[i] as Rule['match'];
      const name = ruleName(s.program, s.subcommand === '' ? [] : s.subcommand.split(' '), used);
      const description = `Suggested from ${s.runs} run${s.runs === 1 ? '' : 's'} by ${s.users} user${s.users === 1 ? '' : 's'} on ${s.computers} computer${s.computers === 1 ? '' : 's'} (ascend rules suggest)`;
      let rule: Rule;
      try {
        // The rule model's own check: a rule it refuses is never suggested.
        rule = ruleFromJson(name, { action: 'allow', match, description }, ELEVATION_RULES_POLICY);
      } catch (e) {
        skip(`the rule would not parse (${(e as Error).message})`);
        continue;
      }
      const findings = ruleFindings(rule);
      suggestions.push({
        index: suggestions.length + 1,
        rule: { name, action: 'allow', match: rule.match, description },
        value: formatRule(rule),
        ...s,
        // A generalised * matches any words, options included (`iptables ... --modprobe=PROGRAM`, `logrotate -f FILE`): an admin chooses it by name, never by default.
        risky: s.generalised || findings.some((f) => f.severity === 'high'),
        findings,
      });
    }
    return {
      runs: this.counted,
      suggestions,
      skippedCovered,
      skippedMinUsers,
      skippedRuns: [...this.skipped.values()].reduce((a, b) => a + b, 0),
      skipped: [...this.skipped.entries()].map(([why, n]) => `${n} run${n === 1 ? '' : 's'}: ${why}`),
    };
  }
}

/** Proposes allow rules from discovered runs (see the module comment). */
export function suggestRules(runs: Iterable<DiscoveredRun>, options: SuggestOptions = {}): SuggestResult {
  const s = new RuleSuggester(options);
  for (const run of runs) s.add(run);
  return s.finish();
}
