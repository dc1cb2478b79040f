/**
 * Turns what ldapts and Node throw (LDAP result codes, socket and TLS errors) into
 * AscendErrors an administrator can act on. The original error stays as `cause`.
 * Secrets (the bind password) are scrubbed from every message this builds.
 */
import { ResultCodeError } from 'ldapts';
import { AscendError, isAscendError } from '../errors.js';

export type LdapOperation = 'connect' | 'starttls' | 'bind' | 'search' | 'add' | 'modify' | 'delete' | 'unbind';

export interface LdapErrorContext {
  /** The server URL, named in connection errors. */
  url: string;
  operation: LdapOperation;
  /** The object operated on (search base, added/modified/deleted DN). */
  dn?: string;
  /** The bind identity, named in credential errors (not a secret). */
  bindDn?: string;
  /** The operation timeout, for the "did not answer within" message. */
  timeoutMs?: number;
  /** Values that must never appear in a message (the password). */
  secrets?: readonly string[];
}

/** Names of LDAP result codes (RFC 4511 appendix A), for messages. */
const RESULT_NAMES: Readonly<Record<number, string>> = {
  1: 'operationsError',
  2: 'protocolError',
  3: 'timeLimitExceeded',
  4: 'sizeLimitExceeded',
  7: 'authMethodNotSupported',
  8: 'strongerAuthRequired',
  10: 'referral',
  11: 'adminLimitExceeded',
  12: 'unavailableCriticalExtension',
  13: 'confidentialityRequired',
  16: 'noSuchAttribute',
  17: 'undefinedAttributeType',
  18: 'inappropriateMatching',
  19: 'constraintViolation',
  20: 'attributeOrValueExists',
  21: 'invalidAttributeSyntax',
  32: 'noSuchObject',
  34: 'invalidDNSyntax',
  48: 'inappropriateAuthentication',
  49: 'invalidCredentials',
  50: 'insufficientAccessRights',
  51: 'busy',
  52: 'unavailable',
  53: 'unwillingToPerform',
  54: 'loopDetect',
  64: 'namingViolation',
  65: 'objectClassViolation',
  66: 'notAllowedOnNonLeaf',
  67: 'notAllowedOnRDN',
  68: 'entryAlreadyExists',
  69: 'objectClassModsProhibited',
  71: 'affectsMultipleDSAs',
  80: 'other',
};

export function resultCodeName(code: number): string {
  return RESULT_NAMES[code] ?? 'unknown';
}

/**
 * Active Directory adds a Win32 code to invalidCredentials ("... data 52e, v4563"): what it
 * means for the account (MS-ADTS 3.1.1.3.1.1 / Win32 error codes).
 */
const AD_BIND_REASONS: Readonly<Record<string, string>> = {
  '525': 'no such user',
  '52e': 'wrong user name or password',
  '530': 'the account may not log on at this time',
  '531': 'the account may not log on from this workstation',
  '532': 'the password has expired',
  '533': 'the account is disabled',
  '568': 'the account has too many security identifiers',
  '701': 'the account has expired',
  '773': 'the password must be changed before the first logon',
  '775': 'the account is locked out',
};

const CERT_PROBLEMS: Readonly<Record<string, string>> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: "the server's certificate is self-signed and not trusted",
  SELF_SIGNED_CERT_IN_CHAIN: "the server's certificate chain ends in a CA that is not trusted",
  UNABLE_TO_GET_ISSUER_CERT: "the issuer of the server's certificate is not trusted",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "the issuer of the server's certificate is not trusted",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the server's certificate cannot be verified by a trusted CA",
  CERT_UNTRUSTED: "the server's certificate is not trusted",
  CERT_REJECTED: "the server's certificate is rejected",
  INVALID_CA: 'a CA certificate in the chain is not valid for a CA',
  CERT_HAS_EXPIRED: "the server's certificate has expired",
  CERT_NOT_YET_VALID: "the server's certificate is not valid yet",
  CERT_REVOKED: "the server's certificate is revoked",
  CERT_SIGNATURE_FAILURE: "the server's certificate has a bad signature",
  CERT_CHAIN_TOO_LONG: "the server's certificate chain is too long",
  PATH_LENGTH_EXCEEDED: "the server's certificate chain is too long",
  INVALID_PURPOSE: "the server's certificate is not meant for a TLS server",
  HOSTNAME_MISMATCH: "the server's certificate names another host",
  ERR_TLS_CERT_ALTNAME_INVALID: "the server's certificate names another host",
};

const TLS_HINT = "give the DC's CA certificate with --ca-file (ASCEND_LDAP_CA_FILE); for a test DC only, set ASCEND_LDAP_TLS_INSECURE=1";

const UNREACHABLE_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'the connection was refused (is the DC up, and is this its LDAP port?)',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved (DNS did not answer)',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  EHOSTDOWN: 'the host is down',
  ECONNRESET: 'the server reset the connection',
  EPIPE: 'the server closed the connection',
  ECONNABORTED: 'the connection was aborted',
};

/** Replaces each secret in `text` by "***". */
export function redact(text: string, secrets: readonly string[] | undefined): string {
  let out = text;
  for (const secret of secrets ?? []) if (secret !== '') out = out.split(secret).join('***');
  return out;
}

/**
 * Text that came from the server or the socket layer, on one line, without control
 * characters, shortened, and with every secret replaced. Only such text is redacted: our
 * own wording holds no secret, and redacting it would let a short password show where
 * "***" lands in a known sentence.
 */
function serverText(message: string, secrets: readonly string[] | undefined): string {
  return oneLine(redact(message, secrets));
}

function oneLine(message: string): string {
  // Control characters (NUL, tabs, line breaks) become spaces; runs of spaces collapse.
  const oneLine = [...message].map((ch) => (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f ? ' ' : ch)).join('').replace(/ +/g, ' ').trim();
  return oneLine.length > 300 ? `${oneLine.slice(0, 297)}...` : oneLine;
}

function errorCodeOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'string') return (err as { code: string }).code;
  return undefined;
}

function what(ctx: LdapErrorContext): string {
  const target = ctx.dn === undefined ? '' : ` "${ctx.dn}"`;
  switch (ctx.operation) {
    case 'search':
      return `search of${target === '' ? ' the directory' : target}`;
    case 'add':
      return `adding${target}`;
    case 'modify':
      return `modifying${target}`;
    case 'delete':
      return `deleting${target}`;
    case 'bind':
      return `bind as "${ctx.bindDn ?? ''}"`;
    case 'starttls':
      return 'StartTLS';
    case 'connect':
      return 'connecting';
    case 'unbind':
      return 'unbind';
  }
}

function fromResultCode(err: ResultCodeError, ctx: LdapErrorContext): AscendError {
  // ldapts appends " Code: 0x.." to the server's text; the messages below name the code themselves.
  const text = serverText(err.message.replace(/\s*Code: 0x[0-9a-f]+\s*$/i, ''), ctx.secrets);
  const detail = text === '' ? '' : `: ${text}`;
  const cause = { cause: err };
  switch (err.code) {
    case 49: {
      const data = /\bdata ([0-9a-f]{3,4})\b/i.exec(err.message)?.[1]?.toLowerCase();
      const reason = (data !== undefined ? AD_BIND_REASONS[data] : undefined) ?? 'wrong user name or password';
      return new AscendError('ASC_LDAP_BAD_CREDENTIALS', `The directory at ${ctx.url} refused the bind as "${ctx.bindDn ?? ''}": ${reason}`, {
        ...cause,
        hint: 'check the user (a DN or user@realm) and the password',
      });
    }
    case 32:
      // The server's text adds nothing an admin can use (Samba names its source file).
      if (ctx.operation === 'add') {
        return new AscendError('ASC_LDAP_NO_SUCH_OBJECT', `Cannot add "${ctx.dn ?? ''}" in the directory at ${ctx.url}: its parent (or an object a DN value names) does not exist`, cause);
      }
      if (ctx.operation === 'modify') {
        return new AscendError('ASC_LDAP_NO_SUCH_OBJECT', `Cannot modify "${ctx.dn ?? ''}" in the directory at ${ctx.url}: it (or an object a DN value names) does not exist`, cause);
      }
      return new AscendError('ASC_LDAP_NO_SUCH_OBJECT', `No object "${ctx.dn ?? ''}" in the directory at ${ctx.url}`, cause);
    case 50:
      return new AscendError('ASC_LDAP_INSUFFICIENT_RIGHTS', `The account "${ctx.bindDn ?? ''}" lacks the rights for ${what(ctx)}${detail}`, {
        ...cause,
        hint: 'use an account with the rights, e.g. a member of Group Policy Creator Owners or Domain Admins',
      });
    case 8:
    case 13:
      return new AscendError('ASC_LDAP_TLS_REQUIRED', `The directory at ${ctx.url} requires TLS for ${what(ctx)} (LDAP ${err.code} ${resultCodeName(err.code)})${detail}`, {
        ...cause,
        hint: 'use ldaps:// or StartTLS',
      });
    case 68:
      return new AscendError('ASC_LDAP_ALREADY_EXISTS', `An object "${ctx.dn ?? ''}" already exists in the directory at ${ctx.url}`, cause);
    default:
      return new AscendError('ASC_LDAP_ERROR', `LDAP ${what(ctx)} failed with result code ${err.code} (${resultCodeName(err.code)})${detail}`, cause);
  }
}

function tlsFailure(err: Error, code: string | undefined, ctx: LdapErrorContext): AscendError | undefined {
  const problem = code !== undefined ? CERT_PROBLEMS[code] : undefined;
  if (problem !== undefined) {
    let message = `TLS handshake with ${ctx.url} failed: ${problem} (${code})`;
    let hint = TLS_HINT;
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH') {
      const cert = (err as { cert?: { subject?: { CN?: unknown }; subjectaltname?: unknown } }).cert;
      const cn = typeof cert?.subject?.CN === 'string' ? cert.subject.CN : undefined;
      const host = (err as { host?: unknown }).host;
      if (cn !== undefined) message = `TLS handshake with ${ctx.url} failed: the certificate is for "${cn}", not "${typeof host === 'string' ? host : '?'}" (${code})`;
      hint = 'connect by the name in the certificate, or name it with tlsServerName; for a test DC only, set ASCEND_LDAP_TLS_INSECURE=1';
    }
    return new AscendError('ASC_LDAP_TLS_FAILED', message, { cause: err, hint });
  }
  const text = err.message;
  if (code === 'EPROTO' || code?.startsWith('ERR_SSL_') || code?.startsWith('ERR_TLS_') || /\b(SSL|TLS)\b|secure TLS connection/i.test(text)) {
    const reason = /before secure TLS connection was established/i.test(text)
      ? 'the server closed the connection during the handshake (does it speak LDAPS on this port?)'
      : serverText(text, ctx.secrets);
    return new AscendError('ASC_LDAP_TLS_FAILED', `TLS handshake with ${ctx.url} failed: ${reason}${code ? ` (${code})` : ''}`, { cause: err, hint: TLS_HINT });
  }
  return undefined;
}

/** Maps any error from an LDAP operation to an AscendError (an AscendError passes through). */
export function mapLdapError(err: unknown, ctx: LdapErrorContext): AscendError {
  if (isAscendError(err)) return err;
  if (err instanceof ResultCodeError) return fromResultCode(err, ctx);
  if (!(err instanceof Error)) return new AscendError('ASC_LDAP_ERROR', `LDAP ${what(ctx)} failed: ${serverText(String(err), ctx.secrets)}`, { cause: err });
  const code = errorCodeOf(err);
  const tls = tlsFailure(err, code, ctx);
  if (tls) return tls;
  if ((code === 'ECONNRESET' || code === 'EPIPE') && (ctx.url.startsWith('ldaps:') || ctx.operation === 'starttls')) {
    // A raw reset (not wrapped by ldapts) happens while connecting: the TLS handshake was cut.
    return new AscendError('ASC_LDAP_TLS_FAILED', `TLS handshake with ${ctx.url} failed: the server closed the connection during the handshake (does it speak ${ctx.operation === 'starttls' ? 'StartTLS' : 'LDAPS'} on this port?) (${code})`, {
      cause: err,
      hint: 'use ldaps:// with the LDAPS port (636), or ldap:// with StartTLS on the LDAP port (389)',
    });
  }
  const unreachable = code !== undefined ? UNREACHABLE_CODES[code] : undefined;
  if (unreachable !== undefined) {
    return new AscendError('ASC_LDAP_UNREACHABLE', `Cannot reach the directory at ${ctx.url}: ${unreachable}`, { cause: err, hint: 'check the URL and that the DC is up' });
  }
  const text = err.message;
  if (/^Connection timeout$/i.test(text) || /Operation timed out/i.test(text)) {
    const within = ctx.timeoutMs !== undefined ? ` within ${ctx.timeoutMs} ms` : '';
    return new AscendError('ASC_LDAP_UNREACHABLE', `The directory at ${ctx.url} did not answer${within} (${what(ctx)})`, {
      cause: err,
      hint: 'check the URL, the firewall, and that the DC is up',
    });
  }
  if (/Connection closed before message response|Socket error|Socket connection not established/i.test(text)) {
    return new AscendError('ASC_LDAP_UNREACHABLE', `The connection to ${ctx.url} was lost during ${what(ctx)}: ${serverText(text.split('\n').pop() ?? text, ctx.secrets)}`, {
      cause: err,
      hint: 'connect again; check that the DC is up',
    });
  }
  return new AscendError('ASC_LDAP_ERROR', `LDAP ${what(ctx)} failed: ${serverText(text, ctx.secrets)}`, { cause: err });
}
