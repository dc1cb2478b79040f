/**
 * The collector's identity (issue 13): the TLS certificate it serves, the certificate
 * authority agents pin at enrollment (the "anchor"), and the Ed25519 key that signs grants.
 *
 * On the first start `loadOrCreateIdentity` makes, in DATA/tls/ (mode 0700), a certificate
 * authority (ca.pem, ca.key) and a server certificate it signed (server.pem = leaf and CA,
 * server.key), and DATA/grant-signing.key. Later starts keep the CA (agents pinned it) and
 * issue a new server certificate only when the old one does not name every wanted name, was
 * not issued by this CA, or expires within 30 days. With the admin's own certificate
 * (--tls-cert/--tls-key) the anchor is the CA that issued it (--tls-ca, or the self-signed
 * last certificate of the chain).
 *
 * Private keys are written atomically with mode 0600 and read only when they are regular
 * files of this user that nobody else may read or write: anything else fails closed with
 * one line naming the file.
 */
import { createPrivateKey, generateKeyPairSync, KeyObject, randomBytes, X509Certificate, webcrypto } from 'node:crypto';
import { constants as fsc, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AscendError, isAscendError } from '../../errors.js';
import { pinOfCertificate } from '../../collector-api/pin.js';

export const TLS_DIR = 'tls';
export const GRANT_KEY_FILE = 'grant-signing.key';

const DAY_MS = 86_400_000;
const CA_DAYS = 3650;
const SERVER_DAYS = 825;
/** A server certificate that expires sooner than this is issued anew at start. */
const RENEW_BEFORE_MS = 30 * DAY_MS;
/** Agents' clocks may run a little behind. */
const BACKDATE_MS = 5 * 60_000;
const MAX_PEM_BYTES = 256 * 1024;

export interface IdentityOptions {
  /** The --host address the collector listens on. */
  host: string;
  /** Extra names (--tls-name): DNS names or IP addresses agents reach the collector by. */
  names?: readonly string[];
  /** The admin's own certificate chain and key (--tls-cert/--tls-key), and the CA that issued it (--tls-ca). */
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  now?: Date;
}

export interface CollectorTlsIdentity {
  https: { cert: string; key: string };
  /** The certificate authority agents pin (PEM) and its pin (base64url SHA-256 of its DER). */
  anchor: string;
  pin: string;
  /** Ed25519 private key that signs grants. */
  grantKey: KeyObject;
  /** The file holding the anchor: DATA/tls/ca.pem, --tls-ca, or the --tls-cert chain. */
  caFile: string;
  /** What this start made: a new CA, a new server certificate, a new grant key. */
  made: { ca: boolean; serverCert: boolean; grantKey: boolean };
}

export interface GrantKeyResult {
  key: KeyObject;
  file: string;
  created: boolean;
}

function errno(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}

function myUid(): number | undefined {
  return process.getuid?.();
}

/** DNS names (letters, digits, hyphens; no wildcard) and IP addresses, in the form a certificate holds them. */
export function normalizeTlsName(name: string): string {
  const n = name.trim().replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(n) !== 0) return n;
  const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
  if (n.length > 0 && n.length <= 253 && n.split('.').every((l) => label.test(l))) return n;
  throw new AscendError('ASC_USAGE', `--tls-name must be a DNS name or an IP address: ${JSON.stringify(name)}`);
}

/** The names the server certificate must hold: loopback, this host's name, a specific --host, every --tls-name. */
export function wantedNames(host: string, extra: readonly string[] = [], hostname = os.hostname()): string[] {
  const names = ['localhost', '127.0.0.1', '::1'];
  try {
    names.push(normalizeTlsName(hostname));
  } catch {
    // A host name that is no DNS name is not put in a certificate.
  }
  const h = host.trim().replace(/^\[|\]$/g, '');
  if (h !== '' && h !== '0.0.0.0' && h !== '::') names.push(normalizeTlsName(h));
  for (const n of extra) names.push(normalizeTlsName(n));
  return [...new Set(names)];
}

/** Whether a certificate names every wanted name (subject alternative names only). */
export function certificateCovers(cert: X509Certificate, names: readonly string[]): boolean {
  return names.every((n) => (isIP(n) !== 0 ? cert.checkIP(n) !== undefined : cert.checkHost(n, { subject: 'never', wildcards: false }) !== undefined));
}

/** The certificates of a PEM text, in order. */
export function splitPemCertificates(text: string, where: string): X509Certificate[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new AscendError('ASC_KEY_INVALID', `${where}: holds no PEM certificate`);
  return blocks.map((b) => {
    try {
      return new X509Certificate(b);
    } catch {
      throw new AscendError('ASC_KEY_INVALID', `${where}: holds a certificate that cannot be read`);
    }
  });
}

// ---------------------------------------------------------------------------------------
// Files

/**
 * A folder for key files: created 0700; an existing one must be a real directory of this user
 * that no one else may enter (`closed`), or at least that no one else may write (DATA itself).
 */
async function privateFolder(dir: string, closed: boolean): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 }).catch((e: unknown) => {
    throw new AscendError('ASC_FILE_UNREADABLE', `${dir}: cannot create the folder (${errno(e)})`);
  });
  const st = await fs.lstat(dir);
  if (!st.isDirectory()) throw new AscendError('ASC_KEY_FILE_INSECURE', `${dir}: is not a folder (a symbolic link or a file); the collector keeps its keys only in a real folder`);
  const uid = myUid();
  if (uid !== undefined && st.uid !== uid) throw new AscendError('ASC_KEY_FILE_INSECURE', `${dir}: belongs to another user (uid ${st.uid}); the collector keeps its keys only in its own folder`);
  if (process.platform !== 'win32' && (st.mode & (closed ? 0o077 : 0o022)) !== 0) {
    throw new AscendError('ASC_KEY_FILE_INSECURE', `${dir}: the key folder has mode ${(st.mode & 0o777).toString(8).padStart(3, '0')}, open to group or others; run chmod 700 ${dir}`);
  }
}

/**
 * Reads a file, refusing a symbolic link, anything but a regular file, a file of another
 * user and (with `secret`) one its group or others may read or write; checked on the open
 * file. undefined when it does not exist.
 */
async function readOwnFile(file: string, secret: boolean): Promise<string | undefined> {
  let handle: FileHandle;
  try {
    handle = await fs.open(file, fsc.O_RDONLY | (fsc.O_NOFOLLOW ?? 0) | (fsc.O_NONBLOCK ?? 0));
  } catch (e) {
    if (errno(e) === 'ENOENT') return undefined;
    if (errno(e) === 'ELOOP') throw new AscendError('ASC_KEY_FILE_INSECURE', `${file}: is a symbolic link; refused`);
    throw new AscendError('ASC_FILE_UNREADABLE', `${file}: cannot read (${errno(e)})`);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new AscendError('ASC_KEY_FILE_INSECURE', `${file}: is not a regular file; refused`);
    const uid = myUid();
    if (uid !== undefined && st.uid !== uid) throw new AscendError('ASC_KEY_FILE_INSECURE', `${file}: belongs to another user (uid ${st.uid}); refused`);
    const mode = st.mode & 0o777;
    const open = secret ? 0o077 : 0o022;
    if (process.platform !== 'win32' && (mode & open) !== 0) {
      const what = secret ? 'the private key file' : 'the file';
      throw new AscendError('ASC_KEY_FILE_INSECURE', `${file}: ${what} has mode ${mode.toString(8).padStart(3, '0')}, open to group or others; run chmod ${secret ? 600 : 644} ${file}`);
    }
    if (st.size > MAX_PEM_BYTES) throw new AscendError('ASC_KEY_INVALID', `${file}: ${st.size} bytes is too large`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Writes a file atomically (a new temporary file renamed over it) with the given mode. */
async function writeAtomic(file: string, text: string, mode: number): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await fs.open(temp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | (fsc.O_NOFOLLOW ?? 0), mode);
    if (process.platform !== 'win32') await handle.chmod(mode);
    await handle.writeFile(text, 'utf8');
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(temp, file);
  } catch (e) {
    await handle?.close().catch(() => undefined);
    await fs.rm(temp, { force: true }).catch(() => undefined);
    if (isAscendError(e)) throw e;
    throw new AscendError('ASC_FILE_UNREADABLE', `${file}: cannot write (${errno(e)})`);
  }
}

function privateKeyFrom(pem: string, file: string): KeyObject {
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new AscendError('ASC_KEY_INVALID', `${file}: is not a readable PEM private key`);
  }
}

function pkcs8(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

// ---------------------------------------------------------------------------------------
// The grant-signing key

/** DATA/grant-signing.key: an Ed25519 private key, made on the first start. */
export async function loadOrCreateGrantKey(dataDir: string): Promise<GrantKeyResult> {
  await privateFolder(dataDir, false);
  const file = path.join(dataDir, GRANT_KEY_FILE);
  const pem = await readOwnFile(file, true);
  if (pem !== undefined) {
    const key = privateKeyFrom(pem, file);
    if (key.asymmetricKeyType !== 'ed25519') throw new AscendError('ASC_KEY_INVALID', `${file}: is not an Ed25519 private key`);
    return { key, file, created: false };
  }
  const key = generateKeyPairSync('ed25519').privateKey;
  await writeAtomic(file, pkcs8(key), 0o600);
  return { key, file, created: true };
}

// ---------------------------------------------------------------------------------------
// Certificates (made with @peculiar/x509 over node's WebCrypto; loaded only when needed)

type X509Lib = typeof import('@peculiar/x509');
let x509Lib: Promise<X509Lib> | undefined;

function loadX509(): Promise<X509Lib> {
  x509Lib ??= (async () => {
    // @peculiar/x509 resolves its parts with tsyringe, which needs the Reflect metadata API.
    await import('reflect-metadata');
    const lib = await import('@peculiar/x509');
    lib.cryptoProvider.set(webcrypto as unknown as Parameters<X509Lib['cryptoProvider']['set']>[0]);
    return lib;
  })();
  return x509Lib;
}

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

function serialNumber(): string {
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f; // positive
  b[0] |= 0x01; // and without a leading zero byte
  return b.toString('hex');
}

async function newKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
}

function pkcs8OfCryptoKey(key: webcrypto.CryptoKey): string {
  return pkcs8(KeyObject.from(key));
}

async function makeCa(now: Date): Promise<{ pem: string; keyPem: string }> {
  const x509 = await loadX509();
  const keys = await newKeyPair();
  const host = (() => {
    try {
      return normalizeTlsName(os.hostname());
    } catch {
      return 'collector';
    }
  })();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=Ascend collector CA ${host} ${now.toISOString().slice(0, 10)}, O=Ascend`,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + CA_DAYS * DAY_MS),
    signingAlgorithm: EC,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { pem: cert.toString('pem'), keyPem: pkcs8OfCryptoKey(keys.privateKey) };
}

async function makeServerCert(caPem: string, caKey: KeyObject, names: readonly string[], now: Date): Promise<{ pem: string; keyPem: string }> {
  const x509 = await loadX509();
  const ca = new x509.X509Certificate(caPem);
  const caSigningKey = await webcrypto.subtle.importKey('pkcs8', caKey.export({ type: 'pkcs8', format: 'der' }), EC, false, ['sign']);
  const keys = await newKeyPair();
  const notAfter = Math.min(now.getTime() + SERVER_DAYS * DAY_MS, ca.notAfter.getTime());
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${names.find((n) => isIP(n) === 0 && n !== 'localhost') ?? 'localhost'}, O=Ascend`,
    issuer: ca.subject,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(notAfter),
    signingAlgorithm: EC,
    publicKey: keys.publicKey,
    signingKey: caSigningKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(names.map((n) => (isIP(n) !== 0 ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }))),
      await x509.AuthorityKeyIdentifierExtension.create(ca, false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { pem: cert.toString('pem'), keyPem: pkcs8OfCryptoKey(keys.privateKey) };
}

/** Why a server certificate must be issued anew; undefined when it is good. */
export function serverCertProblem(chainPem: string, keyPem: string, ca: X509Certificate, names: readonly string[], now: Date): string | undefined {
  let leaf: X509Certificate;
  try {
    const certs = splitPemCertificates(chainPem, 'server.pem');
    leaf = certs[0] as X509Certificate;
  } catch {
    return 'it cannot be read';
  }
  if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) return 'it was not issued by this certificate authority';
  try {
    if (!leaf.checkPrivateKey(createPrivateKey({ key: keyPem, format: 'pem' }))) return 'server.key is not its key';
  } catch {
    return 'server.key cannot be read';
  }
  if (Date.parse(leaf.validTo) - now.getTime() < RENEW_BEFORE_MS) return 'it expires within 30 days';
  if (Date.parse(leaf.validFrom) > now.getTime() + BACKDATE_MS) return 'it is not valid yet';
  if (!certificateCovers(leaf, names)) return 'it does not name every wanted name';
  return undefined;
}

// ---------------------------------------------------------------------------------------

/** The identity of a collector with its own generated CA in DATA/tls/. */
async function generatedIdentity(dataDir: string, opts: IdentityOptions, grant: GrantKeyResult): Promise<CollectorTlsIdentity> {
  const now = opts.now ?? new Date();
  const names = wantedNames(opts.host, opts.names ?? []);
  const dir = path.join(dataDir, TLS_DIR);
  await privateFolder(dir, true);
  const caFile = path.join(dir, 'ca.pem');
  const caKeyFile = path.join(dir, 'ca.key');
  const certFile = path.join(dir, 'server.pem');
  const keyFile = path.join(dir, 'server.key');

  let caPem = await readOwnFile(caFile, false);
  let caKeyPem = await readOwnFile(caKeyFile, true);
  const made = { ca: false, serverCert: false, grantKey: grant.created };
  if (caPem === undefined) {
    if (caKeyPem !== undefined) throw new AscendError('ASC_KEY_INVALID', `${caKeyFile}: exists without ${caFile}; restore ca.pem (or remove the folder ${dir} to make a new CA, which every agent must then enroll again with)`);
    const ca = await makeCa(now);
    // The key first: a ca.pem never exists without its key.
    await writeAtomic(caKeyFile, ca.keyPem, 0o600);
    await writeAtomic(caFile, ca.pem, 0o644);
    caPem = ca.pem;
    caKeyPem = ca.keyPem;
    made.ca = true;
  }
  const caCert = splitPemCertificates(caPem, caFile)[0] as X509Certificate;
  if (!caCert.ca) throw new AscendError('ASC_KEY_INVALID', `${caFile}: is not a certificate authority`);
  const anchor = caCert.toString();

  const chainPem = await readOwnFile(certFile, false);
  const keyPem = await readOwnFile(keyFile, true);
  const problem = chainPem === undefined || keyPem === undefined ? 'there is none' : serverCertProblem(chainPem, keyPem, caCert, names, now);
  let https: { cert: string; key: string };
  if (problem === undefined) {
    https = { cert: chainPem as string, key: keyPem as string };
  } else {
    // The CA key is needed only now: an admin may keep it elsewhere between renewals.
    if (caKeyPem === undefined) throw new AscendError('ASC_FILE_NOT_FOUND', `${caKeyFile}: missing, and a new server certificate is needed (${problem}); put the CA key back`);
    const caKey = privateKeyFrom(caKeyPem, caKeyFile);
    if (caKey.asymmetricKeyType !== 'ec') throw new AscendError('ASC_KEY_INVALID', `${caKeyFile}: is not the ECDSA key of ${caFile}`);
    if (!caCert.checkPrivateKey(caKey)) throw new AscendError('ASC_KEY_INVALID', `${caKeyFile}: is not the key of ${caFile}`);
    const leaf = await makeServerCert(anchor, caKey, names, now);
    https = { cert: `${leaf.pem.trimEnd()}\n${anchor.trimEnd()}\n`, key: leaf.keyPem };
    await writeAtomic(keyFile, https.key, 0o600);
    await writeAtomic(certFile, https.cert, 0o644);
    made.serverCert = true;
  }
  return { https, anchor, pin: pinOfCertificate(anchor), grantKey: grant.key, caFile, made };
}

/** Reads a file the admin named (a certificate, a key): errors name the flag. */
async function readAdminFile(file: string, flag: string, secret: boolean): Promise<string> {
  let text: string | undefined;
  try {
    text = await readOwnFileLoose(file, secret);
  } catch (e) {
    if (isAscendError(e)) throw new AscendError(e.code, `${flag} ${e.message}`);
    throw e;
  }
  if (text === undefined) throw new AscendError('ASC_FILE_NOT_FOUND', `${flag} ${file}: no such file`);
  return text;
}

/**
 * The admin's files: a key must be a regular file that others cannot read or write and whose
 * group cannot write (a group-readable key such as Debian's ssl-cert group is accepted), of
 * this user or of root. Certificates are public.
 */
async function readOwnFileLoose(file: string, secret: boolean): Promise<string | undefined> {
  let handle: FileHandle;
  try {
    handle = await fs.open(file, fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0));
  } catch (e) {
    if (errno(e) === 'ENOENT') return undefined;
    throw new AscendError('ASC_FILE_UNREADABLE', `${file}: cannot read (${errno(e)})`);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new AscendError('ASC_FILE_UNREADABLE', `${file}: is not a regular file`);
    if (secret && process.platform !== 'win32') {
      const uid = myUid();
      if (uid !== undefined && st.uid !== uid && st.uid !== 0) throw new AscendError('ASC_KEY_FILE_INSECURE', `${file}: the private key file belongs to another user (uid ${st.uid}); refused`);
      const mode = st.mode & 0o777;
      if ((mode & 0o027) !== 0) throw new AscendError('ASC_KEY_FILE_INSECURE', `${file}: the private key file has mode ${mode.toString(8).padStart(3, '0')}, open to others; run chmod 600 ${file}`);
    }
    if (st.size > MAX_PEM_BYTES) throw new AscendError('ASC_KEY_INVALID', `${file}: ${st.size} bytes is too large`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Whether `cert` is issued and signed by `issuer`. */
function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

/** The identity of a collector serving the admin's certificate: the anchor is the CA that issued it. */
async function adminIdentity(opts: IdentityOptions & { tlsCert: string; tlsKey: string }, grant: GrantKeyResult): Promise<CollectorTlsIdentity> {
  const certPem = await readAdminFile(opts.tlsCert, '--tls-cert', false);
  const keyPem = await readAdminFile(opts.tlsKey, '--tls-key', true);
  const chain = splitPemCertificates(certPem, `--tls-cert ${opts.tlsCert}`);
  const leaf = chain[0] as X509Certificate;
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: keyPem, format: 'pem' });
  } catch {
    throw new AscendError('ASC_KEY_INVALID', `--tls-key ${opts.tlsKey}: is not a readable PEM private key`);
  }
  if (!leaf.checkPrivateKey(key)) throw new AscendError('ASC_KEY_INVALID', `--tls-key ${opts.tlsKey}: is not the key of the certificate in ${opts.tlsCert}`);
  let anchorCert: X509Certificate;
  let caFile: string;
  if (opts.tlsCa !== undefined) {
    anchorCert = splitPemCertificates(await readAdminFile(opts.tlsCa, '--tls-ca', false), `--tls-ca ${opts.tlsCa}`)[0] as X509Certificate;
    caFile = path.resolve(opts.tlsCa);
  } else {
    const last = chain[chain.length - 1] as X509Certificate;
    if (!issuedBy(last, last)) {
      throw new AscendError('ASC_USAGE', `--tls-cert ${opts.tlsCert} does not end with the certificate authority that issued it: give that CA with --tls-ca FILE (agents pin it at enrollment)`);
    }
    anchorCert = last;
    caFile = path.resolve(opts.tlsCert);
  }
  // The chain must lead from the served certificate to the anchor, or agents could never verify it.
  let at = leaf;
  for (const next of [...chain.slice(1), anchorCert]) {
    if (at.fingerprint256 === anchorCert.fingerprint256) break;
    if (issuedBy(at, anchorCert)) {
      at = anchorCert;
      break;
    }
    if (!issuedBy(at, next)) break;
    at = next;
  }
  if (at.fingerprint256 !== anchorCert.fingerprint256) {
    throw new AscendError('ASC_USAGE', `the certificate in --tls-cert ${opts.tlsCert} was not issued by the certificate authority ${opts.tlsCa ?? 'at the end of its chain'}`);
  }
  const anchor = anchorCert.toString();
  return { https: { cert: certPem, key: keyPem }, anchor, pin: pinOfCertificate(anchor), grantKey: grant.key, caFile, made: { ca: false, serverCert: false, grantKey: grant.created } };
}

/** The collector's TLS identity and grant key (see the module comment). */
export async function loadOrCreateIdentity(dataDir: string, opts: IdentityOptions): Promise<CollectorTlsIdentity> {
  if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) throw new AscendError('ASC_USAGE', '--tls-cert and --tls-key go together');
  if (opts.tlsCa !== undefined && opts.tlsCert === undefined) throw new AscendError('ASC_USAGE', '--tls-ca names the CA of --tls-cert; give --tls-cert and --tls-key too');
  if (opts.tlsCert !== undefined && (opts.names ?? []).length > 0) throw new AscendError('ASC_USAGE', '--tls-name names the generated certificate; with --tls-cert the names are those of your certificate');
  for (const n of opts.names ?? []) normalizeTlsName(n);
  const grant = await loadOrCreateGrantKey(dataDir);
  if (opts.tlsCert !== undefined && opts.tlsKey !== undefined) return adminIdentity({ ...opts, tlsCert: opts.tlsCert, tlsKey: opts.tlsKey }, grant);
  return generatedIdentity(dataDir, opts, grant);
}
