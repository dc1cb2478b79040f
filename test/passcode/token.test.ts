import { sign as cryptoSign, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { expect } from 'chai';
import { compactVerify, importSPKI } from 'jose';
import { AscendError } from '../../src/errors.js';
import {
  decodeBase64urlStrict,
  decodePasscode,
  generateSigningKeyPair,
  importSigningKey,
  keyIdOf,
  parsePublicKey,
  PasscodeVerifier,
  PASSCODE_TYP,
  publicKeyOf,
  serializeTerms,
  signPasscode,
  type CheckResult,
  type PasscodeTerms,
} from '../../src/passcode/index.js';
import { context, newKey, policy, terms, type TestKey } from './helpers.js';

const b64u = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

/** A token over any header and payload text, signed with the raw key (bypassing our signer's checks). */
function craft(headerText: string, payloadText: string, key: KeyObject | TestKey): string {
  const privateKey = 'signing' in key ? (key.signing.privateKey as KeyObject) : key;
  const input = `${b64u(headerText)}.${b64u(payloadText)}`;
  return `${input}.${cryptoSign(null, Buffer.from(input), privateKey).toString('base64url')}`;
}

describe('passcode tokens (compact JWS)', () => {
  const key = newKey();
  const t = terms({ computers: ['WS-*'], users: ['CORP\\*'], notBefore: '2025-06-01T00:00:00Z', notAfter: '2025-06-30T00:00:00Z', hours: '07:00-19:00' });
  let token: string;
  before(async () => {
    token = await signPasscode(t, key.signing);
  });
  const verifier = () => new PasscodeVerifier(policy(key));
  const ctx = () => {
    const { policy: _p, ...rest } = context(policy(key));
    return rest;
  };

  it('is three base64url parts: {alg EdDSA, kid, typ} and the canonical terms, 64-byte signature', () => {
    const [h, p, s] = token.split('.');
    expect(JSON.parse(Buffer.from(h ?? '', 'base64url').toString())).to.deep.equal({ alg: 'EdDSA', kid: key.trusted.kid, typ: PASSCODE_TYP });
    expect(Buffer.from(p ?? '', 'base64url').toString()).to.equal(serializeTerms(t));
    expect(Buffer.from(s ?? '', 'base64url')).to.have.length(64);
    expect(token).to.match(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{86}$/);
  });

  it('is a standard JWS: jose verifies it with the published public key', async () => {
    const spkiPem = `-----BEGIN PUBLIC KEY-----\n${key.trusted.publicKey}\n-----END PUBLIC KEY-----`;
    const result = await compactVerify(token, await importSPKI(spkiPem, 'EdDSA'));
    expect(result.protectedHeader).to.deep.equal({ alg: 'EdDSA', kid: key.trusted.kid, typ: PASSCODE_TYP });
    expect(new TextDecoder().decode(result.payload)).to.equal(serializeTerms(t));
  });

  it('decodePasscode reads header and terms without a key', () => {
    const d = decodePasscode(token);
    expect(d.header).to.deep.equal({ alg: 'EdDSA', kid: key.trusted.kid, typ: PASSCODE_TYP });
    expect(d.terms).to.deep.equal(t);
  });

  it('decodePasscode refuses anything else with ASC_PASSCODE_MALFORMED', () => {
    for (const bad of ['', 'abc', `${token}.x`, token.slice(0, -1), ` ${token}`, token.replace('.', '..')]) {
      try {
        decodePasscode(bad);
        expect.fail(`accepted ${bad.slice(0, 20)}`);
      } catch (e) {
        expect(e).to.be.instanceOf(AscendError);
        expect((e as AscendError).code).to.equal('ASC_PASSCODE_MALFORMED');
      }
    }
  });

  it('checks as valid', () => {
    const r = verifier().check(token, ctx());
    expect(r.ok, JSON.stringify(r)).to.equal(true);
  });

  it('any change of a single byte gives malformed or bad-signature (or unknown-key for a changed kid), never ok and never a throw', function () {
    this.timeout(120_000);
    const v = verifier();
    const c = ctx();
    const replacements = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', '.', '=', '+', '/', ' ', '\n', '\u0000', 'é'];
    const seen = new Map<string, number>();
    let checks = 0;
    for (let i = 0; i < token.length; i++) {
      for (const ch of replacements) {
        if (ch === token[i]) continue;
        const tampered = token.slice(0, i) + ch + token.slice(i + 1);
        let r: CheckResult;
        try {
          r = v.check(tampered, c);
        } catch (e) {
          throw new Error(`check threw for byte ${i} -> ${JSON.stringify(ch)}: ${String(e)}`);
        }
        checks++;
        expect(r.ok, `byte ${i} -> ${JSON.stringify(ch)} was accepted`).to.equal(false);
        if (r.ok) continue;
        seen.set(r.reason, (seen.get(r.reason) ?? 0) + 1);
        if (r.reason === 'unknown-key') {
          // Only the signed header names the key: the change must have produced another well-formed kid.
          expect(i, `unknown-key from byte ${i}`).to.be.below(token.indexOf('.'));
          expect(decodePasscode(tampered).header.kid).to.not.equal(key.trusted.kid);
        } else {
          expect(['malformed', 'bad-signature'], `byte ${i} -> ${JSON.stringify(ch)}: ${r.reason}`).to.include(r.reason);
        }
      }
    }
    expect(checks).to.be.above(token.length * 60);
    expect(seen.get('malformed')).to.be.above(0);
    expect(seen.get('bad-signature')).to.be.above(0);
  });

  it('flipping any bit of any byte (also to non-ASCII) is refused the same way', function () {
    this.timeout(60_000);
    const v = verifier();
    const c = ctx();
    const bytes = Buffer.from(token, 'latin1');
    for (let i = 0; i < bytes.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const copy = Buffer.from(bytes);
        copy[i] = (copy[i] as number) ^ (1 << bit);
        const r = v.check(copy.toString('latin1'), c);
        expect(r.ok, `byte ${i} bit ${bit}`).to.equal(false);
        if (!r.ok) expect(['malformed', 'bad-signature', 'unknown-key']).to.include(r.reason);
      }
    }
  });

  it('refuses non-canonical base64url (spare bits set) even though it decodes to the same signature', () => {
    const sig = token.slice(token.lastIndexOf('.') + 1);
    const last = sig[sig.length - 1] as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const value = alphabet.indexOf(last);
    const twin = alphabet[value | 1] === last ? alphabet[value ^ 1] : alphabet[value | 1];
    const tampered = token.slice(0, -1) + twin;
    expect(Buffer.from(tampered.slice(tampered.lastIndexOf('.') + 1), 'base64url').equals(Buffer.from(sig, 'base64url'))).to.equal(true);
    const r = verifier().check(tampered, ctx());
    expect(r).to.include({ ok: false, reason: 'malformed' });
    expect(decodeBase64urlStrict('QQ')).to.deep.equal(Buffer.from('A'));
    expect(decodeBase64urlStrict('QR')).to.equal(undefined);
    expect(decodeBase64urlStrict('QUE')).to.deep.equal(Buffer.from('AA'));
    expect(decodeBase64urlStrict('QUF')).to.equal(undefined);
    expect(decodeBase64urlStrict('QQ==')).to.equal(undefined);
    expect(decodeBase64urlStrict('Q')).to.equal(undefined);
  });

  describe('strict header and terms, even when signed by the trusted key', () => {
    const payload = () => serializeTerms(t);
    const kid = () => key.trusted.kid;
    const cases: [string, () => string][] = [
      ['alg none', () => `${b64u(JSON.stringify({ alg: 'none', kid: kid(), typ: PASSCODE_TYP }))}.${b64u(payload())}.`],
      ['alg none with a signature', () => craft(JSON.stringify({ alg: 'none', kid: kid(), typ: PASSCODE_TYP }), payload(), key)],
      ['alg HS256', () => craft(JSON.stringify({ alg: 'HS256', kid: kid(), typ: PASSCODE_TYP }), payload(), key)],
      ['alg Ed25519', () => craft(JSON.stringify({ alg: 'Ed25519', kid: kid(), typ: PASSCODE_TYP }), payload(), key)],
      ['an extra crit', () => craft(JSON.stringify({ alg: 'EdDSA', kid: kid(), typ: PASSCODE_TYP, crit: ['exp'], exp: 1 }), payload(), key)],
      ['an extra jku', () => craft(JSON.stringify({ alg: 'EdDSA', kid: kid(), typ: PASSCODE_TYP, jku: 'https://evil.example/keys' }), payload(), key)],
      ['b64 false', () => craft(JSON.stringify({ alg: 'EdDSA', kid: kid(), typ: PASSCODE_TYP, b64: false, crit: ['b64'] }), payload(), key)],
      ['no typ', () => craft(JSON.stringify({ alg: 'EdDSA', kid: kid() }), payload(), key)],
      ['another typ', () => craft(JSON.stringify({ alg: 'EdDSA', kid: kid(), typ: 'JWT' }), payload(), key)],
      ['fields reordered', () => craft(JSON.stringify({ kid: kid(), alg: 'EdDSA', typ: PASSCODE_TYP }), payload(), key)],
      ['spaces in the header', () => craft(JSON.stringify({ alg: 'EdDSA', kid: kid(), typ: PASSCODE_TYP }, null, 1), payload(), key)],
      ['a duplicated alg', () => craft(`{"alg":"none","alg":"EdDSA","kid":"${kid()}","typ":"${PASSCODE_TYP}"}`, payload(), key)],
      ['a kid of another form', () => craft(JSON.stringify({ alg: 'EdDSA', kid: 'key-1', typ: PASSCODE_TYP }), payload(), key)],
      ['a BOM before the header', () => craft(`\ufeff${JSON.stringify({ alg: 'EdDSA', kid: kid(), typ: PASSCODE_TYP })}`, payload(), key)],
      ['terms with spaces', () => craft(JSON.stringify({ alg: 'EdDSA', kid: kid(), typ: PASSCODE_TYP }), JSON.stringify(t, null, 1), key)],
      ['terms reordered', () => craft(JSON.stringify({ alg: 'EdDSA', kid: kid(), typ: PASSCODE_TYP }), JSON.stringify(Object.fromEntries([['integrity', t.integrity], ...Object.entries(t)])), key)],
      ['terms with an extra field', () => craft(JSON.stringify({ alg: 'EdDSA', kid: kid(), typ: PASSCODE_TYP }), `${payload().slice(0, -1)},"admin":true}`, key)],
      ['terms with a duplicated maxUses', () => craft(JSON.stringify({ alg: 'EdDSA', kid: kid(), typ: PASSCODE_TYP }), payload().replace('"maxUses":3', '"maxUses":3,"maxUses":1000'), key)],
      ['terms with an escaped letter', () => craft(JSON.stringify({ alg: 'EdDSA', kid: kid(), typ: PASSCODE_TYP }), payload().replace('"Install', '"\\u0049nstall'), key)],
      ['terms with maxUses 3.0', () => craft(JSON.stringify({ alg: 'EdDSA', kid: kid(), typ: PASSCODE_TYP }), payload().replace('"maxUses":3', '"maxUses":3.0'), key)],
      ['terms of version 2', () => craft(JSON.stringify({ alg: 'EdDSA', kid: kid(), typ: PASSCODE_TYP }), payload().replace('"v":1', '"v":2'), key)],
      ['terms that are an array', () => craft(JSON.stringify({ alg: 'EdDSA', kid: kid(), typ: PASSCODE_TYP }), `[${payload()}]`, key)],
      ['padding on a part', () => token.replace('.', '=.')],
      ['four parts', () => `${token}.AAAA`],
      ['two parts', () => token.slice(0, token.lastIndexOf('.'))],
      ['an empty payload', () => craft(JSON.stringify({ alg: 'EdDSA', kid: kid(), typ: PASSCODE_TYP }), '', key)],
      ['JSON serialization', () => JSON.stringify({ protected: token.split('.')[0], payload: token.split('.')[1], signature: token.split('.')[2] })],
      ['a huge token', () => `${token.split('.')[0]}.${'A'.repeat(20_000)}.${token.split('.')[2]}`],
    ];
    for (const [name, make] of cases) {
      it(`refuses ${name} as malformed`, () => {
        const r = verifier().check(make(), ctx());
        expect(r.ok).to.equal(false);
        if (!r.ok) {
          expect(r.reason, r.message).to.equal('malformed');
          expect(r.terms).to.equal(undefined);
        }
      });
    }

    it('a canonical token crafted by hand with the trusted key is accepted (the cases above differ only in what they test)', () => {
      const r = verifier().check(craft(JSON.stringify({ alg: 'EdDSA', kid: kid(), typ: PASSCODE_TYP }), payload(), key), ctx());
      expect(r.ok, JSON.stringify(r)).to.equal(true);
    });
  });

  it('a token from an untrusted key is unknown-key', async () => {
    const stranger = newKey();
    const r = verifier().check(await signPasscode(t, stranger.signing), ctx());
    expect(r).to.include({ ok: false, reason: 'unknown-key' });
    if (!r.ok) {
      expect(r.message).to.include(stranger.trusted.kid);
      expect(r.terms).to.equal(undefined);
    }
  });

  it('a token signed by another key under a trusted kid is bad-signature', async () => {
    const impostor = newKey();
    const r = verifier().check(await signPasscode(t, { kid: key.trusted.kid, privateKey: impostor.signing.privateKey }), ctx());
    expect(r).to.include({ ok: false, reason: 'bad-signature' });
    if (!r.ok) expect(r.terms).to.equal(undefined);
  });

  it('terms signed with one key and moved under another header are bad-signature', async () => {
    const other = newKey();
    const v = new PasscodeVerifier(policy([key, other]));
    const mine = await signPasscode(t, key.signing);
    const theirs = await signPasscode(t, other.signing);
    const spliced = `${theirs.split('.')[0]}.${mine.split('.')[1]}.${mine.split('.')[2]}`;
    expect(v.check(spliced, ctx())).to.include({ ok: false, reason: 'bad-signature' });
    expect(v.check(theirs, ctx()).ok).to.equal(true);
  });

  it('signPasscode refuses invalid terms and key ids, and keys that are not Ed25519', async () => {
    const broken = { ...t, maxUses: 0 } as PasscodeTerms;
    await signPasscode(broken, key.signing).then(
      () => expect.fail('signed'),
      (e: AscendError) => expect(e.code).to.equal('ASC_PASSCODE_BAD_TERMS'),
    );
    await signPasscode(t, { kid: 'key-1', privateKey: key.signing.privateKey }).then(
      () => expect.fail('signed'),
      (e: AscendError) => expect(e.code).to.equal('ASC_KEY_INVALID'),
    );
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    await signPasscode(t, { kid: key.trusted.kid, privateKey: rsa }).then(
      () => expect.fail('signed'),
      (e: AscendError) => expect(e.code).to.equal('ASC_KEY_INVALID'),
    );
  });
});

describe('passcode signing keys', () => {
  it('generates Ed25519 keys: kid = asc- + 16 hex of SHA-256(raw key), public key = base64 SPKI DER', () => {
    const pair = generateSigningKeyPair();
    expect(pair.kid).to.match(/^asc-[0-9a-f]{16}$/);
    expect(pair.publicKey).to.match(/^MCowBQYDK2VwAyEA[A-Za-z0-9+/]{43}=$/);
    expect(pair.privateKeyPkcs8Pem).to.match(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
    const imported = importSigningKey(pair.privateKeyPkcs8Pem);
    expect(imported.kid).to.equal(pair.kid);
    expect(publicKeyOf(imported)).to.deep.equal({ kid: pair.kid, publicKey: pair.publicKey });
    const pk = parsePublicKey(pair.publicKey);
    expect(keyIdOf(pk)).to.equal(pair.kid);
    expect(keyIdOf(createPublicKey(pair.privateKeyPkcs8Pem))).to.equal(pair.kid);
    expect(generateSigningKeyPair().kid).to.not.equal(pair.kid);
  });

  it('importSigningKey refuses what is not an unencrypted Ed25519 PKCS#8 key', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const x25519 = generateKeyPairSync('x25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const encrypted = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }).toString();
    const pub = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    for (const bad of [rsa, x25519, encrypted, pub, '', 'garbage', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n']) {
      expect(() => importSigningKey(bad)).to.throw(AscendError).with.property('code', 'ASC_KEY_INVALID');
    }
  });

  it('parsePublicKey takes base64 SPKI (whitespace ignored) or PEM, and refuses other keys and forms', () => {
    const pair = generateSigningKeyPair();
    expect(keyIdOf(parsePublicKey(`  ${pair.publicKey}\n`))).to.equal(pair.kid);
    expect(keyIdOf(parsePublicKey(`-----BEGIN PUBLIC KEY-----\n${pair.publicKey}\n-----END PUBLIC KEY-----\n`))).to.equal(pair.kid);
    const raw = Buffer.from(pair.publicKey, 'base64').subarray(12);
    const x25519 = generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    for (const bad of ['', raw.toString('base64'), raw.toString('base64url'), x25519, pair.publicKey.replace('=', ''), `${pair.publicKey}AAAA`, pair.publicKey.replace('MCow', 'MCox')]) {
      expect(() => parsePublicKey(bad), bad).to.throw(AscendError).with.property('code', 'ASC_KEY_INVALID');
    }
  });
});
