import { expect } from 'chai';
import fc from 'fast-check';
import {
  checkPasscode,
  PasscodeVerifier,
  REFUSAL_EXPLANATIONS,
  REFUSAL_REASONS,
  signPasscode,
  type CheckContext,
  type CheckResult,
  type NewPasscodeInput,
  type PasscodePolicy,
  type PasscodeTerms,
  type RefusalReason,
} from '../../src/passcode/index.js';
import { at, context, newKey, policy, sec, terms } from './helpers.js';

const key = newKey();
const sign = (overrides: Partial<NewPasscodeInput> = {}) => signPasscode(terms(overrides), key.signing);
const check = (token: string, ctx: Partial<CheckContext> = {}, pol: PasscodePolicy = policy(key)): CheckResult => checkPasscode(token, context(pol, ctx));
const reason = (r: CheckResult): RefusalReason | 'ok' => (r.ok ? 'ok' : r.reason);

describe('passcode check', () => {
  describe('every reason code', () => {
    const covered = new Set<RefusalReason>();
    const expectReason = (r: CheckResult, expected: RefusalReason) => {
      expect(reason(r), r.ok ? '' : r.message).to.equal(expected);
      if (!r.ok) {
        expect(r.message).to.be.a('string').and.not.include('\n');
        covered.add(r.reason);
      }
    };
    after(() => expect([...covered].sort()).to.deep.equal([...REFUSAL_REASONS].sort()));

    it('ok: the session says what the passcode and policy grant', async () => {
      const r = check(await sign({ endProcesses: true, privileges: ['SeBackupPrivilege'] }), { usesSoFar: 1 });
      expect(r.ok).to.equal(true);
      if (r.ok) {
        expect(r.kid).to.equal(key.trusted.kid);
        expect(r.session).to.deep.equal({ groups: ['S-1-5-32-544'], privileges: ['SeBackupPrivilege'], integrity: 'High', durationSeconds: 1800, endProcesses: true, usesLeft: 1 });
      }
    });
    it('malformed', () => expectReason(check('not a passcode'), 'malformed'));
    it('unknown-key', async () => expectReason(check(await signPasscode(terms(), newKey().signing)), 'unknown-key'));
    it('bad-signature', async () => expectReason(check(await signPasscode(terms(), { kid: key.trusted.kid, privateKey: newKey().signing.privateKey })), 'bad-signature'));
    it('revoked (ids compare case-insensitively, as registry value names)', async () => {
      const r = check(await sign({ id: 'PC-0001' }), {}, policy(key, { revoked: new Set(['pc-0001']) }));
      expectReason(r, 'revoked');
      if (!r.ok) expect(r.terms?.id).to.equal('PC-0001');
    });
    it('tse-disabled', async () => expectReason(check(await sign(), {}, policy(key, { tseEnabled: false })), 'tse-disabled'));
    it('offline-not-allowed', async () => expectReason(check(await sign(), {}, policy(key, { offlineAllowed: false })), 'offline-not-allowed'));
    it('not-yet-valid', async () => expectReason(check(await sign({ notBefore: '2025-06-03T00:00Z' })), 'not-yet-valid'));
    it('expired', async () => expectReason(check(await sign({ notAfter: '2025-06-01T12:00Z' })), 'expired'));
    it('wrong-computer', async () => expectReason(check(await sign({ computers: ['SRV-*'] })), 'wrong-computer'));
    it('wrong-user', async () => expectReason(check(await sign({ users: ['CORP\\bob'] })), 'wrong-user'));
    it('outside-hours', async () => expectReason(check(await sign({ hours: '12:00-13:00' })), 'outside-hours'));
    it('uses-exhausted', async () => expectReason(check(await sign({ maxUses: 3 }), { usesSoFar: 3 }), 'uses-exhausted'));

    it('REFUSAL_REASONS lists all twelve in check order, each with a one-line explanation', () => {
      expect(REFUSAL_REASONS).to.deep.equal(['malformed', 'unknown-key', 'bad-signature', 'revoked', 'tse-disabled', 'offline-not-allowed', 'not-yet-valid', 'expired', 'wrong-computer', 'wrong-user', 'outside-hours', 'uses-exhausted']);
      for (const r of REFUSAL_REASONS) expect(REFUSAL_EXPLANATIONS[r]).to.be.a('string').with.length.above(20).and.not.include('\n');
      expect(Object.keys(REFUSAL_EXPLANATIONS).sort()).to.deep.equal([...REFUSAL_REASONS].sort());
    });
  });

  describe('check order: the earlier reason wins', () => {
    it('revoked beats tse-disabled beats offline beats the window beats names beats hours beats uses', async () => {
      const token = await sign({ notAfter: '2025-06-01T12:59Z', computers: ['SRV-*'], users: ['bob'], hours: '12:00-13:00', maxUses: 1 });
      const all = policy(key, { revoked: new Set(['pc-0001']), tseEnabled: false, offlineAllowed: false });
      const ctx = { usesSoFar: 5 };
      expect(reason(check(token, ctx, all))).to.equal('revoked');
      expect(reason(check(token, ctx, { ...all, revoked: new Set() }))).to.equal('tse-disabled');
      expect(reason(check(token, ctx, { ...all, revoked: new Set(), tseEnabled: true }))).to.equal('offline-not-allowed');
      const open = policy(key);
      expect(reason(check(token, ctx, open))).to.equal('expired');
      expect(reason(check(token, { ...ctx, at: new Date('2025-06-01T10:00:00Z') }, open))).to.equal('wrong-computer');
      expect(reason(check(token, { ...ctx, at: new Date('2025-06-01T10:00:00Z'), computer: 'srv-1' }, open))).to.equal('wrong-user');
      expect(reason(check(token, { ...ctx, at: new Date('2025-06-01T10:00:00Z'), computer: 'srv-1', user: 'bob' }, open))).to.equal('outside-hours');
      expect(reason(check(token, { ...ctx, at: new Date('2025-06-01T12:30:00Z'), computer: 'srv-1', user: 'bob' }, open))).to.equal('uses-exhausted');
    });

    it('unknown-key beats tse-disabled while any key is trusted; with none trusted and TSE off, tse-disabled is the cause', async () => {
      const stranger = await signPasscode(terms(), newKey().signing);
      expect(reason(check(stranger, {}, policy(key, { tseEnabled: false })))).to.equal('unknown-key');
      expect(reason(check(stranger, {}, policy(key, { tseEnabled: true, trustedKeys: [] })))).to.equal('unknown-key');
      const r = check(stranger, {}, policy(key, { tseEnabled: false, trustedKeys: [] }));
      expect(reason(r)).to.equal('tse-disabled');
      if (!r.ok) expect(r.terms).to.equal(undefined);
      expect(reason(check('garbage', {}, policy(key, { tseEnabled: false, trustedKeys: [] })))).to.equal('malformed');
    });
  });

  describe('activation window to the second', () => {
    const nb = sec('2025-06-10T08:00:00Z');
    const na = sec('2025-06-20T18:00:00Z');
    let token: string;
    before(async () => {
      token = await sign({ notBefore: '2025-06-10T08:00:00Z', notAfter: '2025-06-20T18:00:00Z' });
    });
    it('notBefore: the exact second is valid, one second (or one millisecond) before is not', () => {
      expect(reason(check(token, { at: at(nb) }))).to.equal('ok');
      expect(reason(check(token, { at: at(nb - 1) }))).to.equal('not-yet-valid');
      expect(reason(check(token, { at: at(nb, -1) }))).to.equal('not-yet-valid');
    });
    it('notAfter: the exact second (to its last millisecond) is valid, the next second is expired', () => {
      expect(reason(check(token, { at: at(na) }))).to.equal('ok');
      expect(reason(check(token, { at: at(na, 999) }))).to.equal('ok');
      expect(reason(check(token, { at: at(na + 1) }))).to.equal('expired');
    });
    it('a date-only notAfter runs to 23:59:59 of that day in the given zone', async () => {
      const t = await sign({ notAfter: '2025-06-20', utcOffsetMinutes: '-05:00' });
      expect(reason(check(t, { at: at(sec('2025-06-21T04:59:59Z')) }))).to.equal('ok');
      expect(reason(check(t, { at: at(sec('2025-06-21T05:00:00Z')) }))).to.equal('expired');
    });
    it('the session duration is not the window: a long duration does not stretch notAfter', async () => {
      const t = await sign({ notAfter: '2025-06-20T18:00:00Z', duration: '1d' });
      expect(reason(check(t, { at: at(na + 1) }))).to.equal('expired');
    });
  });

  describe('weekdays and hours with UTC offsets', () => {
    it('hours in the machine zone when the passcode names none', async () => {
      const t = await sign({ hours: '08:00-18:00' });
      // 06:30Z is 08:30 at UTC+2 but 06:30 at UTC.
      expect(reason(check(t, { at: new Date('2025-06-02T06:30:00Z'), utcOffsetMinutes: 120 }))).to.equal('ok');
      expect(reason(check(t, { at: new Date('2025-06-02T06:30:00Z'), utcOffsetMinutes: 0 }))).to.equal('outside-hours');
      // from inclusive, to exclusive, to the second
      expect(reason(check(t, { at: new Date('2025-06-02T08:00:00Z') }))).to.equal('ok');
      expect(reason(check(t, { at: new Date('2025-06-02T07:59:59Z') }))).to.equal('outside-hours');
      expect(reason(check(t, { at: new Date('2025-06-02T17:59:59Z') }))).to.equal('ok');
      expect(reason(check(t, { at: new Date('2025-06-02T18:00:00Z') }))).to.equal('outside-hours');
    });

    it("the passcode's own zone wins over the machine's", async () => {
      const t = await sign({ hours: '08:00-18:00', utcOffsetMinutes: '-05:00' });
      expect(reason(check(t, { at: new Date('2025-06-02T13:00:00Z'), utcOffsetMinutes: 540 }))).to.equal('ok'); // 08:00 in UTC-5
      expect(reason(check(t, { at: new Date('2025-06-02T12:59:59Z'), utcOffsetMinutes: 540 }))).to.equal('outside-hours');
      expect(reason(check(t, { at: new Date('2025-06-02T22:59:59Z'), utcOffsetMinutes: 0 }))).to.equal('ok'); // 17:59:59 in UTC-5
    });

    it('an hours range across midnight', async () => {
      const t = await sign({ hours: '22:00-06:00' });
      for (const [time, expected] of [
        ['21:59:59', 'outside-hours'],
        ['22:00:00', 'ok'],
        ['23:59:59', 'ok'],
        ['00:00:00', 'ok'],
        ['05:59:59', 'ok'],
        ['06:00:00', 'outside-hours'],
        ['12:00:00', 'outside-hours'],
      ] as const) {
        expect(reason(check(t, { at: new Date(`2025-06-02T${time}Z`) })), time).to.equal(expected);
      }
      // Across midnight at UTC+05:30: 17:00Z is 22:30 local, 00:29Z is 05:59 local, 00:30Z is 06:00.
      expect(reason(check(t, { at: new Date('2025-06-02T17:00:00Z'), utcOffsetMinutes: 330 }))).to.equal('ok');
      expect(reason(check(t, { at: new Date('2025-06-03T00:29:59Z'), utcOffsetMinutes: 330 }))).to.equal('ok');
      expect(reason(check(t, { at: new Date('2025-06-03T00:30:00Z'), utcOffsetMinutes: 330 }))).to.equal('outside-hours');
    });

    it('weekdays are the local day: an offset can move the day', async () => {
      const t = await sign({ weekdays: ['mon-fri'] });
      // 2025-06-06 is a Friday, 2025-06-07 a Saturday.
      expect(reason(check(t, { at: new Date('2025-06-06T23:30:00Z'), utcOffsetMinutes: 0 }))).to.equal('ok');
      expect(reason(check(t, { at: new Date('2025-06-06T23:30:00Z'), utcOffsetMinutes: 60 }))).to.equal('outside-hours');
      expect(reason(check(t, { at: new Date('2025-06-08T23:30:00Z'), utcOffsetMinutes: -60 }))).to.equal('outside-hours'); // Sunday 22:30
      expect(reason(check(t, { at: new Date('2025-06-08T23:30:00Z'), utcOffsetMinutes: 60 }))).to.equal('ok'); // Monday 00:30
      const sat = await sign({ weekdays: [6], hours: '22:00-02:00', utcOffsetMinutes: 0 });
      expect(reason(check(sat, { at: new Date('2025-06-07T23:00:00Z') }))).to.equal('ok'); // Saturday 23:00
      expect(reason(check(sat, { at: new Date('2025-06-08T01:00:00Z') }))).to.equal('outside-hours'); // Sunday 01:00: the day is checked at the moment
    });
  });

  describe('computers and users', () => {
    it('patterns match case-insensitively, SIDs against the SID lists, short names', async () => {
      const t = await sign({ computers: ['ws-00??', 'S-1-5-21-7-7-7-1001'], users: ['CORP\\help*', 'alice', 'S-1-5-21-7-7-7-512'] });
      expect(reason(check(t, { computer: 'WS-0042', user: 'corp\\HelpDesk1' }))).to.equal('ok');
      expect(reason(check(t, { computer: 'ws-0042.corp.example', user: 'OTHER\\Alice' }))).to.equal('ok');
      expect(reason(check(t, { computer: 'ws-00421', user: 'CORP\\alice' }))).to.equal('wrong-computer');
      expect(reason(check(t, { computer: 'SRV', computerSids: ['s-1-5-21-7-7-7-1001'], user: 'CORP\\alice' }))).to.equal('ok');
      expect(reason(check(t, { user: 'CORP\\mallory' }))).to.equal('wrong-user');
      expect(reason(check(t, { user: 'CORP\\mallory', userSids: ['S-1-5-21-7-7-7-1107', 'S-1-5-21-7-7-7-512'] }))).to.equal('ok');
    });
    it('a pattern with regex characters matches only itself', async () => {
      const t = await sign({ computers: ['(ws)+.*'] });
      expect(reason(check(t, { computer: 'wsws' }))).to.equal('wrong-computer');
      expect(reason(check(t, { computer: '(WS)+.anything' }))).to.equal('ok');
    });
  });

  describe('session terms', () => {
    it("groups: the passcode's, else the policy's, else BUILTIN\\Administrators", async () => {
      const own = check(await sign({ groups: ['S-1-5-32-551'] }), {}, policy(key, { groups: ['S-1-5-32-547'] }));
      const fromPolicy = check(await sign(), {}, policy(key, { groups: ['S-1-5-32-547'] }));
      const fallback = check(await sign(), {}, policy(key, { groups: [] }));
      expect(own.ok && own.session.groups).to.deep.equal(['S-1-5-32-551']);
      expect(fromPolicy.ok && fromPolicy.session.groups).to.deep.equal(['S-1-5-32-547']);
      expect(fallback.ok && fallback.session.groups).to.deep.equal(['S-1-5-32-544']);
    });
    it("privileges: the passcode's, else the policy's; integrity at most the policy's", async () => {
      const r1 = check(await sign({ integrity: 'System' }), {}, policy(key, { privileges: ['SeDebugPrivilege'], integrity: 'High' }));
      expect(r1.ok && [r1.session.privileges, r1.session.integrity]).to.deep.equal([['SeDebugPrivilege'], 'High']);
      const r2 = check(await sign({ integrity: 'Medium', privileges: ['SeBackupPrivilege'] }), {}, policy(key, { privileges: ['SeDebugPrivilege'], integrity: 'System' }));
      expect(r2.ok && [r2.session.privileges, r2.session.integrity]).to.deep.equal([['SeBackupPrivilege'], 'Medium']);
      const r3 = check(await sign({ integrity: 'System' }), {}, policy(key, { integrity: 'System' }));
      expect(r3.ok && r3.session.integrity).to.equal('System');
    });
    it('duration capped by MaxSessionMinutes when > 0; usesLeft counts this use', async () => {
      const t = await sign({ duration: '2h', maxUses: 5 });
      const capped = check(t, { usesSoFar: 2 }, policy(key, { maxSessionMinutes: 45 }));
      expect(capped.ok && [capped.session.durationSeconds, capped.session.usesLeft]).to.deep.equal([2700, 2]);
      const free = check(t, { usesSoFar: 4 }, policy(key, { maxSessionMinutes: 0 }));
      expect(free.ok && [free.session.durationSeconds, free.session.usesLeft]).to.deep.equal([7200, 0]);
      expect(reason(check(t, { usesSoFar: 5 }))).to.equal('uses-exhausted');
      expect(reason(check(t, { usesSoFar: -1 }))).to.equal('uses-exhausted');
    });
  });

  describe('PasscodeVerifier', () => {
    it('leaves out trusted keys whose id does not fit the key, or that do not parse, and says why', async () => {
      const other = newKey();
      const v = new PasscodeVerifier(
        policy(key, {
          trustedKeys: [
            { kid: key.trusted.kid.toUpperCase(), publicKey: key.trusted.publicKey },
            { kid: other.trusted.kid, publicKey: key.trusted.publicKey },
            { kid: 'asc-0000000000000000', publicKey: 'not a key' },
          ],
        }),
      );
      expect(v.trustedKeyIds).to.deep.equal([key.trusted.kid]);
      expect(v.keyProblems.map((p) => p.kid)).to.deep.equal([other.trusted.kid, 'asc-0000000000000000']);
      const { policy: _p, ...ctx } = context(policy(key));
      expect(v.check(await sign(), ctx).ok).to.equal(true);
      expect(reason(v.check(await signPasscode(terms(), { kid: other.trusted.kid, privateKey: key.signing.privateKey }), ctx))).to.equal('unknown-key');
    });
    it('never throws for non-string or odd input', () => {
      const v = new PasscodeVerifier(policy(key));
      const { policy: _p, ...ctx } = context(policy(key));
      for (const x of [undefined, null, 42, {}, [], '', '..', 'a.b.c', '\u0000', 'é.é.é', `${'A'.repeat(10)}.${'A'.repeat(10)}.${'A'.repeat(86)}`]) {
        expect(reason(v.check(x as unknown as string, ctx))).to.equal('malformed');
      }
    });
  });

  describe('property: the verdict equals an independent oracle', () => {
    const T0 = 1_750_000_000; // 2025-06-15T15:06:40Z
    const nameChars = fc.constantFrom(...'abWXz09-_.()[]+$'.split(''));
    const name = fc.array(nameChars, { minLength: 1, maxLength: 8 }).map((a) => a.join(''));
    const pattern = fc.array(fc.oneof(nameChars, fc.constant('*'), fc.constant('?')), { minLength: 1, maxLength: 6 }).map((a) => a.join(''));
    const hhmm = fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })).map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);

    const termsArb = fc
      .record({
        id: fc.constantFrom('pc-a', 'pc-b', 'PC-C'),
        maxUses: fc.integer({ min: 1, max: 4 }),
        durationSeconds: fc.integer({ min: 1, max: 20_000 }),
        computers: fc.array(pattern, { maxLength: 3 }),
        users: fc.array(pattern, { maxLength: 3 }),
        notBefore: fc.option(fc.integer({ min: T0 - 5000, max: T0 + 5000 }), { nil: undefined }),
        span: fc.option(fc.integer({ min: 0, max: 8000 }), { nil: undefined }),
        weekdays: fc.option(fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 7 }), { nil: undefined }),
        hours: fc.option(fc.tuple(hhmm, hhmm).filter(([a, b]) => a !== b), { nil: undefined }),
        utcOffsetMinutes: fc.option(fc.integer({ min: -840, max: 840 }), { nil: undefined }),
        groups: fc.constantFrom<string[]>([], ['S-1-5-32-551']),
        integrity: fc.constantFrom('Medium', 'High', 'System'),
      })
      .map((r): PasscodeTerms => {
        const t: PasscodeTerms = {
          v: 1, id: r.id, title: 'prop', iss: 'test', iat: T0 - 10_000, maxUses: r.maxUses, durationSeconds: r.durationSeconds, endProcesses: false,
          computers: [...new Map(r.computers.map((p) => [p.toLowerCase(), p])).values()], users: [...new Map(r.users.map((p) => [p.toLowerCase(), p])).values()],
          groups: r.groups, privileges: [], integrity: r.integrity as PasscodeTerms['integrity'],
        };
        if (r.notBefore !== undefined) t.notBefore = r.notBefore;
        if (r.span !== undefined) t.notAfter = (r.notBefore ?? T0 - 4000) + r.span;
        if (r.weekdays !== undefined) t.weekdays = [...r.weekdays].sort((a, b) => a - b);
        if (r.hours !== undefined) t.hours = { from: r.hours[0], to: r.hours[1] };
        if (r.utcOffsetMinutes !== undefined) t.utcOffsetMinutes = r.utcOffsetMinutes;
        return t;
      });

    /** A value the pattern matches (wildcards filled in), in random case. */
    const fill = (p: string, seed: number): string =>
      p
        .split('')
        .map((c, i) => (c === '*' ? 'ab'.slice(0, (seed + i) % 3) : c === '?' ? 'X' : (seed >> i) & 1 ? c.toUpperCase() : c))
        .join('');

    const caseArb = termsArb.chain((t) =>
      fc.record({
        terms: fc.constant(t),
        atSeconds: fc.integer({ min: T0 - 12_000, max: T0 + 12_000 }),
        atMs: fc.integer({ min: 0, max: 999 }),
        machineOffset: fc.integer({ min: -720, max: 840 }),
        usesSoFar: fc.integer({ min: 0, max: 5 }),
        computer: fc.oneof(name, fc.integer().map((s) => (t.computers.length ? fill(t.computers[Math.abs(s) % t.computers.length] ?? '', s) : 'pc'))),
        domain: fc.constantFrom('', 'CORP\\', 'corp\\'),
        user: fc.oneof(name, fc.integer().map((s) => (t.users.length ? fill(t.users[Math.abs(s) % t.users.length] ?? '', s) : 'u'))),
        tseEnabled: fc.integer({ min: 0, max: 9 }).map((n) => n > 0),
        offlineAllowed: fc.integer({ min: 0, max: 9 }).map((n) => n > 0),
        revoked: fc.constantFrom<string[]>([], ['pc-c'], ['pc-x']),
        policyGroups: fc.constantFrom<string[]>([], ['S-1-5-32-547']),
        policyIntegrity: fc.constantFrom('Medium', 'High', 'System'),
        maxSessionMinutes: fc.constantFrom(0, 1, 60, 1000),
      }),
    );

    // ---- the oracle: written from the rules, sharing no code with src/passcode
    const wildcardRegex = (p: string) => new RegExp(`^${p.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : `\\u{${c.codePointAt(0)?.toString(16)}}`)).join('')}$`, 'isu');
    const nameOk = (patterns: string[], full: string, sep: string): boolean => {
      if (patterns.length === 0) return true;
      const candidates = (p: string) => {
        const out = [full];
        if (!p.includes(sep)) {
          if (sep === '\\' && full.includes('\\')) out.push(full.split('\\').pop() ?? '');
          if (sep === '.' && full.indexOf('.') > 0) out.push(full.split('.')[0] ?? '');
        }
        return out;
      };
      return patterns.some((p) => candidates(p).some((c) => wildcardRegex(p).test(c)));
    };
    const minutes = (s: string) => parseInt(s.split(':')[0] ?? '', 10) * 60 + parseInt(s.split(':')[1] ?? '', 10);
    type Case = typeof caseArb extends fc.Arbitrary<infer C> ? C : never;
    function oracle(c: Case): { reason: RefusalReason } | { session: { groups: string[]; integrity: string; durationSeconds: number; usesLeft: number } } {
      const t = c.terms;
      if (c.revoked.map((x) => x.toLowerCase()).includes(t.id.toLowerCase())) return { reason: 'revoked' };
      if (!c.tseEnabled) return { reason: 'tse-disabled' };
      if (!c.offlineAllowed) return { reason: 'offline-not-allowed' };
      const nowMs = c.atSeconds * 1000 + c.atMs;
      if (t.notBefore !== undefined && nowMs < t.notBefore * 1000) return { reason: 'not-yet-valid' };
      if (t.notAfter !== undefined && nowMs >= (t.notAfter + 1) * 1000) return { reason: 'expired' };
      if (!nameOk(t.computers, c.computer, '.')) return { reason: 'wrong-computer' };
      if (!nameOk(t.users, c.domain + c.user, '\\')) return { reason: 'wrong-user' };
      const local = new Date(nowMs + (t.utcOffsetMinutes ?? c.machineOffset) * 60_000);
      if (t.weekdays && !t.weekdays.includes(local.getUTCDay())) return { reason: 'outside-hours' };
      if (t.hours) {
        const m = local.getUTCHours() * 60 + local.getUTCMinutes();
        const [f, e] = [minutes(t.hours.from), minutes(t.hours.to)];
        const inside = f < e ? f <= m && m < e : m >= f || m < e;
        if (!inside) return { reason: 'outside-hours' };
      }
      if (c.usesSoFar >= t.maxUses) return { reason: 'uses-exhausted' };
      const rank = ['Medium', 'High', 'System'];
      return {
        session: {
          groups: t.groups.length ? t.groups : c.policyGroups.length ? c.policyGroups : ['S-1-5-32-544'],
          integrity: rank[Math.min(rank.indexOf(t.integrity), rank.indexOf(c.policyIntegrity))] ?? '?',
          durationSeconds: c.maxSessionMinutes > 0 && c.maxSessionMinutes * 60 < t.durationSeconds ? c.maxSessionMinutes * 60 : t.durationSeconds,
          usesLeft: t.maxUses - c.usesSoFar - 1,
        },
      };
    }

    it('over random terms and contexts (600 runs)', async function () {
      this.timeout(120_000);
      const tally = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(caseArb, async (c) => {
          const token = await signPasscode(c.terms, key.signing);
          const pol: PasscodePolicy = {
            ...policy(key),
            tseEnabled: c.tseEnabled,
            offlineAllowed: c.offlineAllowed,
            revoked: new Set(c.revoked),
            groups: c.policyGroups,
            integrity: c.policyIntegrity,
            maxSessionMinutes: c.maxSessionMinutes,
          };
          const r = checkPasscode(token, { computer: c.computer, user: c.domain + c.user, at: new Date(c.atSeconds * 1000 + c.atMs), utcOffsetMinutes: c.machineOffset, usesSoFar: c.usesSoFar, policy: pol });
          const want = oracle(c);
          tally.set(reason(r), (tally.get(reason(r)) ?? 0) + 1);
          if ('reason' in want) {
            expect(reason(r), r.ok ? 'ok' : r.message).to.equal(want.reason);
          } else {
            expect(r.ok, r.ok ? '' : `${r.reason}: ${r.message}`).to.equal(true);
            if (r.ok) expect({ groups: r.session.groups, integrity: r.session.integrity, durationSeconds: r.session.durationSeconds, usesLeft: r.session.usesLeft }).to.deep.equal(want.session);
          }
        }),
        { numRuns: 600 },
      );
      // The generators reach every verdict after the signature check, ok included.
      for (const r of ['ok', 'revoked', 'tse-disabled', 'offline-not-allowed', 'not-yet-valid', 'expired', 'wrong-computer', 'wrong-user', 'outside-hours', 'uses-exhausted']) {
        expect(tally.get(r) ?? 0, `${r} in ${JSON.stringify([...tally])}`).to.be.above(0);
      }
    });
  });
});
