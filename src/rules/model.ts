/**
 * The elevation rule model and its strict JSON form.
 *
 * A rule is one value of the ElevationRules or BlacklistRules list: the value name is the
 * rule's name and the value data is the rule as JSON:
 *
 *   {"action":"allow",
 *    "match":{"path":"C:\\Windows\\System32\\net.exe","args":"user *"},
 *    "target":{"groups":["CORP\\Helpdesk"],"computers":["PC-*"]},
 *    "controls":["mfa"]}
 *
 * Parsing refuses anything it does not know (an unknown field, a wrong type, an empty
 * pattern list entry ...) with a RuleParseError naming the rule and the field, so a typo
 * never turns into a rule that silently matches more or less than its author meant.
 */
import { AscendError } from '../errors.js';

export const RULE_ACTIONS = ['allow', 'deny'] as const;
export type RuleAction = (typeof RULE_ACTIONS)[number];

/** Controls in the order decisions list them (sorted by name). */
export const RULE_CONTROLS = ['approval', 'justify', 'mfa'] as const;
export type RuleControl = (typeof RULE_CONTROLS)[number];

/** The two list policies rules come from. */
export const ELEVATION_RULES_POLICY = 'ElevationRules';
export const BLACKLIST_RULES_POLICY = 'BlacklistRules';
export type RuleList = typeof ELEVATION_RULES_POLICY | typeof BLACKLIST_RULES_POLICY;

/** What a rule matches of the program being started; every matcher given must match. */
export interface AppMatch {
  /**
   * Path pattern (`*`, `?`), case-insensitive, `/` read as `\`. With a backslash it is
   * matched against the full path; without one, against the program's file name only.
   */
  readonly path?: string;
  /** SHA-256 of the program file, 64 hex digits (stored lower case). */
  readonly sha256?: string;
  /**
   * Pattern over the publisher, case-insensitive: the signer's name of a signed (Windows)
   * program, or, starting with `deb:`, the Debian package a Linux program verifiably came
   * from (`deb:coreutils`, `deb:*`; see src/deb/dpkg-db.ts). The two kinds never meet: a
   * `deb:` pattern matches only a package, any other pattern only a signer.
   */
  readonly publisher?: string;
  /**
   * Pattern over the whole command line after the program, its arguments normalised as
   * Windows splits them (quotes removed, runs of blanks as one space); "" means no arguments.
   */
  readonly args?: string;
  /**
   * Path pattern of the parent process, like `path`. It only ever restricts (engine.ts): the
   * parent runs as the user, who can forge it (LD_PRELOAD into a "trusted launcher"), so an
   * allow rule with a parent grants nothing on its own (its controls stack onto an allow of
   * another rule), a deny rule with one denies, and an unknown parent meets the condition.
   */
  readonly parent?: string;
}

/** Who and where a rule applies; an empty or absent list does not restrict. */
export interface RuleTarget {
  /** DOMAIN\name, name (any domain) or a SID. */
  readonly users?: readonly string[];
  /** Group names (DOMAIN\name or name) or SIDs of the user's token. */
  readonly groups?: readonly string[];
  /** Computer name patterns (`*`, `?`); without a dot matched against the host name. */
  readonly computers?: readonly string[];
  /** Names of computer collections (the request says which collections the computer is in). */
  readonly collections?: readonly string[];
}

export interface Rule {
  readonly name: string;
  readonly action: RuleAction;
  readonly match: AppMatch;
  readonly target: RuleTarget;
  /** Sorted, unique; only allow rules carry controls. */
  readonly controls: readonly RuleControl[];
  readonly description?: string;
  /** The list the rule came from (BlacklistRules rules are always deny). */
  readonly list: RuleList;
  /** Where it came from (a file, a GPO), for messages; not part of the rule. */
  readonly source?: string;
}

/** A rule that does not parse: the message names the rule and the field. */
export class RuleParseError extends AscendError {
  readonly ruleName: string;
  readonly field: string;
  constructor(ruleName: string, field: string, problem: string) {
    super('ASC_RULE_INVALID', `rule ${JSON.stringify(ruleName)}: ${field ? `${field}: ` : ''}${problem}`);
    this.name = 'RuleParseError';
    this.ruleName = ruleName;
    this.field = field;
  }
}

const MAX_NAME = 128;
const MAX_PATTERN = 2048;
const MAX_LIST = 512;
const MAX_DESCRIPTION = 1024;
const SHA256 = /^[0-9a-fA-F]{64}$/;
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** Checks a rule name (it is a registry value name): refuses empty, `**`, control characters, over 128. */
export function checkRuleName(name: string): string {
  if (name.length === 0 || name.trim() !== name) throw new RuleParseError(name, 'name', 'a rule name must be non-empty, without blanks at either end');
  if (name.length > MAX_NAME) throw new RuleParseError(name, 'name', `longer than ${MAX_NAME} characters`);
  if (name.startsWith('**')) throw new RuleParseError(name, 'name', 'starts with "**", which Group Policy reads as a delete instruction');
  if (CONTROL_CHARS.test(name)) throw new RuleParseError(name, 'name', 'contains a control character');
  return name;
}

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(name: string, where: string, obj: Record<string, Json>, allowed: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw new RuleParseError(name, where ? `${where}.${k}` : k, `unknown field (known: ${allowed.join(', ')})`);
  }
}

function pattern(name: string, field: string, v: Json, allowEmpty: boolean): string {
  if (typeof v !== 'string') throw new RuleParseError(name, field, `expected a string, got ${describe(v)}`);
  if (!allowEmpty && v.length === 0) throw new RuleParseError(name, field, 'must not be empty');
  if (v.length > MAX_PATTERN) throw new RuleParseError(name, field, `longer than ${MAX_PATTERN} characters`);
  if (CONTROL_CHARS.test(v)) throw new RuleParseError(name, field, 'contains a control character');
  return v;
}

/** A publisher pattern that names a Debian package (`deb:<package pattern>`) rather than a signer. */
export function isDebPublisher(p: string): boolean {
  return p.trim().slice(0, DEB_PREFIX.length).toLowerCase() === DEB_PREFIX;
}

export const DEB_PREFIX = 'deb:';
/** After `deb:`: a package name pattern (Debian Policy 5.6.1 names, `*` and `?`), no `:arch`. */
const DEB_PACKAGE_PATTERN = /^[a-z0-9+.*?-]+$/i;

function publisherPattern(name: string, p: string): string {
  if (!isDebPublisher(p)) return p;
  const rest = p.trim().slice(DEB_PREFIX.length);
  if (!DEB_PACKAGE_PATTERN.test(rest)) {
    throw new RuleParseError(name, 'match.publisher', `${JSON.stringify(p)} is not a Debian package publisher: write deb:<package> (a package name, * and ? allowed, no :architecture), e.g. deb:coreutils or deb:*`);
  }
  return p;
}

function stringList(name: string, field: string, v: Json): string[] {
  if (!Array.isArray(v)) throw new RuleParseError(name, field, `expected a list of strings, got ${describe(v)}`);
  if (v.length > MAX_LIST) throw new RuleParseError(name, field, `more than ${MAX_LIST} entries`);
  const out: string[] = [];
  const seen = new Set<string>();
  v.forEach((item, i) => {
    const text = pattern(name, `${field}[${i}]`, item, false);
    if (text.trim() !== text) throw new RuleParseError(name, `${field}[${i}]`, 'has blanks at either end');
    const lower = text.toLowerCase();
    if (!seen.has(lower)) out.push(text);
    seen.add(lower);
  });
  return out;
}

function describe(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

/**
 * Parses one rule from its list value. `list` is the policy it sits in: in BlacklistRules
 * the action may be left out and must otherwise be "deny" (an "allow" there is refused, so
 * nobody believes a blacklist entry allows something); in ElevationRules it is required.
 */
export function parseRule(name: string, json: string, list: RuleList, source?: string): Rule {
  checkRuleName(name);
  let data: Json;
  try {
    data = JSON.parse(json);
  } catch (e) {
    throw new RuleParseError(name, '', `the value is not JSON (${(e as Error).message})`);
  }
  return ruleFromJson(name, data, list, source);
}

/** parseRule for data already parsed from JSON. */
export function ruleFromJson(name: string, data: Json, list: RuleList, source?: string): Rule {
  checkRuleName(name);
  if (!isObject(data)) throw new RuleParseError(name, '', `expected a JSON object, got ${describe(data)}`);
  onlyKeys(name, '', data, ['action', 'match', 'target', 'controls', 'description']);

  let action: RuleAction;
  if (data.action === undefined) {
    if (list !== BLACKLIST_RULES_POLICY) throw new RuleParseError(name, 'action', 'is required: "allow" or "deny"');
    action = 'deny';
  } else if (data.action === 'allow' || data.action === 'deny') {
    action = data.action;
  } else {
    throw new RuleParseError(name, 'action', `expected "allow" or "deny", got ${describe(data.action)}`);
  }
  if (list === BLACKLIST_RULES_POLICY && action !== 'deny') {
    throw new RuleParseError(name, 'action', 'a Blacklist rule is always "deny"; put allow rules in ElevationRules');
  }

  if (!isObject(data.match)) throw new RuleParseError(name, 'match', data.match === undefined ? 'is required: at least one of path, sha256, publisher, args, parent' : `expected an object, got ${describe(data.match)}`);
  const m = data.match;
  onlyKeys(name, 'match', m, ['path', 'sha256', 'publisher', 'args', 'parent']);
  const match: { -readonly [K in keyof AppMatch]: AppMatch[K] } = {};
  if (m.path !== undefined) match.path = pattern(name, 'match.path', m.path, false);
  if (m.sha256 !== undefined) {
    if (typeof m.sha256 !== 'string' || !SHA256.test(m.sha256)) throw new RuleParseError(name, 'match.sha256', `expected 64 hex digits, got ${describe(m.sha256)}`);
    match.sha256 = m.sha256.toLowerCase();
  }
  if (m.publisher !== undefined) match.publisher = publisherPattern(name, pattern(name, 'match.publisher', m.publisher, false));
  if (m.args !== undefined) match.args = pattern(name, 'match.args', m.args, true);
  if (m.parent !== undefined) match.parent = pattern(name, 'match.parent', m.parent, false);
  if (Object.keys(match).length === 0) throw new RuleParseError(name, 'match', 'needs at least one of path, sha256, publisher, args, parent');

  const target: { -readonly [K in keyof RuleTarget]: RuleTarget[K] } = {};
  if (data.target !== undefined) {
    if (!isObject(data.target)) throw new RuleParseError(name, 'target', `expected an object, got ${describe(data.target)}`);
    const t = data.target;
    onlyKeys(name, 'target', t, ['users', 'groups', 'computers', 'collections']);
    for (const k of ['users', 'groups', 'computers', 'collections'] as const) {
      if (t[k] === undefined) continue;
      const items = stringList(name, `target.${k}`, t[k]);
      if (items.length > 0) target[k] = items;
    }
  }

  let controls: RuleControl[] = [];
  if (data.controls !== undefined) {
    if (!Array.isArray(data.controls)) throw new RuleParseError(name, 'controls', `expected a list, got ${describe(data.controls)}`);
    data.controls.forEach((c, i) => {
      if (typeof c !== 'string' || !(RULE_CONTROLS as readonly string[]).includes(c)) {
        throw new RuleParseError(name, `controls[${i}]`, `expected one of ${RULE_CONTROLS.join(', ')}, got ${describe(c)}`);
      }
    });
    controls = sortControls(data.controls as RuleControl[]);
    if (action === 'deny' && controls.length > 0) throw new RuleParseError(name, 'controls', 'a deny rule takes no controls');
  }

  let description: string | undefined;
  if (data.description !== undefined) {
    if (typeof data.description !== 'string') throw new RuleParseError(name, 'description', `expected a string, got ${describe(data.description)}`);
    if (data.description.length > MAX_DESCRIPTION) throw new RuleParseError(name, 'description', `longer than ${MAX_DESCRIPTION} characters`);
    description = data.description;
  }

  return {
    name,
    action,
    match,
    target,
    controls,
    list,
    ...(description !== undefined ? { description } : {}),
    ...(source !== undefined ? { source } : {}),
  };
}

/** Sorted unique controls. */
export function sortControls(controls: Iterable<RuleControl>): RuleControl[] {
  const set = new Set(controls);
  return RULE_CONTROLS.filter((c) => set.has(c));
}

/**
 * The JSON a rule is stored as: fixed member order, empty parts left out. Parsing it
 * gives the rule back (name, list and source are outside the JSON).
 */
export function formatRule(rule: Pick<Rule, 'action' | 'match' | 'target' | 'controls' | 'description'>): string {
  const match: Record<string, string> = {};
  for (const k of ['path', 'sha256', 'publisher', 'args', 'parent'] as const) {
    const v = rule.match[k];
    if (v !== undefined) match[k] = v;
  }
  const target: Record<string, readonly string[]> = {};
  for (const k of ['users', 'groups', 'computers', 'collections'] as const) {
    const v = rule.target[k];
    if (v !== undefined && v.length > 0) target[k] = v;
  }
  return JSON.stringify({
    action: rule.action,
    match,
    ...(Object.keys(target).length > 0 ? { target } : {}),
    ...(rule.controls.length > 0 ? { controls: rule.controls } : {}),
    ...(rule.description !== undefined ? { description: rule.description } : {}),
  });
}
