import { expect } from 'chai';
import fc from 'fast-check';
import {
  domainRelativeSid,
  guidToBytes,
  guidToString,
  isSid,
  normalizeGuid,
  readSid,
  sidRid,
  sidToBytes,
  sidToString,
} from '../../src/directory/index.js';
import { codeOf } from '../support/errors.js';

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

describe('directory: SIDs (MS-DTYP 2.4.2)', () => {
  const cases: Array<[string, string]> = [
    ['S-1-5-32-544', '01 02 000000000005 20000000 20020000'],
    ['S-1-1-0', '01 01 000000000001 00000000'],
    ['S-1-5-11', '01 01 000000000005 0b000000'],
    ['S-1-5-21-1411096885-3378867476-1883896783-512', '01 05 000000000005 15000000 35a11b54 146d65c9 cffb4970 00020000'],
    ['S-1-5', '01 00 000000000005'],
  ];

  for (const [text, bytes] of cases) {
    it(`${text} <-> ${bytes}`, () => {
      expect(sidToString(hex(bytes))).to.equal(text);
      expect(sidToBytes(text).toString('hex')).to.equal(hex(bytes).toString('hex'));
    });
  }

  it('writes an identifier authority of 2^32 or more in hex, and reads it back', () => {
    const bytes = hex('01 01 0102030405 06 07000000');
    expect(sidToString(bytes)).to.equal('S-1-0x010203040506-7');
    expect(sidToBytes('S-1-0x010203040506-7').equals(bytes)).to.equal(true);
  });

  it('accepts a lower-case "s-" prefix', () => {
    expect(sidToString(sidToBytes('s-1-5-18'))).to.equal('S-1-5-18');
  });

  it('reads a SID inside a larger buffer and reports its length', () => {
    const buf = Buffer.concat([hex('ffff'), sidToBytes('S-1-5-32-544'), hex('eeee')]);
    expect(readSid(buf, 2)).to.deep.equal({ sid: 'S-1-5-32-544', length: 16 });
  });

  it('refuses malformed binary SIDs with ASC_SID_INVALID', () => {
    expect(codeOf(() => sidToString(hex('01 02 000000000005 20000000')))).to.equal('ASC_SID_INVALID'); // truncated
    expect(codeOf(() => sidToString(hex('02 01 000000000005 0b000000')))).to.equal('ASC_SID_INVALID'); // revision 2
    expect(codeOf(() => sidToString(hex('01 10 000000000005' + '00000000'.repeat(16))))).to.equal('ASC_SID_INVALID'); // 16 subs
    expect(codeOf(() => sidToString(hex('01 01 000000000005 0b000000 00')))).to.equal('ASC_SID_INVALID'); // trailing byte
    expect(codeOf(() => sidToString(new Uint8Array(0)))).to.equal('ASC_SID_INVALID');
  });

  it('refuses malformed SID strings with ASC_SID_INVALID', () => {
    for (const bad of ['', 'S', 'S-1', 'S-2-5-18', 'X-1-5-18', 'S-1-5-x', 'S-1-5-4294967296', 'S-1-5--1', 'S-1-5-018', 'S-1-281474976710656-1', `S-1-5${'-1'.repeat(16)}`]) {
      expect(codeOf(() => sidToBytes(bad)), bad).to.equal('ASC_SID_INVALID');
      expect(isSid(bad), bad).to.equal(false);
    }
  });

  it('gives the RID and composes domain-relative SIDs', () => {
    const domain = 'S-1-5-21-1411096885-3378867476-1883896783';
    expect(domainRelativeSid(domain, 515)).to.equal(`${domain}-515`);
    expect(sidRid(`${domain}-512`)).to.equal(512);
    expect(codeOf(() => sidRid('S-1-5'))).to.equal('ASC_SID_INVALID');
  });

  it('round-trips any SID (property)', () => {
    const sidArb = fc
      .record({
        authority: fc.oneof(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 0, max: 0xffff_ffff_ffff })),
        subs: fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { maxLength: 15 }),
      })
      .map(({ authority, subs }) => {
        const auth = authority >= 0x1_0000_0000 ? `0x${authority.toString(16).toUpperCase().padStart(12, '0')}` : String(authority);
        return ['S', '1', auth, ...subs.map(String)].join('-');
      });
    fc.assert(
      fc.property(sidArb, (sid) => {
        expect(sidToString(sidToBytes(sid))).to.equal(sid);
      }),
    );
  });

  it('never throws anything but ASC_SID_INVALID on random bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const code = codeOf(() => sidToString(bytes));
        expect(code === undefined || code === 'ASC_SID_INVALID').to.equal(true);
      }),
    );
  });
});

describe('directory: GUIDs in AD byte order', () => {
  const applyGroupPolicy = 'edacfd8f-ffb3-11d1-b41d-00a0c968f939';
  const applyGroupPolicyBytes = '8ffdaced b3ff d111 b41d 00a0c968f939';

  it('reads the Apply Group Policy right from its mixed-endian bytes', () => {
    expect(guidToString(hex(applyGroupPolicyBytes))).to.equal(applyGroupPolicy);
  });

  it('writes it back to the same bytes', () => {
    expect(guidToBytes(applyGroupPolicy).toString('hex')).to.equal(hex(applyGroupPolicyBytes).toString('hex'));
  });

  it('accepts braces and upper case, and answers lower case without braces', () => {
    expect(guidToString(guidToBytes('{31B2F340-016D-11D2-945F-00C04FB984F9}'))).to.equal('31b2f340-016d-11d2-945f-00c04fb984f9');
    expect(normalizeGuid('{6AC1786C-016F-11D2-945F-00C04FB984F9}')).to.equal('6ac1786c-016f-11d2-945f-00c04fb984f9');
  });

  it('refuses malformed GUIDs with ASC_GUID_INVALID', () => {
    expect(codeOf(() => guidToString(new Uint8Array(15)))).to.equal('ASC_GUID_INVALID');
    expect(codeOf(() => guidToString(new Uint8Array(17)))).to.equal('ASC_GUID_INVALID');
    for (const bad of ['', 'edacfd8f-ffb3-11d1-b41d-00a0c968f93', 'edacfd8fffb311d1b41d00a0c968f939', '{edacfd8f-ffb3-11d1-b41d-00a0c968f939', 'gdacfd8f-ffb3-11d1-b41d-00a0c968f939']) {
      expect(codeOf(() => guidToBytes(bad)), bad).to.equal('ASC_GUID_INVALID');
    }
  });

  it('round-trips any 16 bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const text = guidToString(bytes);
        expect(text).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        expect(guidToBytes(text).equals(Buffer.from(bytes))).to.equal(true);
      }),
    );
  });
});
