import { promises as fs } from 'node:fs';
import { Flags } from '@oclif/core';
import { AscendCommand } from '../../base-command.js';
import { buildTerms, signPasscode, type PasscodeTerms } from '../../../passcode/index.js';
import {
  appendIssued,
  defaultIssuer,
  formatAscpass,
  issuedPath,
  issuedRecord,
  loadSigningKey,
  passcodeSummary,
  writeAscpassFile,
  checkNewAscpassPath,
} from '../../../passcode-keys/index.js';

export interface PasscodeNewResult {
  id: string;
  kid: string;
  /** The .ascpass written (mode 600). */
  file: string;
  /** SHA-256 of the token, as the issued registry records it; the token itself is only in the file. */
  tokenSha256: string;
  terms: PasscodeTerms;
}

export default class PasscodeNew extends AscendCommand<PasscodeNewResult> {
  static override summary = 'Issue a TSE passcode and export it to a .ascpass file (the Passcode Manager wizard).';
  static override description =
    'Builds the passcode from the wizard\'s tabs - Passcode: --title, --max-uses, --duration (counted from activation), --end-processes; Validation ' +
    'Logic: --computer and --user (names with * and ? wildcards, case-insensitive, or SIDs; none = any), --not-before/--not-after (the activation ' +
    'window, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS] with Z or +HH:MM), --weekdays and --hours (in --utc-offset, else the checking machine\'s zone); ' +
    'Groups (SIDs; none = the policy\'s, else S-1-5-32-544 BUILTIN\\Administrators); Privileges (Se* names); Integrity (default High) - signs it ' +
    'with the signing key (default: the newest of "ascend keys list", from the OS keychain; --key-file to sign with a key file of mode 600) and ' +
    'writes FILE: a readable summary, then the token. Only the signed token counts. The file is new (never overwritten), mode 600: whoever holds ' +
    'it can use the passcode. The passcode is recorded in the issued registry of the Ascend home ("ascend passcode list"), with the SHA-256 of the ' +
    'token, not the token.';
  static override examples = [
    '<%= config.bin %> passcode new --title "Printer driver for Bob" --max-uses 1 --duration 30m --computer "PC-0*" --user "CORP\\bob" --out bob.ascpass',
    '<%= config.bin %> passcode new --title "Weekend backup" --max-uses 3 --duration 2h --weekdays sat,sun --hours 08:00-18:00 --privilege SeBackupPrivilege --not-after 2026-12-31 --utc-offset +01:00 --out backup.ascpass',
  ];
  static override flags = {
    title: Flags.string({ description: 'what the passcode is for', required: true }),
    'max-uses': Flags.integer({ description: 'maximum allowed usage (>= 1)', required: true }),
    duration: Flags.string({ description: 'session length from activation: 90s, 30m, 2h, 1d, 1h30m or seconds', required: true }),
    'end-processes': Flags.boolean({ description: 'end all elevated processes (and child processes) when the duration expires', default: false }),
    computer: Flags.string({ description: 'computer name pattern or SID (repeatable; none = any computer)', multiple: true }),
    user: Flags.string({ description: 'user name pattern (DOMAIN\\name or name) or SID (repeatable; none = any user)', multiple: true }),
    'not-before': Flags.string({ description: 'start of the activation window: YYYY-MM-DD[THH:MM[:SS]] with Z or +HH:MM' }),
    'not-after': Flags.string({ description: 'end of the activation window (a date alone means its 23:59:59)' }),
    weekdays: Flags.string({ description: 'allowed days: mon,tue or mon-fri (default: every day)' }),
    hours: Flags.string({ description: 'allowed hours: HH:MM-HH:MM, e.g. 08:00-18:00 (22:00-06:00 wraps midnight)' }),
    'utc-offset': Flags.string({ description: 'the zone of --weekdays, --hours and zone-less dates, e.g. +01:00 (default: the checking machine\'s zone)' }),
    group: Flags.string({ description: 'a group SID for the elevated token (repeatable)', multiple: true }),
    privilege: Flags.string({ description: 'a privilege to add, e.g. SeDebugPrivilege (repeatable)', multiple: true }),
    integrity: Flags.string({ description: 'integrity level: medium, high (default) or system' }),
    issuer: Flags.string({ description: 'who issues it (default: user@host of this console)' }),
    kid: Flags.string({ description: 'sign with this key of "ascend keys list" (default: the newest)' }),
    'key-file': Flags.string({ description: 'sign with this private key file (mode 600) instead of the keychain' }),
    out: Flags.string({ description: 'the .ascpass file to write (must not exist)', required: true }),
  };

  async run(): Promise<PasscodeNewResult> {
    const { flags } = await this.parse(PasscodeNew);
    // Everything is checked before anything is written.
    const terms = buildTerms({
      title: flags.title,
      issuer: flags.issuer ?? defaultIssuer(),
      maxUses: flags['max-uses'],
      duration: flags.duration,
      endProcesses: flags['end-processes'],
      computers: flags.computer ?? [],
      users: flags.user ?? [],
      ...(flags['not-before'] !== undefined ? { notBefore: flags['not-before'] } : {}),
      ...(flags['not-after'] !== undefined ? { notAfter: flags['not-after'] } : {}),
      ...(flags.weekdays !== undefined ? { weekdays: [flags.weekdays] } : {}),
      ...(flags.hours !== undefined ? { hours: flags.hours } : {}),
      ...(flags['utc-offset'] !== undefined ? { utcOffsetMinutes: flags['utc-offset'] } : {}),
      groups: flags.group ?? [],
      privileges: flags.privilege ?? [],
      ...(flags.integrity !== undefined ? { integrity: flags.integrity } : {}),
    });
    await checkNewAscpassPath(flags.out);
    const { key, from } = await loadSigningKey({ kid: flags.kid, keyFile: flags['key-file'] });
    const token = await signPasscode(terms, key);
    const file = await writeAscpassFile(flags.out, formatAscpass(token, passcodeSummary(terms, key.kid)));
    const record = issuedRecord(terms, key.kid, token, file);
    try {
      await appendIssued(record);
    } catch (e) {
      // A passcode that is not in the registry would be unaccounted for: take the file back.
      await fs.rm(file, { force: true }).catch(() => undefined);
      throw e;
    }
    this.say(`Wrote ${flags.out} (mode 600): passcode ${terms.id} "${terms.title}", signed with ${key.kid} (${from === 'keychain' ? 'keychain' : 'key file'})`);
    for (const [k, v] of passcodeSummary(terms, key.kid).slice(5)) this.say(`  ${`${k}:`.padEnd(15)}${v}`);
    this.say(`Recorded in ${issuedPath()}`);
    return { id: terms.id, kid: key.kid, file, tokenSha256: record.tokenSha256, terms };
  }
}
