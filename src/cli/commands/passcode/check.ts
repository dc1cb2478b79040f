import { Args, Flags } from '@oclif/core';
import { AscendCommand } from '../../base-command.js';
import { connectionSettingsFromFlags, domainFlags } from '../../domain-command.js';
import { connectDomain } from '../../../../gpo-extension/connection.js';
import { AscendError, isAscendError } from '../../../errors.js';
import { ASCEND_CATALOG } from '../../../catalog/index.js';
import { effectiveFromFiles } from '../../../local-policy/index.js';
import { GpoAdmin } from '../../../../gpo-extension/admin.js';
import {
  PasscodeVerifier,
  parseInstant,
  parseUtcOffset,
  passcodePolicyFromEffective,
  policyForTrustedKeys,
  REFUSAL_REASONS,
  utcOffsetText,
  type CheckResult,
  type KeyProblem,
  type PasscodePolicy,
} from '../../../passcode/index.js';
import { durationText, readAscpassText, readTrustedKeysFile, tokenFromAscpass } from '../../../passcode-keys/index.js';

export type PasscodeCheckResult = CheckResult & {
  /** What decided: the trusted-keys file, the Registry.pol files, or the GPO. */
  policySource: string;
  /** Trusted keys the policy lists that could not be used (a policy mistake). */
  keyProblems: KeyProblem[];
};

// --user names the passcode's user here, so the LDAP account of --gpo is --ldap-user (or ASCEND_LDAP_USER).
const { user: ldapUserFlag, ...otherDomainFlags } = domainFlags;

function usage(e: unknown, flag: string): never {
  if (isAscendError(e)) throw new AscendError('ASC_USAGE', `${flag}: ${e.message.replace(/^[a-zA-Z]+: /, '')}`);
  throw e;
}

export default class PasscodeCheck extends AscendCommand<PasscodeCheckResult> {
  static override summary = 'Check a passcode as an agent would: signature, trusted keys, policy and its validation logic.';
  static override description =
    'Exit 0 and the session the passcode opens (groups, privileges, integrity, duration, uses left), or exit 1 and one reason: ' +
    `${REFUSAL_REASONS.join(', ')}. With --json: {"ok":true,"terms","kid","session",...} or {"ok":false,"reason","message",...}. ` +
    'The policy comes from exactly one of: --trusted-keys FILE (keys only: TSE and offline passcodes are taken as enabled, nothing revoked, no ' +
    'integrity or session cap); --policy FILE (repeatable: Registry.pol files lowest precedence first, folded as Windows applies GPOs, so a Not ' +
    'Configured policy in a later file inherits from an earlier one); --gpo GPO (the settings of that one GPO, connection flags below). The time is ' +
    'now unless --at; weekdays and hours are judged in --utc-offset (default: this machine\'s zone at that time) unless the passcode names its zone.';
  static override examples = [
    '<%= config.bin %> passcode check bob.ascpass --computer PC-042 --user "CORP\\bob" --trusted-keys trusted-keys.json',
    '<%= config.bin %> passcode check bob.ascpass --computer PC-042 --user "CORP\\bob" --policy domain.pol --policy ou.pol --at 2026-06-01T09:30:00Z',
    '<%= config.bin %> passcode check bob.ascpass --computer PC-042 --user "CORP\\bob" --gpo "Ascend - Workstations" --json',
  ];
  static override args = { file: Args.string({ description: 'the .ascpass file (or a file holding only the token)', required: true }) };
  static override baseFlags = {
    ...otherDomainFlags,
    'ldap-user': Flags.string({ description: 'with --gpo, the account to bind as, user@realm or a DN (env ASCEND_LDAP_USER)', helpGroup: ldapUserFlag.helpGroup }),
  };
  static override flags = {
    computer: Flags.string({ description: 'the computer the passcode is used on', required: true }),
    user: Flags.string({ description: 'the user who uses it, DOMAIN\\name or name', required: true }),
    'computer-sid': Flags.string({ description: "the computer's SID, for SID patterns (repeatable)", multiple: true }),
    'user-sid': Flags.string({ description: "the user's SID and group SIDs, for SID patterns (repeatable)", multiple: true }),
    at: Flags.string({ description: 'the time of use: YYYY-MM-DDTHH:MM[:SS] with Z or +HH:MM (default: now)' }),
    'utc-offset': Flags.string({ description: "the machine's zone, e.g. +02:00 (default: this machine's at that time)" }),
    uses: Flags.integer({ description: 'how often the passcode was used on the machine before (default 0)', default: 0, min: 0 }),
    'trusted-keys': Flags.string({ description: 'a trusted-keys file ("keys export-public"); TSE and offline use taken as enabled', exactlyOne: ['trusted-keys', 'policy', 'gpo'] }),
    policy: Flags.string({ description: 'a Registry.pol (repeatable, lowest precedence first)', multiple: true, exactlyOne: ['trusted-keys', 'policy', 'gpo'] }),
    gpo: Flags.string({ description: 'a GPO whose settings decide: display name or {GUID}', exactlyOne: ['trusted-keys', 'policy', 'gpo'] }),
  };

  async run(): Promise<PasscodeCheckResult> {
    const { args, flags } = await this.parse(PasscodeCheck);
    // A file without a readable token block is a malformed passcode (exit 1), like a damaged token.
    const text = await readAscpassText(args.file);
    let token = '';
    let noToken: string | undefined;
    try {
      token = tokenFromAscpass(text, args.file);
    } catch (e) {
      if (!isAscendError(e) || e.code !== 'ASC_PASSCODE_MALFORMED') throw e;
      noToken = e.message;
    }
    const explicitOffset = flags['utc-offset'] === undefined ? undefined : (() => {
      try {
        return parseUtcOffset(flags['utc-offset'] as string);
      } catch (e) {
        return usage(e, '--utc-offset');
      }
    })();
    let at = new Date();
    if (flags.at !== undefined) {
      try {
        at = new Date(parseInstant(flags.at, 'at', explicitOffset, false) * 1000);
      } catch (e) {
        usage(e, '--at');
      }
    }
    const utcOffsetMinutes = explicitOffset ?? -at.getTimezoneOffset();

    let policy: PasscodePolicy;
    let policySource: string;
    if (flags['trusted-keys'] !== undefined) {
      policy = policyForTrustedKeys(await readTrustedKeysFile(flags['trusted-keys']));
      policySource = `trusted keys ${flags['trusted-keys']} (TSE and offline passcodes taken as enabled)`;
    } else if (flags.policy !== undefined) {
      policy = passcodePolicyFromEffective(await effectiveFromFiles(ASCEND_CATALOG, flags.policy));
      policySource = `Registry.pol ${flags.policy.join(', ')}`;
    } else {
      const gpo = flags.gpo as string;
      const connection = await connectDomain(connectionSettingsFromFlags(flags, flags['ldap-user']));
      const shown = await new GpoAdmin(connection.dir, connection.store, ASCEND_CATALOG).show(gpo).finally(() => connection.close().catch(() => undefined));
      policy = passcodePolicyFromEffective(shown.settings);
      policySource = `GPO "${shown.gpo.displayName}" ${shown.gpo.guid}`;
    }

    const verifier = new PasscodeVerifier(policy);
    const verdict: CheckResult = noToken !== undefined ? { ok: false, reason: 'malformed', message: noToken } : verifier.check(token, {
      computer: flags.computer,
      user: flags.user,
      ...(flags['computer-sid']?.length ? { computerSids: flags['computer-sid'] } : {}),
      ...(flags['user-sid']?.length ? { userSids: flags['user-sid'] } : {}),
      at,
      utcOffsetMinutes,
      usesSoFar: flags.uses,
    });
    const result: PasscodeCheckResult = { ...verdict, policySource, keyProblems: [...verifier.keyProblems] };

    for (const p of verifier.keyProblems) this.warnLine(`trusted key ${p.kid} is not usable: ${p.problem}`);
    if (!result.ok) {
      if (this.jsonEnabled()) this.logJson(result);
      else this.log(`REFUSED (${result.reason}): ${result.message}`);
      return this.exit(1);
    }
    const s = result.session;
    this.say(`OK: passcode "${result.terms.title}" (${result.terms.id}), signed by ${result.kid}, decided by ${policySource}`);
    this.say(`  ${'Groups:'.padEnd(13)}${s.groups.join(', ')}`);
    this.say(`  ${'Privileges:'.padEnd(13)}${s.privileges.length ? s.privileges.join(', ') : 'none added'}`);
    this.say(`  ${'Integrity:'.padEnd(13)}${s.integrity}`);
    this.say(`  ${'Duration:'.padEnd(13)}${durationText(s.durationSeconds)} from activation${s.endProcesses ? '; elevated processes end when it expires' : ''}`);
    this.say(`  ${'Uses left:'.padEnd(13)}${s.usesLeft} after this one`);
    this.say(`  ${'Checked at:'.padEnd(13)}${at.toISOString()} (UTC${utcOffsetText(utcOffsetMinutes)})`);
    return result;
  }

  /** A warning on stderr, also under --json (stdout stays the result). */
  private warnLine(text: string): void {
    process.stderr.write(`Warning: ${text}\n`);
  }
}
