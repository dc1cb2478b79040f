import { Flags } from '@oclif/core';
import { AscendCommand } from '../../base-command.js';
import { AscendError } from '../../../errors.js';
import { rulesDomainFlags } from '../../shared/rules-domain.js';
import { loadRules } from '../../shared/rules-source.js';
import { compileRules, decide, findingLine, ruleFindings, type Decision, type RuleFinding } from '../../../rules/index.js';
import { isDebPublisher } from '../../../rules/model.js';
import { systemDpkg } from '../../../deb/dpkg-db.js';

/**
 * The decision, and what `ascend rules lint` flags in the rules that made it (only when it
 * flags something); `debPublisher`: the Debian package the program was found to come from
 * (when a rule names a deb: publisher).
 */
export type RulesTestResult = Decision & { findings?: RuleFinding[]; debPublisher?: string };

export default class RulesTest extends AscendCommand<RulesTestResult> {
  static override summary = 'Decide an elevation request as an agent would, from Registry.pol files, a GPO or the RSoP of a computer.';
  static override description =
    'Prints the decision (allow, deny or not-elevated), the controls the user must satisfy, the rules that decided and why. A deny rule (every ' +
    'Blacklist rule) wins over allow rules and over an active TSE session; the controls of every matching allow rule add up; with nothing matching, ' +
    'an active TSE session allows (reason "tse", no controls), else the program is not elevated. The rules come from exactly one of: --policy FILE ' +
    '(repeatable, lowest precedence first, folded as "ascend pol effective" does), --gpo GPO (that GPO alone), --rsop-computer NAME (every GPO that ' +
    'applies to the computer account, in precedence order). --user may be a SID; --group takes the token\'s groups by name or SID; --collection names ' +
    'the collections the computer is in. A parent condition only restricts: an allow rule with --parent allows nothing on its own (its controls ' +
    'add to an allow another rule grants), and without --parent the parent is unknown, so deny rules that name a parent match, as they do when ' +
    'an agent cannot read the parent. The rules that decided and that "ascend rules lint" flags are printed as warnings on stderr. ' +
    'With --json {"decision","controls","matchedRules","reason"}, and "findings" (as rules lint gives them) when a rule that decided is flagged; ' +
    'reason is deny-rule, allow-rule, tse or no-match. When a rule names a Debian package publisher (deb:<package>), the program given by --app is ' +
    "looked up in this machine's dpkg database as the agent does (the owning package, and only when the file's MD5 is dpkg's), unless " +
    '--deb-publisher says it; the answer is printed and, with --json, given as "debPublisher". The exit status is 0 whatever the decision.';
  static override examples = [
    '<%= config.bin %> rules test --policy Registry.pol --user "CORP\\bob" --computer PC-042 --app "C:\\Windows\\System32\\net.exe" --args "user bob /add"',
    '<%= config.bin %> rules test --gpo "Ascend - Workstations" --user S-1-5-21-1-2-3-1001 --group "CORP\\Helpdesk" --computer PC-042 --app "C:\\Tools\\x.exe" --json',
    '<%= config.bin %> rules test --rsop-computer PC-042 --user "CORP\\bob" --computer PC-042 --app "C:\\Tools\\psexec.exe" --tse-active',
  ];
  static override baseFlags = rulesDomainFlags;
  static override flags = {
    policy: Flags.string({ description: 'a Registry.pol (repeatable, lowest precedence first)', multiple: true, exactlyOne: ['policy', 'gpo', 'rsop-computer'] }),
    gpo: Flags.string({ description: 'a GPO whose rules decide: display name or {GUID}', exactlyOne: ['policy', 'gpo', 'rsop-computer'] }),
    'rsop-computer': Flags.string({ description: 'a computer account whose applying GPOs decide (RSoP)', exactlyOne: ['policy', 'gpo', 'rsop-computer'] }),
    user: Flags.string({ description: 'the requesting user: DOMAIN\\name, name or SID', required: true }),
    group: Flags.string({ description: "a group of the user's token, by name or SID (repeatable)", multiple: true }),
    computer: Flags.string({ description: 'the computer the request is made on', required: true }),
    collection: Flags.string({ description: 'a collection the computer is in (repeatable)', multiple: true }),
    app: Flags.string({ description: "the program's full path", required: true }),
    args: Flags.string({ description: 'the command line after the program (give "-x" values as --args=-x)' }),
    sha256: Flags.string({ description: "SHA-256 of the program file" }),
    publisher: Flags.string({ description: "the program's publisher (signer)" }),
    'deb-publisher': Flags.string({ description: "the program's Debian package as deb:<package> (default: looked up in this machine's dpkg database, as the agent does)" }),
    parent: Flags.string({ description: "the parent process's full path" }),
    'tse-active': Flags.boolean({ description: 'a Temporary Session Elevation is active for the user', default: false }),
  };

  async run(): Promise<RulesTestResult> {
    const { flags } = await this.parse(RulesTest);
    const loaded = await loadRules(flags);
    for (const p of loaded.problems) process.stderr.write(`Warning: ${p.list} ${p.source ? `in ${p.source} ` : ''}${p.message}; skipped\n`);
    const isSid = /^s-1-/i.test(flags.user);
    // The package publisher, as the agent finds it: only when a rule could use it.
    let debPublisher = flags['deb-publisher'];
    let debLine: string | undefined;
    if (debPublisher !== undefined && !isDebPublisher(debPublisher)) throw new AscendError('ASC_USAGE', `--deb-publisher ${JSON.stringify(debPublisher)} is not deb:<package>`);
    if (debPublisher === undefined && loaded.rules.some((r) => r.match.publisher !== undefined && isDebPublisher(r.match.publisher))) {
      const found = process.platform === 'linux' ? await systemDpkg.resolve(flags.app) : { reason: `dpkg's database is read on Linux only, not on ${process.platform}` };
      debPublisher = found.publisher;
      debLine = found.publisher !== undefined ? `  package publisher: ${found.publisher} (${found.reason})` : `  no package publisher: ${found.reason}`;
    }
    const d = decide(compileRules(loaded.rules), {
      user: flags.user,
      ...(isSid ? { userSid: flags.user } : {}),
      groups: flags.group ?? [],
      computer: flags.computer,
      collections: flags.collection ?? [],
      path: flags.app,
      ...(flags.args !== undefined ? { args: flags.args } : {}),
      ...(flags.sha256 !== undefined ? { sha256: flags.sha256 } : {}),
      ...(flags.publisher !== undefined ? { publisher: flags.publisher } : {}),
      ...(debPublisher !== undefined ? { debPublisher } : {}),
      ...(flags.parent !== undefined ? { parentPath: flags.parent } : {}),
      tseActive: flags['tse-active'],
    });
    const rules = d.matchedRules.length ? ` by ${d.matchedRules.join(', ')}` : '';
    const line =
      d.decision === 'deny'
        ? `DENY: denied${rules}`
        : d.decision === 'allow'
          ? d.reason === 'tse'
            ? `ALLOW: inside the active TSE session${rules ? ` (also allowed${rules})` : ''}, no controls`
            : `ALLOW${rules}${d.controls.length ? `, after ${d.controls.join(' + ')}` : ', no controls'}`
          : 'NOT ELEVATED: no rule matches (the program runs with the user\'s own rights)';
    this.say(line);
    this.say(`  decided by ${loaded.policySource}; ${loaded.rules.length} rule(s) loaded, reason ${d.reason}`);
    if (debLine !== undefined) this.say(debLine);
    const matched = new Set(d.matchedRules);
    const findings = loaded.rules.filter((r) => matched.has(r.name)).flatMap(ruleFindings);
    for (const f of findings) process.stderr.write(`Warning: ${findingLine(f)}\n`);
    return { decision: d.decision, controls: d.controls, matchedRules: d.matchedRules, reason: d.reason, ...(findings.length > 0 ? { findings } : {}), ...(debPublisher !== undefined ? { debPublisher } : {}) };
  }
}
