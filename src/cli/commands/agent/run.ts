import { Flags } from '@oclif/core';
import { AscendCommand } from '../../base-command.js';
import { connectionSettingsFromFlags, domainFlags } from '../../domain-command.js';
import { DEFAULT_AGENT_SOCKET, AGENT_SOCKET_ENV } from '../../agent-command.js';
import { runAgent } from '../../../../agent/daemon/launch.js';

const { user: ldapUser, ...connection } = domainFlags;

export default class AgentRun extends AscendCommand<void> {
  static override enableJsonFlag = false;
  static override summary = 'Run the endpoint agent (as root): policy, elevation decisions, TSE sessions, ephemeral accounts, reporting.';
  static override description =
    'The policy comes from exactly one source: --policy FILE (Registry.pol files, lowest precedence first), --domain (the GPOs that apply ' +
    "to this computer, read over LDAPS and SYSVOL with the machine account's credentials), or --windows-registry (the policy root in HKLM, " +
    'as Windows applied it). It is cached in the state folder, so a machine that starts offline keeps its last policy, and refreshed every ' +
    '90 minutes plus a random 0-30 (or now: ascend agent refresh). Events go to a durable spool in the state folder and from there to the ' +
    "collector: --collector, else the policy's Client Data Collection host. The first start enrolls with --enroll-token-file (or " +
    '--enroll-token); the credential is kept in the state folder (mode 600). Clients connect on --socket; the agent takes their uid from the ' +
    'kernel. SIGTERM or SIGINT stop it: running elevated programs are ended and their accounts removed. With --idle-exit the agent runs ' +
    'on demand: ascend-agentd (about 1.3 MB resident) holds the socket, starts the agent for a request or every --wake-every seconds, and ' +
    'the agent rests once it has been idle that long (no connection, elevation, TSE session, discovery or upload).';
  static override examples = [
    '<%= config.bin %> agent run --state-dir /var/lib/ascend --policy /etc/ascend/Registry.pol',
    '<%= config.bin %> agent run --state-dir /var/lib/ascend --domain --url ldaps://dc1.corp.example --ldap-user "PC-042$@CORP.EXAMPLE" --password-file /etc/ascend/machine.secret --ca-file /etc/ascend/corp-ca.pem --collector https://collector.corp.example:8003 --enroll-token-file /etc/ascend/enroll.token',
  ];
  static override flags = {
    'state-dir': Flags.string({ description: 'state folder (policy cache, TSE use counts, spool, collector credential); root only', default: '/var/lib/ascend' }),
    socket: Flags.string({ description: `the socket clients connect to (default $${AGENT_SOCKET_ENV} or ${DEFAULT_AGENT_SOCKET})` }),
    policy: Flags.string({ description: 'a Registry.pol (repeatable, lowest precedence first)', multiple: true, exactlyOne: ['policy', 'domain', 'windows-registry'] }),
    domain: Flags.boolean({ description: 'read the GPOs that apply to this computer from the domain', exactlyOne: ['policy', 'domain', 'windows-registry'] }),
    'windows-registry': Flags.boolean({ description: 'read the policy Windows applied under HKLM (Windows only)', exactlyOne: ['policy', 'domain', 'windows-registry'] }),
    ...connection,
    'ldap-user': Flags.string({ description: "the machine account to bind as, e.g. PC-042$@CORP.EXAMPLE (env ASCEND_LDAP_USER)", helpGroup: 'CONNECTION' }),
    computer: Flags.string({ description: 'this computer\'s name as rules, passcodes and the domain know it (default: the host name)' }),
    collection: Flags.string({ description: 'a collection this computer is in (repeatable; rules may target collections)', multiple: true }),
    collector: Flags.string({ description: "the collector's URL (default: the policy's Client Data Collection host)" }),
    'enroll-token': Flags.string({ description: 'enrollment token for the first start (prefer --enroll-token-file: argv is visible to other users)' }),
    'enroll-token-file': Flags.string({ description: 'file (mode 600) holding the enrollment token' }),
    'collector-ca': Flags.string({ description: "PEM file of the certificate authority that issued the collector's certificate, trusted instead of the one the enrollment token pins (root's file)" }),
    'insecure-dev': Flags.boolean({ description: 'DEVELOPMENT ONLY: talk to the collector over plain http or unpinned https; logged loudly at every start', default: false }),
    'trusted-owner': Flags.string({
      description: 'a system account (name or uid) trusted, like root, to own programs that rules elevate and the folders above them (repeatable)',
      multiple: true,
    }),
    'spool-max-bytes': Flags.integer({
      description: 'disk the event spool may use, in bytes (default 64 MiB); the last eighth is kept for elevation and session events',
      min: 64 * 1024,
    }),
    'ephemeral-id-range': Flags.string({
      description: 'uids/gids of ephemeral accounts, FIRST-LAST, each used once (default 2013265920-2147352575); give agents that do not share /var/lib/ascend disjoint ranges',
    }),
    'max-connections': Flags.integer({ description: 'connections the agent serves at once (default 64); an eighth (at most 8) is kept for root', min: 2 }),
    'max-connections-per-user': Flags.integer({ description: 'connections one user other than root may hold at once (default 8)', min: 1 }),
    'group-map': Flags.string({ description: 'token group → host groups, SID-OR-NAME=group[,group] (repeatable; default S-1-5-32-544=sudo, or wheel)', multiple: true }),
    'idle-exit': Flags.integer({
      description:
        'run on demand (Linux): a small resident program (ascend-agentd) holds the socket, and the agent rests after this many seconds without a request or anything running, to be started again by the next request (the package runs it so, with 120)',
      min: 1,
    }),
    'wake-every': Flags.integer({ description: 'with --idle-exit: start the resting agent this often, in seconds, for its housekeeping (revocations, cleanup, uploads, policy refresh; default and most 300)', min: 1, max: 300 }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(AgentRun);
    // bin/run.js starts the daemon through ./agent/daemon/main.ts without oclif; this path
    // answers the command lines that one hands back (see agent/daemon/run-line.ts).
    await runAgent({ ...flags, connection: connectionSettingsFromFlags(flags, flags['ldap-user']) });
  }
}
