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
 *   rule with a high finding (a program that starts a shell or writes any file, unpinned)
 *   is `risky`, and `ascend rules suggest --apply` never writes it unless it is selected.
 */
import { formatRule, ruleFromJson, ELEVATION_RULES_POLICY, type Rule } from './model.js';
import { normalizeArgs } from './normalize.js';
import { riskyProgram, type RiskKind } from './risk-catalog.js';
import { ruleFindings, type RuleFinding } from './risk.js';
import { compileWildcard, hasWildcard, matchWildcard } from './wildcard.js';

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
  /** What the program can do (risk catalogue), and whether `rules lint` flags the rule high. */
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

interface Group {
  program: string;
  head: string[];
  lines: Map<string, { tokens: string[]; runs: number }>;
  runs: DiscoveredRun[];
}

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

/** Proposes allow rules from discovered runs (see the module comment). */
export function suggestRules(runs: readonly DiscoveredRun[], options: SuggestOptions = {}): SuggestResult {
  const minUsers = options.minUsers ?? 1;
  const computerPattern = options.computer === undefined ? undefined : compileWildcard(options.computer.toLowerCase());
  const skipped = new Map<string, number>();
  const skip = (why: string): void => void skipped.set(why, (skipped.get(why) ?? 0) + 1);
  const groups = new Map<string, Group>();
  let counted = 0;
  for (const run of runs) {
    if (computerPattern !== undefined && !matchWildcard(computerPattern, (run.computer ?? '').toLowerCase())) continue;
    counted++;
    const program = run.processPath ?? '';
    if (!program.startsWith('/') && !/^[a-z]:\\/i.test(program)) {
      skip('the program is not an absolute path');
      continue;
    }
    if (hasWildcard(program)) {
      // A file named with * or ? would be a pattern in a rule's path: it would allow more programs.
      skip('the program path holds * or ?, which a rule reads as a wildcard');
      continue;
    }
    const tokens = argTokens(run.args);
    const { head, tail } = splitSubcommand(tokens);
    // A subcommand run without arguments is a group of its own: `restart *` does not match `restart`.
    const key = JSON.stringify([program, head, tail.length === 0]);
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { program, head, lines: new Map(), runs: [] }));
    const lineKey = tail.join(' ');
    const line = g.lines.get(lineKey);
    if (line === undefined) g.lines.set(lineKey, { tokens: tail, runs: 1 });
    else line.runs++;
    g.runs.push(run);
  }

  // Names and hashes are per program: a program's rules share its basis.
  const byProgram = new Map<string, DiscoveredRun[]>();
  for (const g of groups.values()) byProgram.set(g.program, [...(byProgram.get(g.program) ?? []), ...g.runs]);

  let skippedCovered = 0;
  let skippedMinUsers = 0;
  const made: Omit<Suggestion, 'index' | 'rule' | 'value' | 'findings' | 'risky'>[] = [];
  const matches: Rule['match'][] = [];
  for (const g of groups.values()) {
    const users = new Set(g.runs.map((r) => (r.user ?? '').toLowerCase()).filter((u) => u !== ''));
    const computers = new Set(g.runs.map((r) => (r.computer ?? '').toLowerCase()).filter((c) => c !== ''));
    const wouldAllow = g.runs.filter((r) => r.result === 'would-allow').length;
    if (!options.includeCovered && wouldAllow === g.runs.length) {
      skippedCovered++;
      continue;
    }
    if (users.size < minUsers) {
      skippedMinUsers++;
      continue;
    }
    const notes: string[] = [];
    const programRuns = byProgram.get(g.program) ?? g.runs;
    const latest = [...programRuns].sort((a, b) => timeOf(b.time) - timeOf(a.time));
    const publishers = new Set(programRuns.map((r) => r.publisher ?? ''));
    const hashes = new Set(programRuns.map((r) => (r.sha256 ?? '').toLowerCase()).filter((h) => /^[0-9a-f]{64}$/.test(h)));
    const publisher = publishers.size === 1 ? [...publishers][0] : undefined;
    const match: { path: string; publisher?: string; sha256?: string; args?: string } = { path: g.program };
    let basis: Suggestion['basis'];
    if (publisher !== undefined && /^deb:[a-z0-9][a-z0-9+.-]*$/.test(publisher)) {
      match.publisher = publisher;
      basis = 'publisher';
      notes.push(`dpkg's checksum matched on every run: the rule names package ${publisher.slice(4)}, so it survives updates and still refuses a modified file`);
    } else {
      const newest = latest.map((r) => (r.sha256 ?? '').toLowerCase()).find((h) => /^[0-9a-f]{64}$/.test(h));
      if (newest !== undefined) {
        match.sha256 = newest;
        basis = 'sha256';
        if (hashes.size > 1) notes.push(`${hashes.size} different SHA-256 values were seen for this program (updated or modified): the rule pins the latest; runs of the others would not match`);
        if (publishers.size > 1 && [...publishers].some((p) => p !== '')) notes.push('only some runs named a package (a modified file, or an older agent): pinned by hash instead');
      } else {
        basis = 'path';
        notes.push('no run reported the file\'s SHA-256: the rule names the path alone');
      }
    }
    const tails = [...g.lines.values()].map((l) => l.tokens);
    const { tokens, generalised } = tailPattern(tails);
    const argsTokens = [...g.head, ...tokens];
    match.args = argsTokens.map(patternToken).join(' ');
    if ([...g.head, ...tails.flat()].some((t) => hasWildcard(t))) notes.push('the command line holds * or ?, which the rule reads as wildcards: it matches more than was run');
    if (generalised) notes.push(`generalised from ${tails.length} different command lines`);
    const times = g.runs.map((r) => timeOf(r.time)).filter((t) => t > 0);
    const hit = riskyProgram(g.program.slice(g.program.lastIndexOf('/') + 1));
    made.push({
      program: g.program,
      subcommand: g.head.join(' '),
      basis,
      hashes: hashes.size,
      runs: g.runs.length,
      users: users.size,
      computers: computers.size,
      userNames: [...users].sort(),
      computerNames: [...computers].sort(),
      commandLines: g.lines.size,
      examples: [...g.lines.entries()].sort((a, b) => b[1].runs - a[1].runs).slice(0, 5).map(([, l]) => [...g.head, ...l.tokens].join(' ')),
      generalised,
      wouldAllow,
      firstSeen: times.length > 0 ? iso(Math.min(...times)) : null,
      lastSeen: times.length > 0 ? iso(Math.max(...times)) : null,
      riskKinds: hit ? [...hit.program.kinds] : [],
      notes,
    });
    matches.push(match);
  }

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
      risky: findings.some((f) => f.severity === 'high'),
      findings,
    });
  }
  return {
    runs: counted,
    suggestions,
    skippedCovered,
    skippedMinUsers,
    skippedRuns: [...skipped.values()].reduce((a, b) => a + b, 0),
    skipped: [...skipped.entries()].map(([why, n]) => `${n} run${n === 1 ? '' : 's'}: ${why}`),
  };
}
