/**
 * Risk findings of elevation rules (pure): rules that allow a program which can start a
 * shell, write any file or run the working folder's code (risk-catalog.ts) without pinning
 * what it may do, rules that allow more programs than they seem to, allow rules that rest
 * on a parent process, and deny rules on argument text, which other spellings get past.
 * `rules lint|add|list|test` print these, and the agent logs them when it loads a policy.
 *
 * "Pinned" is decided on the rule text alone, soundly rather than cleverly: an args pattern
 * pins a command line only when it holds no `*` and no `?` (either can stand for a space
 * and with it for more arguments: `-exec sh`, `--to-command=sh`, `-o ProxyCommand=...`).
 * For shells and interpreters "" (no arguments) does not pin either: without arguments they
 * read commands from the user. Pagers, editors and programs that read their working folder
 * (make, npm, git ...) are risky whatever the arguments.
 */
import { isDebPublisher, type Rule, type RuleList } from './model.js';
import type { RuleProblem } from './policy.js';
import { normalizeArgs, normalizePathPattern } from './normalize.js';
import { compileWildcard, hasWildcard, matchWildcard } from './wildcard.js';
import { nameVariants, RISKY_NAMES, riskyProgram, type RiskKind, type RiskyProgram } from './risk-catalog.js';

export const RISK_SEVERITIES = ['high', 'medium', 'low'] as const;
export type RiskSeverity = (typeof RISK_SEVERITIES)[number];

/** The stable codes of findings, with what each means. */
export const RISK_CODES = {
  RISK_SHELL_ESCAPE: 'An allow rule for a program that can start a shell or run any command, without a command line that pins it.',
  RISK_WRITE_ANY_FILE: 'An allow rule for a program that can write or replace any file, without a command line that pins it.',
  RISK_WORKING_FOLDER: "An allow rule for a program that loads code or configuration from its working folder, the user's folder.",
  RISK_WILDCARD_PROGRAM: 'An allow rule whose path pattern also matches programs that start a shell, write any file or run the working folder.',
  RISK_ANY_PROGRAM: 'An allow rule that names no program (only arguments): any program matches.',
  RISK_PUBLISHER_ONLY: 'An allow rule on a publisher alone: every program that publisher signs (or that Debian package installs, for deb:), shells included.',
  RULE_PARENT_NEVER_ALLOWS: 'An allow rule with a parent condition: it allows nothing on its own, it only adds its controls.',
  RISK_DENY_ARGS: 'A deny rule on argument text: other spellings of the same command line get past it.',
  RISK_DENY_NAME_NOT_ID: 'A deny rule that names a user or group in the arguments of a program that also takes numeric ids.',
  RULE_INVALID: 'A stored rule that does not parse: agents skip it.',
} as const;
export type RiskCode = keyof typeof RISK_CODES;

export interface RuleFinding {
  readonly severity: RiskSeverity;
  readonly code: RiskCode;
  /** The rule's name and list, and where it came from when known. */
  readonly rule: string;
  readonly list: RuleList;
  readonly source?: string;
  /** One line: what is wrong. */
  readonly message: string;
  /** One line: what to do instead. */
  readonly suggestion: string;
}

const RANK: Record<RiskSeverity, number> = { high: 0, medium: 1, low: 2 };

/** Whether `severity` is at `threshold` or above (high > medium > low). */
export function severityAtLeast(severity: RiskSeverity, threshold: RiskSeverity): boolean {
  return RANK[severity] <= RANK[threshold];
}

const SAMPLE = 6;

function sample(names: readonly string[]): string {
  return names.length <= SAMPLE ? names.join(', ') : `${names.slice(0, SAMPLE).join(', ')} and ${names.length - SAMPLE} more`;
}

const quote = (s: string): string => JSON.stringify(s);

const ABSOLUTE = /^(\/|\\|[a-z]:[\\/])/;
const DOT_SEGMENT = /(^|[\\/])\.\.?([\\/]|$)/;

/**
 * Options an interpreter may get before its absolute script path and still be pinned: ones
 * that take no value and start no code in every catalogued interpreter (args are compared
 * in lower case, so `-x`/`-X`, `-w`/`-W`, `-s`, `-i`, `-e`/`-E`, `-I` are not among them:
 * python -X and -W take a value, bash -s reads stdin, perl -E and -I do not pin).
 */
const SAFE_BEFORE_SCRIPT = new Set(['--', '-u', '-b', '-noprofile', '-nologo', '-noninteractive', '-file', '-jar']);

/** The catalogued shell or interpreter a token names (`bash`, `/bin/sh`, `-exec=sh`), or undefined. */
function shellNamedBy(token: string): string | undefined {
  for (const t of [token, token.slice(token.lastIndexOf('=') + 1)]) {
    const base = t.slice(Math.max(t.lastIndexOf('/'), t.lastIndexOf('\\')) + 1).replace(/^["']+|["';]+$/g, '');
    if (base.length === 0) continue;
    const hit = riskyProgram(base);
    if (hit && hit.program.when === 'bare' && hit.program.kinds.includes('shell')) return hit.name;
  }
  return undefined;
}

/**
 * Why a literal command line still does not pin the program, or undefined when it does:
 * a token with a `.` or `..` path segment names a file of the user's working folder (what
 * runs or is copied is the user's file); a program that runs commands (env, sudo, find,
 * screen ...) must not be handed a shell or interpreter in its arguments (`env bash`,
 * `sudo -u root /bin/bash`, `find / -exec sh ;`); and an interpreter must get an absolute
 * script path, before which only options from SAFE_BEFORE_SCRIPT may stand: inline code
 * (`-c`, `-e`, `-m`), an option's value taken for the script (`perl -I /usr/lib -de 0`,
 * `bash --rcfile /etc/x -i`) and relative scripts (the user's folder supplies the script or
 * its modules: python -c puts the working folder first on sys.path) do not pin.
 */
function unpinnedBy(args: string, program: RiskyProgram): string | undefined {
  const tokens = normalizeArgs(args).split(' ').filter((t) => t.length > 0);
  const dotted = tokens.find((t) => DOT_SEGMENT.test(t));
  if (dotted !== undefined) return `its args name ${quote(dotted)}, a path in the user's working folder`;
  const escape = program.escapes === undefined ? undefined : tokens.find((t) => (program.escapes as readonly string[]).includes(t));
  if (escape !== undefined) return `its args hold ${quote(escape)}, which opens an editor or a pager (a shell escape) or installs a package file, however pinned`;
  if (program.kinds.includes('shell')) {
    const shell = tokens.map(shellNamedBy).find((n) => n !== undefined);
    if (shell !== undefined) return `its args start ${shell}, a shell or interpreter (give it a rule of its own, pinned)`;
  }
  if (program.when === 'bare') {
    const script = tokens.findIndex((t) => !SAFE_BEFORE_SCRIPT.has(t));
    if (script < 0 || !ABSOLUTE.test(tokens[script] as string)) {
      return 'its args give inline code, an option, or a script that is not an absolute path, so the user supplies the commands, the script or its modules';
    }
  }
  return undefined;
}

/** The finding for an allow rule whose file name is a catalogued program, or none when the rule pins it. */
function programFinding(rule: Rule, name: string, program: RiskyProgram): Omit<RuleFinding, 'rule' | 'list' | 'source'> | undefined {
  const args = rule.match.args;
  const wild = args !== undefined && hasWildcard(args);
  const empty = args !== undefined && normalizeArgs(args) === '';
  const pinnedText = args !== undefined && !wild && !(program.when === 'bare' && empty);
  const loose = pinnedText ? unpinnedBy(args, program) : undefined;
  if (program.when !== 'always' && pinnedText && loose === undefined) return undefined;
  const has = (k: RiskKind): boolean => program.kinds.includes(k);
  const code: RiskCode = has('reads-working-folder') ? 'RISK_WORKING_FOLDER' : has('shell') ? 'RISK_SHELL_ESCAPE' : 'RISK_WRITE_ANY_FILE';
  let why: string;
  if (code === 'RISK_WORKING_FOLDER') why = "it starts in the user's folder, so the user's own files run with the elevated rights, whatever the arguments";
  else if (program.when === 'always') why = 'pinning its arguments does not help';
  else if (args === undefined) why = 'no args pattern pins its command line';
  else if (wild) why = `the * or ? in its args pattern ${quote(args)} can carry further arguments`;
  else if (empty) why = 'with no arguments it reads commands from the user';
  else why = loose ?? 'its command line is not pinned';
  const suggestion =
    code === 'RISK_WORKING_FOLDER'
      ? 'allow a root-owned wrapper script that changes to a root-owned folder and runs the one fixed command, not the tool itself'
      : program.when === 'always'
        ? 'allow a root-owned wrapper script that does the one task, or use a TSE session for interactive work'
        : 'pin the whole command line with an args pattern without * or ? whose paths are absolute (e.g. --args "restart nginx", or bash with --args /opt/tools/task.sh), or allow a root-owned wrapper script';
  return { severity: 'high', code, message: `allows ${name}, which ${program.reason}: ${why}`, suggestion };
}

/** Words of an args pattern that look like account or group names (not options, not wildcards). */
function namesIn(args: string): string[] {
  const out = new Set<string>();
  for (const token of normalizeArgs(args).split(/[\s*?,:=]+/)) {
    if (token.length >= 2 && /^[a-z_][a-z0-9_.$-]*$/.test(token)) out.add(token);
  }
  return [...out];
}

/** The findings of one rule (none for a rule with nothing to flag). */
export function ruleFindings(rule: Rule): RuleFinding[] {
  const out: RuleFinding[] = [];
  const add = (f: Omit<RuleFinding, 'rule' | 'list' | 'source'>): void => {
    out.push({ severity: f.severity, code: f.code, rule: rule.name, list: rule.list, ...(rule.source !== undefined ? { source: rule.source } : {}), message: f.message, suggestion: f.suggestion });
  };
  const m = rule.match;
  const path = m.path === undefined ? undefined : normalizePathPattern(m.path);
  const fileName = path === undefined ? undefined : path.slice(path.lastIndexOf('\\') + 1);

  if (rule.action === 'allow') {
    if (m.parent !== undefined) {
      add({
        severity: rule.controls.length > 0 ? 'low' : 'medium',
        code: 'RULE_PARENT_NEVER_ALLOWS',
        message:
          rule.controls.length > 0
            ? `allows nothing on its own: a parent condition only restricts, so its controls (${rule.controls.join(', ')}) are added when another rule allows the program`
            : 'allows nothing on its own: a parent condition only restricts, and this rule carries no controls, so it has no effect',
        suggestion: 'the parent runs as the user and can be forged (LD_PRELOAD into the launcher): allow the program in a rule without a parent, and keep parent conditions for deny rules or extra controls',
      });
      return out;
    }
    if (fileName === undefined && m.sha256 === undefined) {
      if (m.publisher !== undefined && isDebPublisher(m.publisher)) {
        // A package publisher alone: every program the package(s) installed, root shells and editors of coreutils, bash, vim ... included.
        const any = hasWildcard(m.publisher);
        add({
          severity: any ? 'high' : 'medium',
          code: 'RISK_PUBLISHER_ONLY',
          message: any
            ? `allows every program of every installed package ${quote(m.publisher)} matches, shells, editors and interpreters included`
            : `allows every program package ${quote(m.publisher.trim().slice(4))} installed (a package often holds programs that start a shell or write any file)`,
          suggestion: 'add a path (and an args pattern) so the rule names the program; the package publisher then keeps a modified copy out',
        });
      } else if (m.publisher !== undefined) {
        add({
          severity: 'low',
          code: 'RISK_PUBLISHER_ONLY',
          message: `allows every program signed by ${quote(m.publisher)}, shells and script hosts included`,
          suggestion: 'add a path (and an args pattern) so the rule names the program',
        });
      } else {
        add({ severity: 'high', code: 'RISK_ANY_PROGRAM', message: 'names no program: any program whose command line matches is allowed, shells included', suggestion: 'add a path or a SHA-256 that names the program' });
      }
      return out;
    }
    if (fileName === undefined) return out; // a hash alone names one file; what it is cannot be told here
    if (hasWildcard(fileName)) {
      const w = compileWildcard(fileName);
      const hits = RISKY_NAMES.filter((n) => nameVariants(n).some((v) => matchWildcard(w, v)));
      if (hits.length > 0) {
        add({
          severity: 'high',
          code: 'RISK_WILDCARD_PROGRAM',
          message: `allows every program its path pattern ${quote(m.path as string)} matches, among them programs that start a shell, write any file or run the working folder's code (${sample(hits)})`,
          suggestion: 'name each program by its full path and pin its arguments; a wildcard allows whatever program the pattern reaches',
        });
      }
      return out;
    }
    const hit = riskyProgram(fileName);
    const f = hit && programFinding(rule, hit.name, hit.program);
    if (f) add(f);
    return out;
  }

  // Deny rules.
  if (m.args !== undefined) {
    const program = fileName !== undefined && !hasWildcard(fileName) ? riskyProgram(fileName) : undefined;
    const unknownProgram = fileName === undefined || hasWildcard(fileName);
    const names = namesIn(m.args);
    if (names.length > 0 && (program?.program.takesIds === true || unknownProgram)) {
      add({
        severity: 'high',
        code: 'RISK_DENY_NAME_NOT_ID',
        message: `names ${sample(names)} in its args pattern, but ${program ? program.name : 'a program it matches'} also takes numeric ids and SIDs (usermod -a -G 27 adds to the sudo group on Debian), which the pattern does not match`,
        suggestion: 'a denylist on argument text cannot catch every spelling: allow only the exact command lines users need (allow rules with pinned args) instead of denying some',
      });
    } else {
      add({
        severity: 'medium',
        code: 'RISK_DENY_ARGS',
        message: `denies by argument text (${quote(m.args)}), which other spellings get past: numeric ids, abbreviated or reordered options, --opt=value, quoting, or another program doing the same`,
        suggestion: 'treat it as a speed bump, not a control: allow only the exact command lines users need (allow rules with pinned args)',
      });
    }
  }
  return out;
}

/** The finding for a stored value that is not a valid rule. */
export function problemFinding(p: RuleProblem): RuleFinding {
  return {
    severity: 'high',
    code: 'RULE_INVALID',
    rule: p.name,
    list: p.list,
    ...(p.source !== undefined ? { source: p.source } : {}),
    message: `does not parse and is skipped by agents: ${p.message}`,
    suggestion: 'fix or remove it: a deny rule that does not parse denies nothing',
  };
}

/** Every finding of a rule set (and of the stored values that did not parse), most severe first, in rule order within a severity. */
export function lintRules(rules: readonly Rule[], problems: readonly RuleProblem[] = []): RuleFinding[] {
  const all = [...problems.map(problemFinding), ...rules.flatMap(ruleFindings)];
  return all.map((f, i) => ({ f, i })).sort((a, b) => RANK[a.f.severity] - RANK[b.f.severity] || a.i - b.i).map((x) => x.f);
}

/** Control characters (C0, DEL, C1, line and paragraph separators) as \uXXXX, so a line stays one line. */
export function escapeControls(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A finding as one line (for stderr and the agent's log), control characters escaped. */
export function findingLine(f: RuleFinding): string {
  return escapeControls(`${f.severity} ${f.code}: ${f.list} rule ${quote(f.rule)}${f.source !== undefined ? ` (${f.source})` : ''} ${f.message}; ${f.suggestion}`);
}
