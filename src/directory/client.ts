/**
 * Active Directory over LDAP (ldapts): connect over TLS, bind, read the RootDSE, and the
 * few operations the GPO integration needs: paged search, get, add, modify, delete, tree
 * delete, tokenGroups. Every failure is an AscendError (see ./errors.ts); the password is
 * never stored past the bind and never appears in a message.
 */
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Attribute, BerWriter, Change, Client, Control, Filter, type Entry, type SearchFilterValues } from 'ldapts';
import { AscendError, isAscendError } from '../errors.js';
import { dnsDomainFromDn, splitDn } from './dn.js';
import { mapLdapError, type LdapOperation } from './errors.js';
import { filterToString, parseFilter, type FilterNode } from './filter.js';
import { SD_FLAGS, sdFlagsOf } from './security-descriptor.js';
import { sidToString } from './sid.js';

export interface DirectoryOptions {
  /** ldaps://host[:port] or ldap://host[:port]. */
  url: string;
  /** A DN or user@realm (UPN): both work with an AD simple bind. */
  bindDn: string;
  password: string;
  /** A PEM CA bundle to trust (instead of the system's CAs). */
  caFile?: string;
  /** Accept any certificate (test DCs only). */
  tlsInsecure?: boolean;
  /** With ldap://: StartTLS before the bind. */
  startTls?: boolean;
  /** Permit a simple bind over ldap:// without TLS (refused otherwise, before any network I/O). */
  allowPlainLdap?: boolean;
  /** Per-operation and connect timeout; default 15000. */
  timeoutMs?: number;
  /**
   * The name to check the server's certificate against (and to send as SNI), when the URL
   * names the server otherwise, e.g. by IP address. Default: the URL's host.
   */
  tlsServerName?: string;
}

/** A directory object; attribute names are lower-cased. Binary attributes are in `binary`, not in `attrs`. */
export interface DirEntry {
  dn: string;
  attrs: Record<string, string[]>;
  binary: Record<string, Buffer[]>;
}

export interface SearchOptions {
  /** Default 'sub'. */
  scope?: 'base' | 'one' | 'sub';
  /** RFC 4515; default (objectClass=*). Escape values with escapeFilterValue. */
  filter?: string;
  /** Attributes to return; default all user attributes. */
  attributes?: string[];
  /** Attributes to return as Buffers, besides objectSid, objectGUID, tokenGroups, nTSecurityDescriptor and a few more. */
  binaryAttributes?: string[];
  /** LDAP_SERVER_SD_FLAGS for nTSecurityDescriptor; default OWNER|GROUP|DACL when nTSecurityDescriptor is requested. */
  sdFlags?: number;
  /** Entries per page for one/sub searches; default 1000 (AD's MaxPageSize). */
  pageSize?: number;
}

export type DirChange = { operation: 'add' | 'delete' | 'replace'; attribute: string; values: (string | Buffer)[] };

/** LDAP_SERVER_SD_FLAGS_OID: which parts of nTSecurityDescriptor to read or write. */
export const SD_FLAGS_CONTROL_OID = '1.2.840.113556.1.4.801';
/** LDAP_SERVER_TREE_DELETE_OID: delete an object and everything under it. */
export const TREE_DELETE_CONTROL_OID = '1.2.840.113556.1.4.805';

const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_PAGE_SIZE = 1000;

/** Attributes whose values are binary in AD; always returned as Buffers. */
const BINARY_ATTRIBUTES: readonly string[] = [
  'objectSid',
  'objectGUID',
  'tokenGroups',
  'tokenGroupsGlobalAndUniversal',
  'tokenGroupsNoGCAcceptable',
  'nTSecurityDescriptor',
  'sIDHistory',
  'schemaIDGUID',
  'attributeSecurityGUID',
  'mS-DS-ConsistencyGuid',
  'msDS-GenerationId',
];

/** The SD flags control's value: BER SEQUENCE { INTEGER flags }. */
class SdFlagsControl extends Control {
  constructor(readonly flags: number) {
    super(SD_FLAGS_CONTROL_OID, { critical: true });
  }

  protected override writeControl(writer: BerWriter): void {
    const value = new BerWriter();
    value.startSequence();
    value.writeInt(this.flags);
    value.endSequence();
    writer.writeBuffer(value.buffer, 0x04);
  }
}

/** The tree delete control has no value. */
class TreeDeleteControl extends Control {
  constructor() {
    super(TREE_DELETE_CONTROL_OID, { critical: true });
  }
}

const FILTER_TAG: Readonly<Record<FilterNode['kind'], SearchFilterValues>> = {
  and: 0xa0,
  or: 0xa1,
  not: 0xa2,
  equal: 0xa3,
  substrings: 0xa4,
  'greater-or-equal': 0xa5,
  'less-or-equal': 0xa6,
  present: 0x87,
  approx: 0xa8,
  extensible: 0xa9,
};

/** Writes a parsed filter as RFC 4511 BER, assertion values as the bytes they are. */
function writeFilterNode(writer: BerWriter, node: FilterNode): void {
  const tag = FILTER_TAG[node.kind];
  switch (node.kind) {
    case 'and':
    case 'or':
      writer.startSequence(tag);
      for (const child of node.children) writeFilterNode(writer, child);
      writer.endSequence();
      return;
    case 'not':
      writer.startSequence(tag);
      writeFilterNode(writer, node.child);
      writer.endSequence();
      return;
    case 'present':
      writer.writeBuffer(Buffer.from(node.attribute, 'utf8'), tag);
      return;
    case 'equal':
    case 'greater-or-equal':
    case 'less-or-equal':
    case 'approx':
      writer.startSequence(tag);
      writer.writeString(node.attribute);
      writer.writeBuffer(node.value, 0x04);
      writer.endSequence();
      return;
    case 'substrings':
      writer.startSequence(tag);
      writer.writeString(node.attribute);
      writer.startSequence();
      if (node.initial) writer.writeBuffer(node.initial, 0x80);
      for (const piece of node.any) writer.writeBuffer(piece, 0x81);
      if (node.final) writer.writeBuffer(node.final, 0x82);
      writer.endSequence();
      writer.endSequence();
      return;
    case 'extensible':
      writer.startSequence(tag);
      if (node.rule !== undefined) writer.writeBuffer(Buffer.from(node.rule, 'utf8'), 0x81);
      if (node.attribute !== undefined) writer.writeBuffer(Buffer.from(node.attribute, 'utf8'), 0x82);
      writer.writeBuffer(node.value, 0x83);
      if (node.dnAttributes) writer.writeBoolean(true, 0x84);
      writer.endSequence();
      return;
  }
}

/**
 * An ldapts Filter that writes our parsed filter. ldapts' own string parser turns "\xx"
 * escapes into characters and sends them UTF-8 encoded, which corrupts binary values
 * (a SID byte 0x80 would go out as c2 80); this one sends the bytes.
 */
class ParsedFilter extends Filter {
  type: SearchFilterValues;
  constructor(readonly node: FilterNode) {
    super();
    this.type = FILTER_TAG[node.kind];
  }

  override write(writer: BerWriter): void {
    writeFilterNode(writer, this.node);
  }

  override toString(): string {
    return filterToString(this.node);
  }
}

/** ldapts compares attribute names to explicitBufferAttributes with includes(); AD names are case-insensitive. */
class CaseInsensitiveNames extends Array<string> {
  override includes(name: string): boolean {
    const lower = name.toLowerCase();
    return this.some((n) => n.toLowerCase() === lower);
  }
}

function namesList(names: readonly string[]): string[] {
  const list = new CaseInsensitiveNames();
  list.push(...names);
  return list;
}

interface ParsedUrl {
  scheme: 'ldap' | 'ldaps';
  host: string;
  port: number;
  /** The URL as given to ldapts and named in messages: scheme://host:port. */
  url: string;
}

function parseLdapUrl(url: string): ParsedUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AscendError('ASC_CONFIG', `"${url}" is not an LDAP URL: expected ldaps://host[:port] or ldap://host[:port]`);
  }
  const scheme = parsed.protocol.replace(/:$/, '').toLowerCase();
  if (scheme !== 'ldap' && scheme !== 'ldaps') throw new AscendError('ASC_CONFIG', `"${url}" is not an LDAP URL: the scheme must be ldaps:// or ldap://`);
  if (parsed.hostname === '') throw new AscendError('ASC_CONFIG', `"${url}" names no host`);
  if ((parsed.pathname !== '' && parsed.pathname !== '/') || parsed.search !== '' || parsed.hash !== '' || parsed.username !== '' || parsed.password !== '') {
    throw new AscendError('ASC_CONFIG', `"${url.replace(/\/\/[^@/]*@/, '//***@')}" has more than scheme, host and port; give the base DN and credentials separately`);
  }
  const port = parsed.port !== '' ? Number(parsed.port) : scheme === 'ldaps' ? 636 : 389;
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const hostForUrl = isIP(host) === 6 ? `[${host}]` : host;
  return { scheme, host, port, url: `${scheme}://${hostForUrl}:${port}` };
}

function readCaFile(caFile: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(caFile);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOENT') throw new AscendError('ASC_FILE_NOT_FOUND', `CA file "${caFile}" does not exist`, { cause: e });
    throw new AscendError('ASC_FILE_UNREADABLE', `CA file "${caFile}" cannot be read: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new AscendError('ASC_CONFIG', `CA file "${caFile}" holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  return pem;
}

function toDirEntry(entry: Entry, binaryNames: ReadonlySet<string>): DirEntry {
  const out: DirEntry = { dn: entry.dn, attrs: {}, binary: {} };
  for (const [name, raw] of Object.entries(entry)) {
    if (name === 'dn') continue;
    const values: (string | Buffer)[] = Array.isArray(raw) ? raw : [raw];
    if (values.length === 0) continue; // requested but absent
    const key = name.toLowerCase();
    if (binaryNames.has(key) || values.some((v) => Buffer.isBuffer(v))) {
      // A declared-binary value can only arrive as a string if ldapts did not match its name; UTF-8 gives its bytes back.
      out.binary[key] = [...(out.binary[key] ?? []), ...values.map((v) => (Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8')))];
    } else {
      out.attrs[key] = [...(out.attrs[key] ?? []), ...(values as string[])];
    }
  }
  return out;
}

function toAttribute(type: string, values: readonly (string | Buffer)[]): Attribute {
  if (values.some((v) => Buffer.isBuffer(v))) {
    return new Attribute({ type, values: values.map((v) => (Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8'))) });
  }
  return new Attribute({ type, values: values as string[] });
}

function dnDepth(dn: string): number {
  return splitDn(dn).length;
}

/** A bound connection to a domain controller. */
export class Directory {
  /** The server, as scheme://host:port. */
  readonly url: string;
  /** The bind identity (not a secret). */
  readonly bindDn: string;
  readonly defaultNamingContext: string;
  readonly configurationNamingContext: string;
  readonly schemaNamingContext: string;
  /** The DNS name of the domain, from the default naming context (corp.example.test). */
  readonly dnsDomain: string;
  /** The DC's DNS host name, from the RootDSE ('' when it does not say). */
  readonly dnsHostName: string;
  /** OIDs of the controls the server supports. */
  readonly supportedControls: ReadonlySet<string>;
  /** LDAP requests sent so far: bind, StartTLS, each search page, add, modify, delete. */
  roundTrips = 0;

  // Plain (not #private) fields, so a Proxy or a wrapper that calls the methods with another
  // `this` still works; non-enumerable, so inspecting or serialising a Directory shows none of them.
  private declare readonly client: Client;
  private declare readonly timeoutMs: number;
  private declare closed: boolean;

  private constructor(client: Client, url: string, bindDn: string, timeoutMs: number, rootDse: DirEntry, roundTrips: number) {
    Object.defineProperty(this, 'client', { value: client, enumerable: false });
    Object.defineProperty(this, 'timeoutMs', { value: timeoutMs, enumerable: false });
    Object.defineProperty(this, 'closed', { value: false, enumerable: false, writable: true });
    this.url = url;
    this.bindDn = bindDn;
    this.roundTrips = roundTrips;
    const first = (name: string): string => rootDse.attrs[name.toLowerCase()]?.[0] ?? '';
    this.defaultNamingContext = first('defaultNamingContext');
    this.configurationNamingContext = first('configurationNamingContext');
    this.schemaNamingContext = first('schemaNamingContext');
    this.dnsHostName = first('dnsHostName');
    this.dnsDomain = dnsDomainFromDn(this.defaultNamingContext);
    this.supportedControls = new Set(rootDse.attrs['supportedcontrol'] ?? []);
  }

  /**
   * Connects, (StartTLS,) binds and reads the RootDSE. A simple bind over ldap:// without
   * startTls or allowPlainLdap is refused before any network I/O (ASC_LDAP_INSECURE_REFUSED).
   */
  static async connect(options: DirectoryOptions): Promise<Directory> {
    const target = parseLdapUrl(options.url);
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new AscendError('ASC_CONFIG', `timeout ${timeoutMs} ms is not a positive number`);
    if (target.scheme === 'ldaps' && options.startTls === true) {
      throw new AscendError('ASC_CONFIG', `StartTLS applies to ldap:// URLs; ${target.url} is already TLS`);
    }
    if (target.scheme === 'ldap' && options.startTls !== true && options.allowPlainLdap !== true) {
      throw new AscendError(
        'ASC_LDAP_INSECURE_REFUSED',
        `Refusing a simple bind to ${target.url} without TLS (the password would cross the network in clear): use ldaps://${target.host}:636 or StartTLS, or allow plain LDAP explicitly on a lab network`,
      );
    }
    if (options.bindDn.trim() === '') throw new AscendError('ASC_CONFIG', 'no bind user given (a DN or user@realm)');
    // RFC 4513 5.1.2: a simple bind with a name and an empty password is an unauthenticated
    // bind, which servers answer with success; refuse it rather than act anonymously.
    if (options.password === '') throw new AscendError('ASC_CONFIG', `no password given for "${options.bindDn}"`);

    const tlsOptions: ConnectionOptions = { rejectUnauthorized: options.tlsInsecure !== true };
    if (options.caFile !== undefined) tlsOptions.ca = readCaFile(options.caFile);
    if (options.tlsServerName !== undefined) tlsOptions.servername = options.tlsServerName;
    else if (isIP(target.host) === 0) tlsOptions.servername = target.host;

    const client = new Client({
      url: target.url,
      timeout: timeoutMs,
      connectTimeout: timeoutMs,
      // Only for ldaps: ldapts opens a TLS socket whenever TLS options are given.
      ...(target.scheme === 'ldaps' ? { tlsOptions } : {}),
    });
    let roundTrips = 0;
    const ctx = { url: target.url, bindDn: options.bindDn, timeoutMs, secrets: [options.password] };
    let operation: LdapOperation = 'connect';
    try {
      if (options.startTls === true) {
        operation = 'starttls';
        roundTrips++;
        await client.startTLS({ ...tlsOptions, host: target.host });
      }
      operation = 'bind';
      roundTrips++;
      await client.bind(options.bindDn, options.password);
      operation = 'search';
      roundTrips++;
      const result = await client.search('', {
        scope: 'base',
        filter: new ParsedFilter({ kind: 'present', attribute: 'objectClass' }),
        attributes: ['defaultNamingContext', 'configurationNamingContext', 'schemaNamingContext', 'dnsHostName', 'supportedControl'],
      });
      const first = result.searchEntries[0];
      if (first === undefined) throw new AscendError('ASC_LDAP_ERROR', `The server at ${target.url} returned no RootDSE; is it a directory server?`);
      const rootDse = toDirEntry(first, new Set());
      if ((rootDse.attrs['defaultnamingcontext']?.[0] ?? '') === '') {
        throw new AscendError('ASC_LDAP_ERROR', `The server at ${target.url} names no defaultNamingContext; is it an Active Directory domain controller?`);
      }
      return new Directory(client, target.url, options.bindDn, timeoutMs, rootDse, roundTrips);
    } catch (e) {
      await client.unbind().catch(() => undefined);
      throw mapLdapError(e, { ...ctx, operation, ...(operation === 'search' ? { dn: '(the RootDSE)' } : {}) });
    }
  }

  private ensureOpen(): void {
    if (this.closed) throw new AscendError('ASC_INTERNAL', `the connection to ${this.url} was used after close()`);
    // Without autoRebind, ldapts would reconnect silently and unauthenticated; say so instead.
    if (!this.client.isBound) {
      throw new AscendError('ASC_LDAP_UNREACHABLE', `The connection to ${this.url} was closed (server restart or idle timeout); connect again`, {
        hint: 'check that the DC is up',
      });
    }
  }

  private fail(e: unknown, operation: LdapOperation, dn: string): AscendError {
    return mapLdapError(e, { url: this.url, operation, dn, bindDn: this.bindDn, timeoutMs: this.timeoutMs });
  }

  /** Searches under `base`, following paged results to the end (one request per page). */
  async search(base: string, options: SearchOptions = {}): Promise<DirEntry[]> {
    this.ensureOpen();
    const scope = options.scope ?? 'sub';
    const filter = new ParsedFilter(parseFilter(options.filter ?? '(objectClass=*)'));
    const binary = [...BINARY_ATTRIBUTES, ...(options.binaryAttributes ?? [])];
    const binaryNames = new Set(binary.map((n) => n.toLowerCase()));
    const wantsSd = (options.attributes ?? []).some((a) => a.toLowerCase() === 'ntsecuritydescriptor');
    const sdFlags = options.sdFlags ?? (wantsSd ? SD_FLAGS.OWNER | SD_FLAGS.GROUP | SD_FLAGS.DACL : undefined);
    const controls: Control[] = sdFlags !== undefined ? [new SdFlagsControl(sdFlags)] : [];
    const ldapOptions = {
      scope,
      filter,
      ...(options.attributes !== undefined ? { attributes: [...options.attributes] } : {}),
      explicitBufferAttributes: namesList(binary),
    };
    const entries: DirEntry[] = [];
    try {
      if (scope === 'base') {
        this.roundTrips++;
        const result = await this.client.search(base, ldapOptions, controls);
        for (const e of result.searchEntries) entries.push(toDirEntry(e, binaryNames));
        return entries;
      }
      const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
      if (!Number.isInteger(pageSize) || pageSize < 1) throw new AscendError('ASC_INTERNAL', `page size ${pageSize} is not a positive integer`);
      const pages = this.client.searchPaginated(base, { ...ldapOptions, paged: { pageSize } }, controls);
      for (;;) {
        // Each next() sends one request, except the last, which finds no cookie left and sends nothing.
        this.roundTrips++;
        const page = await pages.next();
        if (page.done === true) {
          this.roundTrips--;
          break;
        }
        for (const e of page.value.searchEntries) entries.push(toDirEntry(e, binaryNames));
      }
      return entries;
    } catch (e) {
      throw this.fail(e, 'search', base);
    }
  }

  /** Reads one object (a base search); undefined when there is no object at `dn`. */
  async get(dn: string, attributes?: string[], binaryAttributes?: string[], sdFlags?: number): Promise<DirEntry | undefined> {
    try {
      const found = await this.search(dn, {
        scope: 'base',
        ...(attributes !== undefined ? { attributes } : {}),
        ...(binaryAttributes !== undefined ? { binaryAttributes } : {}),
        ...(sdFlags !== undefined ? { sdFlags } : {}),
      });
      return found[0];
    } catch (e) {
      if (isAscendError(e) && e.code === 'ASC_LDAP_NO_SUCH_OBJECT') return undefined;
      throw e;
    }
  }

  /** Creates an object. Attributes with no values are left out. */
  async add(dn: string, attributes: Record<string, string | string[] | Buffer | Buffer[]>): Promise<void> {
    this.ensureOpen();
    const list: Attribute[] = [];
    for (const [type, value] of Object.entries(attributes)) {
      const values: (string | Buffer)[] = Array.isArray(value) ? value : [value];
      if (values.length > 0) list.push(toAttribute(type, values));
    }
    try {
      this.roundTrips++;
      await this.client.add(dn, list);
    } catch (e) {
      throw this.fail(e, 'add', dn);
    }
  }

  /**
   * Changes an object in one request. A change of nTSecurityDescriptor is sent with the SD
   * flags control naming the parts the new descriptor carries, so an owner/group/DACL
   * descriptor does not try to replace the SACL.
   */
  async modify(dn: string, changes: DirChange[]): Promise<void> {
    this.ensureOpen();
    if (changes.length === 0) return;
    let sdFlags = 0;
    const list = changes.map((c) => {
      if (c.attribute.toLowerCase() === 'ntsecuritydescriptor') {
        for (const v of c.values) sdFlags |= sdFlagsOf(Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8'));
      }
      return new Change({ operation: c.operation, modification: toAttribute(c.attribute, c.values) });
    });
    const controls = sdFlags !== 0 ? [new SdFlagsControl(sdFlags)] : [];
    try {
      this.roundTrips++;
      await this.client.modify(dn, list, controls);
    } catch (e) {
      throw this.fail(e, 'modify', dn);
    }
  }

  /** Deletes a leaf object. */
  async delete(dn: string): Promise<void> {
    this.ensureOpen();
    try {
      this.roundTrips++;
      await this.client.del(dn);
    } catch (e) {
      throw this.fail(e, 'delete', dn);
    }
  }

  /**
   * Deletes an object and everything under it: in one request with the tree delete control
   * when the server supports it, else children first (deepest first), then the object.
   */
  async deleteTree(dn: string): Promise<void> {
    this.ensureOpen();
    if (this.supportedControls.has(TREE_DELETE_CONTROL_OID)) {
      try {
        this.roundTrips++;
        await this.client.del(dn, [new TreeDeleteControl()]);
        return;
      } catch (e) {
        const mapped = this.fail(e, 'delete', dn);
        // Fall back to deleting one by one only when the server would not do the tree delete itself.
        if (mapped.code !== 'ASC_LDAP_ERROR') throw mapped;
      }
    }
    const below = await this.search(dn, { scope: 'sub', attributes: ['1.1'] });
    const dns = below.map((e) => e.dn).sort((a, b) => dnDepth(b) - dnDepth(a));
    for (const child of dns) await this.delete(child);
  }

  /** The SIDs of the object's tokenGroups (its transitive group memberships, primary group included). */
  async tokenGroups(dn: string): Promise<string[]> {
    const entry = await this.search(dn, { scope: 'base', attributes: ['tokenGroups'] });
    const first = entry[0];
    if (first === undefined) throw new AscendError('ASC_LDAP_NO_SUCH_OBJECT', `No object "${dn}" in the directory at ${this.url}`);
    return (first.binary['tokengroups'] ?? []).map((b) => sidToString(b));
  }

  /** Unbinds and closes the connection; later calls do nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.client.unbind();
    } catch {
      // The connection is gone either way.
    }
  }
}
