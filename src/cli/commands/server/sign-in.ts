import { Flags } from '@oclif/core';
import { AscendError } from '../../../errors.js';
import { isLoopback } from '../../../collector-api/transport.js';
import { AscendCommand } from '../../base-command.js';
import { callApi, readPrivateSecretFile, relative, safe, trustFlags, when, writeRenewableSecretFile } from '../../server-command.js';

export const PASSWORD_ENV = 'ASCEND_PASSWORD';
const MAX_PASSWORD_BYTES = 64 * 1024;

export interface SignInResult {
  name: string;
  role: 'viewer' | 'approver' | 'admin';
  expiresAt: string;
  /** Where the session token was written (the token itself is never printed). */
  file: string;
}

/** Everything on stdin (a pipe or a file), one trailing line break dropped. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += b.length;
    if (size > MAX_PASSWORD_BYTES) throw new AscendError('ASC_USAGE', `stdin holds more than ${MAX_PASSWORD_BYTES} bytes; a password was expected`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** The password: --password-file (mode 600), else $ASCEND_PASSWORD, else stdin when it is not a terminal. Never argv. */
async function readPassword(passwordFile: string | undefined): Promise<string> {
  let password: string;
  let from: string;
  if (passwordFile !== undefined) {
    password = await readPrivateSecretFile(passwordFile, 'password file');
    from = passwordFile;
  } else if (process.env[PASSWORD_ENV] !== undefined && process.env[PASSWORD_ENV] !== '') {
    password = process.env[PASSWORD_ENV];
    from = `$${PASSWORD_ENV}`;
  } else if (process.stdin.isTTY !== true) {
    password = await readStdin();
    from = 'stdin';
  } else {
    throw new AscendError('ASC_USAGE', `a password is needed: give --password-file FILE (mode 600), set ${PASSWORD_ENV}, or pipe it on stdin`, {
      hint: 'it is never taken from the command line',
    });
  }
  if (password === '') throw new AscendError('ASC_USAGE', `the password from ${from} is empty`);
  return password;
}

export default class ServerSignIn extends AscendCommand<SignInResult> {
  static override summary = 'Sign in to the collector with your Active Directory account; the session token goes to a file.';
  static override description =
    'The role comes from your group memberships. The session token is written to --out with mode 0600 (an earlier session file there is ' +
    'replaced; a symbolic link is refused) and never printed: use that file as --token-file (or $ASCEND_TOKEN_FILE) for the other server ' +
    `commands. The password is read from --password-file (which only you may read), else $${PASSWORD_ENV}, else stdin when it is not a ` +
    'terminal; never from the command line. "ascend server sign-out" ends the session early.';
  static override examples = [
    '<%= config.bin %> server sign-in --server https://collector.corp.example --user "CORP\\alice" --out ~/.ascend-session < password.txt',
    '<%= config.bin %> server sign-in --server https://collector.corp.example --user alice@corp.example --password-file ~/.ascend-pw --out ~/.ascend-session',
  ];
  static override flags = {
    server: Flags.string({ description: 'collector URL, e.g. https://collector.corp.example', required: true }),
    user: Flags.string({ description: 'your account: DOMAIN\\name, name@domain or name', required: true }),
    'password-file': Flags.string({ description: `file holding your password (mode 600); default: $${PASSWORD_ENV}, else stdin` }),
    out: Flags.string({ description: 'file to write the session token to (mode 0600)', required: true }),
    ...trustFlags,
  };

  async run(): Promise<SignInResult> {
    const { flags } = await this.parse(ServerSignIn);
    if (flags.user.trim() === '') throw new AscendError('ASC_USAGE', '--user must not be empty');
    const target = (() => {
      try {
        return new URL(flags.server);
      } catch {
        throw new AscendError('ASC_USAGE', `--server is not a URL: ${flags.server}`);
      }
    })();
    if (target.protocol === 'http:' && !isLoopback(target.hostname)) {
      throw new AscendError('ASC_USAGE', `refusing to send a domain password to ${target.origin} over plain HTTP`, { hint: 'use the collector\'s https:// URL' });
    }
    const password = await readPassword(flags['password-file']);
    const r = await callApi<{ token: string; name: string; role: SignInResult['role']; expiresAt: string }>(
      flags,
      'POST',
      'api/v1/sign-in',
      { user: flags.user, password },
      { noAuth: true, unauthenticated: 'check the user name and password', notFound: 'ask the collector\'s admin to configure sign-in, or use an API token' },
    );
    const file = await writeRenewableSecretFile(flags.out, `${r.token}\n`, 'session token file');
    this.say(`Signed in as ${safe(r.name)} (${r.role}); the session expires ${when(r.expiresAt)} (${relative(r.expiresAt)}).`);
    this.say(`Session token written to ${flags.out}: give it as --token-file or set ASCEND_TOKEN_FILE.`);
    return { name: r.name, role: r.role, expiresAt: r.expiresAt, file };
  }
}
