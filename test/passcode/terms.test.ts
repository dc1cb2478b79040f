import { expect } from 'chai';
import { AscendError } from '../../src/errors.js';
import {
  buildTerms,
  parseDuration,
  parseHours,
  parseUtcOffset,
  parseWeekdays,
  serializeTerms,
  termsProblem,
  WINDOWS_PRIVILEGES,
  type NewPasscodeInput,
} from '../../src/passcode/index.js';
import { ISSUED, sec, terms } from './helpers.js';

/** The AscendError buildTerms throws for these overrides. */
function refusal(overrides: Partial<NewPasscodeInput>): AscendError {
  try {
    terms(overrides);
  } catch (e) {
    expect(e).to.be.instanceOf(AscendError);
    return e as AscendError;
  }
  throw new Error(`buildTerms accepted ${JSON.stringify(overrides)}`);
}

describe('passcode terms (buildTerms)', () => {
  it('fills the wizard defaults: any computer and user, no groups of its own, High, no window', () => {
    const t = terms();
    expect(t).to.deep.equal({
      v: 1,
      id: 'pc-0001',
      title: 'Install the printer driver',
      iss: 'CORP\\helpdesk',
      iat: ISSUED.getTime() / 1000,
      maxUses: 3,
      durationSeconds: 1800,
      endProcesses: false,
      computers: [],
      users: [],
      groups: [],
      privileges: [],
      integrity: 'High',
    });
    expect(termsProblem(t)).to.equal(undefined);
  });

  it('takes every tab: validation logic, groups, privileges (any case), integrity, end processes', () => {
    const t = terms({
      endProcesses: true,
      computers: [' WS-* ', 'ws-*', 's-1-5-21-1-2-3-1104'],
      users: ['CORP\\alice', 'bob'],
      notBefore: '2025-06-02T08:00:00Z',
      notAfter: '2025-06-30',
      utcOffsetMinutes: '+02:00',
      weekdays: ['mon-fri'],
      hours: '8:00-18:00',
      groups: ['S-1-5-32-544', 's-1-5-32-551'],
      privileges: ['sedebugprivilege', 'SeBackupPrivilege', 'SEDEBUGPRIVILEGE'],
      integrity: 'system',
    });
    expect(t.endProcesses).to.equal(true);
    expect(t.computers).to.deep.equal(['WS-*', 'S-1-5-21-1-2-3-1104']);
    expect(t.users).to.deep.equal(['CORP\\alice', 'bob']);
    expect(t.notBefore).to.equal(sec('2025-06-02T08:00:00Z'));
    expect(t.notAfter).to.equal(sec('2025-06-30T23:59:59+02:00'));
    expect(t.utcOffsetMinutes).to.equal(120);
    expect(t.weekdays).to.deep.equal([1, 2, 3, 4, 5]);
    expect(t.hours).to.deep.equal({ from: '08:00', to: '18:00' });
    expect(t.groups).to.deep.equal(['S-1-5-32-544', 'S-1-5-32-551']);
    expect(t.privileges).to.deep.equal(['SeDebugPrivilege', 'SeBackupPrivilege']);
    expect(t.integrity).to.equal('System');
  });

  it('generates a UUID id and takes iat from now when not given', () => {
    const before = Math.floor(Date.now() / 1000);
    const t = buildTerms({ title: 't', issuer: 'i', maxUses: 1, duration: 60 });
    expect(t.id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(t.iat).to.be.within(before, before + 5);
  });

  it('serializes canonically: fixed key order, optional fields only when present', () => {
    const t = terms({ hours: '22:00-06:00', notAfter: '2025-07-01T00:00:00Z' });
    const json = serializeTerms(t);
    expect(json).to.equal(
      '{"v":1,"id":"pc-0001","title":"Install the printer driver","iss":"CORP\\\\helpdesk","iat":1748736000,"maxUses":3,' +
        '"durationSeconds":1800,"endProcesses":false,"computers":[],"users":[],"notAfter":1751328000,' +
        '"hours":{"from":"22:00","to":"06:00"},"groups":[],"privileges":[],"integrity":"High"}',
    );
    expect(serializeTerms(JSON.parse(json))).to.equal(json);
  });

  describe('refusals name the field', () => {
    const cases: [string, Partial<NewPasscodeInput>, RegExp][] = [
      ['maxUses 0', { maxUses: 0 }, /^maxUses: 0 is not allowed/],
      ['maxUses 1.5', { maxUses: 1.5 }, /^maxUses: /],
      ['bad duration', { duration: '30 minutes' }, /^duration: "30 minutes" is not a duration/],
      ['zero duration', { duration: '0m' }, /^duration: must be at least 1 second/],
      ['negative duration', { duration: -5 }, /^duration: /],
      ['unknown privilege', { privileges: ['SeDebugPrivilege', 'SeFlyPrivilege'] }, /^privileges: "SeFlyPrivilege" is not a Windows privilege/],
      ['account right is no privilege', { privileges: ['SeInteractiveLogonRight'] }, /^privileges: /],
      ['bad integrity', { integrity: 'Ultra' }, /^integrity: "Ultra" is not Medium, High or System/],
      ['notAfter before notBefore', { notBefore: '2025-06-10T00:00Z', notAfter: '2025-06-09T23:59:59Z' }, /^notAfter: 2025-06-09T23:59:59Z is before notBefore 2025-06-10T00:00:00Z/],
      ['notAfter already past', { notAfter: '2025-05-31T00:00Z' }, /^notAfter: .* already past/],
      ['date without zone', { notBefore: '2025-06-10T08:00' }, /^notBefore: .* names no time zone/],
      ['impossible date', { notBefore: '2025-02-30T00:00Z' }, /^notBefore: .* not a real date/],
      ['not a date', { notAfter: 'next friday' }, /^notAfter: "next friday" is not a date/],
      ['bad hours', { hours: '8-18' }, /^hours: "8-18" is not a range/],
      ['hours 25:00', { hours: '08:00-25:00' }, /^hours: "25:00" is not a time of day/],
      ['empty hours', { hours: '08:00-08:00' }, /^hours: .* empty range/],
      ['bad weekday', { weekdays: ['funday'] }, /^weekdays: "funday" is not a day/],
      ['weekday 7', { weekdays: [7] }, /^weekdays: 7 is not a day/],
      ['empty title', { title: '  ' }, /^title: is required/],
      ['two-line title', { title: 'a\nb' }, /^title: must be one line/],
      ['empty issuer', { issuer: '' }, /^issuer: is required/],
      ['group not a SID', { groups: ['BUILTIN\\Administrators'] }, /^groups: "BUILTIN\\Administrators" is not a SID/],
      ['SID pattern with wildcard', { computers: ['S-1-5-21-*'] }, /^computers: "S-1-5-21-\*" starts like a SID but is not one/],
      ['empty user pattern', { users: ['alice', ''] }, /^users: an entry is empty/],
      ['bad id', { id: '../etc' }, /^id: /],
      ['bad offset', { utcOffsetMinutes: '+15:00' }, /^utcOffsetMinutes: /],
    ];
    for (const [name, overrides, message] of cases) {
      it(name, () => {
        const e = refusal(overrides);
        expect(e.code).to.equal('ASC_PASSCODE_BAD_TERMS');
        expect(e.message).to.match(message);
        expect(e.message).to.not.include('\n');
      });
    }
  });

  describe('parsers', () => {
    it('durations: s, m, h, d, compounds and plain seconds', () => {
      expect(parseDuration('90s')).to.equal(90);
      expect(parseDuration('30m')).to.equal(1800);
      expect(parseDuration('2h')).to.equal(7200);
      expect(parseDuration('1d')).to.equal(86400);
      expect(parseDuration('1h30m')).to.equal(5400);
      expect(parseDuration('1D 12H')).to.equal(129600);
      expect(parseDuration('600')).to.equal(600);
      expect(parseDuration(45)).to.equal(45);
      for (const bad of ['', 'm', '30x', '1m1h', '2.5h', '-1m', '367d']) expect(() => parseDuration(bad), bad).to.throw(AscendError);
    });

    it('weekdays: numbers, names, ranges (also wrapping), lists', () => {
      expect(parseWeekdays([0, 6])).to.deep.equal([0, 6]);
      expect(parseWeekdays(['Mon', 'wednesday', '5'])).to.deep.equal([1, 3, 5]);
      expect(parseWeekdays(['sat,sun'])).to.deep.equal([0, 6]);
      expect(parseWeekdays(['fri-mon'])).to.deep.equal([0, 1, 5, 6]);
      expect(() => parseWeekdays([])).to.throw(/weekdays: the list is empty/);
    });

    it('hours: H:MM, 24:00 as an end, wrapping ranges', () => {
      expect(parseHours('8:00-18:00')).to.deep.equal({ from: '08:00', to: '18:00' });
      expect(parseHours('18:00 - 24:00')).to.deep.equal({ from: '18:00', to: '00:00' });
      expect(parseHours('22:30-06:15')).to.deep.equal({ from: '22:30', to: '06:15' });
      expect(() => parseHours('24:00-08:00')).to.throw(/hours: /);
    });

    it('UTC offsets', () => {
      expect(parseUtcOffset('Z')).to.equal(0);
      expect(parseUtcOffset('+02:00')).to.equal(120);
      expect(parseUtcOffset('-0530')).to.equal(-330);
      expect(parseUtcOffset(-600)).to.equal(-600);
      expect(() => parseUtcOffset('+02:60')).to.throw(AscendError);
    });

    it('the privilege list is the documented one, unique, all Se*Privilege', () => {
      expect(WINDOWS_PRIVILEGES).to.have.length(36);
      expect(new Set(WINDOWS_PRIVILEGES).size).to.equal(36);
      for (const p of WINDOWS_PRIVILEGES) expect(p).to.match(/^Se[A-Za-z]+Privilege$/);
      for (const p of ['SeDebugPrivilege', 'SeBackupPrivilege', 'SeRestorePrivilege', 'SeTcbPrivilege', 'SeImpersonatePrivilege', 'SeDelegateSessionUserImpersonatePrivilege']) {
        expect(WINDOWS_PRIVILEGES).to.include(p);
      }
    });
  });

  describe('termsProblem (the shape every decoded payload must have)', () => {
    const base = () => JSON.parse(serializeTerms(terms())) as Record<string, unknown>;
    const cases: [string, (t: Record<string, unknown>) => void, RegExp][] = [
      ['an unknown field', (t) => (t.admin = true), /unknown field "admin"/],
      ['a missing field', (t) => delete t.maxUses, /field "maxUses" is missing/],
      ['version 2', (t) => (t.v = 2), /^v: /],
      ['maxUses 0', (t) => (t.maxUses = 0), /^maxUses: /],
      ['a string number', (t) => (t.durationSeconds = '1800'), /^durationSeconds: /],
      ['a lower-case privilege', (t) => (t.privileges = ['sedebugprivilege']), /^privileges: /],
      ['a repeated privilege', (t) => (t.privileges = ['SeDebugPrivilege', 'SeDebugPrivilege']), /listed twice/],
      ['unsorted weekdays', (t) => (t.weekdays = [3, 1]), /^weekdays: /],
      ['hours with an extra field', (t) => (t.hours = { from: '08:00', to: '09:00', tz: 'x' }), /^hours: /],
      ['a lower-case group SID', (t) => (t.groups = ['s-1-5-32-544']), /^groups: /],
      ['a window the wrong way round', (t) => ((t.notBefore = 10), (t.notAfter = 9)), /^notAfter: /],
      ['integrity "high"', (t) => (t.integrity = 'high'), /^integrity: /],
    ];
    for (const [name, change, message] of cases) {
      it(`refuses ${name}`, () => {
        const t = base();
        change(t);
        expect(termsProblem(t)).to.match(message);
      });
    }
    it('refuses what is not an object', () => {
      for (const x of [null, 1, 'x', [], true]) expect(termsProblem(x)).to.equal('terms: must be a JSON object');
    });
  });
});
