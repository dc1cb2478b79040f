import { expect } from 'chai';
import fc from 'fast-check';
import { AscendError, isAscendError } from '../../src/errors.js';
import {
  ACCESS_MASK,
  ACE_FLAGS,
  EXTENDED_RIGHTS,
  SD_CONTROL,
  SD_FLAGS,
  parseSecurityDescriptor,
  sdFlagsOf,
  writeSecurityDescriptor,
  type Ace,
  type SecurityDescriptor,
} from '../../src/directory/index.js';

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

const COMPUTER_CLASS = 'bf967a86-0de6-11d0-a285-00aa003049e2';
const OU_CLASS = 'bf967aa5-0de6-11d0-a285-00aa003049e2';

/**
 * A self-relative descriptor written out by hand (MS-DTYP 2.4.6):
 *   owner BUILTIN\Administrators, group SYSTEM, no SACL, a protected DACL of four ACEs:
 *   0 allow SYSTEM 0x000f01ff, container-inherit
 *   1 deny Everyone DELETE
 *   2 allow-object Authenticated Users CONTROL_ACCESS on Apply Group Policy (object type only)
 *   3 deny-object Administrators READ_PROPERTY, object type = computer class, inherited object type = OU class
 */
const HAND_BUILT = hex(`
  01 00 0490
  14000000 24000000 00000000 30000000
  01 02 000000000005 20000000 20020000
  01 01 000000000005 12000000
  04 00 9400 0400 0000
    00 02 1400 ff010f00  01 01 000000000005 12000000
    01 00 1400 00000100  01 01 000000000001 00000000
    05 02 2800 00010000 01000000  8ffdaced b3ff d111 b41d 00a0c968f939  01 01 000000000005 0b000000
    06 0a 3c00 10000000 03000000  867a96bf e60d d011 a285 00aa003049e2  a57a96bf e60d d011 a285 00aa003049e2  01 02 000000000005 20000000 20020000
`);

const HAND_BUILT_PARSED: SecurityDescriptor = {
  control: SD_CONTROL.SELF_RELATIVE | SD_CONTROL.DACL_PROTECTED | SD_CONTROL.DACL_PRESENT,
  owner: 'S-1-5-32-544',
  group: 'S-1-5-18',
  dacl: [
    { type: 'allow', typeCode: 0, flags: ACE_FLAGS.CONTAINER_INHERIT, mask: 0x000f01ff, sid: 'S-1-5-18' },
    { type: 'deny', typeCode: 1, flags: 0, mask: ACCESS_MASK.DELETE, sid: 'S-1-1-0' },
    {
      type: 'allow-object',
      typeCode: 5,
      flags: ACE_FLAGS.CONTAINER_INHERIT,
      mask: ACCESS_MASK.CONTROL_ACCESS,
      sid: 'S-1-5-11',
      objectType: EXTENDED_RIGHTS.APPLY_GROUP_POLICY,
    },
    {
      type: 'deny-object',
      typeCode: 6,
      flags: ACE_FLAGS.CONTAINER_INHERIT | ACE_FLAGS.INHERIT_ONLY,
      mask: ACCESS_MASK.READ_PROPERTY,
      sid: 'S-1-5-32-544',
      objectType: COMPUTER_CLASS,
      inheritedObjectType: OU_CLASS,
    },
  ],
};

function sdError(fn: () => unknown): AscendError | undefined {
  try {
    fn();
  } catch (e) {
    if (isAscendError(e)) return e;
    throw e; // anything else is a crash: the test fails
  }
  return undefined;
}

describe('directory: security descriptors (MS-DTYP 2.4.6)', () => {
  it('has the hand-built descriptor the length its offsets say', () => {
    expect(HAND_BUILT.length).to.equal(48 + 0x94);
  });

  it('parses owner, group and a DACL of allow, deny and object ACEs', () => {
    expect(parseSecurityDescriptor(HAND_BUILT)).to.deep.equal(HAND_BUILT_PARSED);
  });

  it('finds the Apply Group Policy object ACE', () => {
    const sd = parseSecurityDescriptor(HAND_BUILT);
    const apply = sd.dacl?.find((a) => a.type === 'allow-object' && a.objectType === EXTENDED_RIGHTS.APPLY_GROUP_POLICY);
    expect(apply?.sid).to.equal('S-1-5-11');
    expect(apply?.inheritedObjectType).to.equal(undefined);
    expect((apply?.mask ?? 0) & ACCESS_MASK.CONTROL_ACCESS).to.not.equal(0);
  });

  it('reads a descriptor without DACL, owner or group (as with SD flags asking for one part)', () => {
    const daclOnly = hex('01 00 0480 00000000 00000000 00000000 14000000  02 00 0800 0000 0000');
    expect(parseSecurityDescriptor(daclOnly)).to.deep.equal({ control: 0x8004, dacl: [] });
    const ownerOnly = hex('01 00 0080 14000000 00000000 00000000 00000000  01 01 000000000005 12000000');
    expect(parseSecurityDescriptor(ownerOnly)).to.deep.equal({ control: 0x8000, owner: 'S-1-5-18' });
  });

  it('treats DACL_PRESENT with offset 0 as a NULL DACL (no dacl)', () => {
    const nullDacl = hex('01 00 0480 00000000 00000000 00000000 00000000');
    expect(parseSecurityDescriptor(nullDacl)).to.deep.equal({ control: 0x8004 });
  });

  it('reads a SACL with audit ACEs', () => {
    const sd = hex(`01 00 1080 00000000 00000000 14000000 00000000
      04 00 3000 0100 0000
        07 c2 2800 20000000 01000000 be3b0ef3 f09f d111 b603 0000f80367c1  01 01 000000000001 00000000`);
    expect(parseSecurityDescriptor(sd).sacl).to.deep.equal([
      { type: 'audit-object', typeCode: 7, flags: 0xc2, mask: 0x20, sid: 'S-1-1-0', objectType: 'f30e3bbe-9ff0-11d1-b603-0000f80367c1' },
    ]);
  });

  it('keeps an ACE of another type as "other" with its bytes, and writes them back unchanged', () => {
    // A mandatory label ACE (0x11): mask + SID, like a basic ACE.
    const sd = hex('01 00 0480 00000000 00000000 00000000 14000000  02 00 1c00 0100 0000  11 00 1400 01000000 01 01 000000000010 00300000');
    const parsed = parseSecurityDescriptor(sd);
    const ace = parsed.dacl?.[0] as Ace;
    expect(ace.type).to.equal('other');
    expect(ace.typeCode).to.equal(0x11);
    expect(ace.sid).to.equal('S-1-16-12288');
    expect(ace.raw?.toString('hex')).to.equal(sd.subarray(28).toString('hex'));
    expect(writeSecurityDescriptor(parsed).equals(sd)).to.equal(true);
  });

  it('writes a descriptor that parses back to the same thing', () => {
    const written = writeSecurityDescriptor(HAND_BUILT_PARSED);
    expect(parseSecurityDescriptor(written)).to.deep.equal(HAND_BUILT_PARSED);
    // Layout: header, DACL (revision 4 for object ACEs), owner, group.
    expect(written.length).to.equal(HAND_BUILT.length);
    expect(written.readUInt32LE(16)).to.equal(20);
    expect(written[20]).to.equal(4);
  });

  it('writes a DACL of basic ACEs as ACL revision 2, and sets SELF_RELATIVE and DACL_PRESENT', () => {
    const written = writeSecurityDescriptor({ control: 0, dacl: [{ type: 'allow', typeCode: 0, flags: 0, mask: 1, sid: 'S-1-1-0' }] });
    expect(written.readUInt16LE(2)).to.equal(SD_CONTROL.SELF_RELATIVE | SD_CONTROL.DACL_PRESENT);
    expect(written[20]).to.equal(2);
  });

  it('drops the SACL and its control bit on write', () => {
    const written = writeSecurityDescriptor({ control: 0x8014, owner: 'S-1-5-18', sacl: [], dacl: [] });
    const sd = parseSecurityDescriptor(written);
    expect(sd.control & SD_CONTROL.SACL_PRESENT).to.equal(0);
    expect(sd.sacl).to.equal(undefined);
    expect(written.readUInt32LE(12)).to.equal(0);
  });

  it('names the parts a descriptor carries as SD flags', () => {
    expect(sdFlagsOf(HAND_BUILT)).to.equal(SD_FLAGS.OWNER | SD_FLAGS.GROUP | SD_FLAGS.DACL);
    expect(sdFlagsOf(writeSecurityDescriptor({ control: 0, dacl: [] }))).to.equal(SD_FLAGS.DACL);
    expect(sdFlagsOf(new Uint8Array(3))).to.equal(0);
  });

  it('refuses to write what it cannot (ASC_SD_INVALID)', () => {
    const bad: SecurityDescriptor[] = [
      { control: 0, owner: 'not-a-sid' },
      { control: 0, dacl: [{ type: 'allow', typeCode: 0, flags: 0, mask: 1, sid: 'S-1-1-0', objectType: COMPUTER_CLASS }] },
      { control: 0, dacl: [{ type: 'allow-object', typeCode: 5, flags: 0, mask: 1, sid: 'S-1-1-0', objectType: 'nope' }] },
      { control: 0, dacl: [{ type: 'allow', typeCode: 0, flags: 256, mask: 1, sid: 'S-1-1-0' }] },
      { control: 0, dacl: [{ type: 'allow', typeCode: 0, flags: 0, mask: 2 ** 32, sid: 'S-1-1-0' }] },
      { control: 0x10000 },
    ];
    for (const sd of bad) expect(sdError(() => writeSecurityDescriptor(sd))?.code, JSON.stringify(sd)).to.equal('ASC_SD_INVALID');
  });

  describe('malformed bytes give ASC_SD_INVALID, never a crash', () => {
    it('every truncation of the hand-built descriptor', () => {
      for (let n = 0; n < HAND_BUILT.length; n++) {
        const e = sdError(() => parseSecurityDescriptor(HAND_BUILT.subarray(0, n)));
        expect(e?.code, `prefix of ${n} bytes`).to.equal('ASC_SD_INVALID');
      }
    });

    it('names the byte offset of the problem', () => {
      const bad = Buffer.from(HAND_BUILT);
      bad.writeUInt16LE(0xffff, 48 + 2); // the DACL's size
      expect(sdError(() => parseSecurityDescriptor(bad))?.message).to.match(/at byte 50\b/);
    });

    it('specific faults', () => {
      const cases: Array<[string, (b: Buffer) => void]> = [
        ['revision 2', (b) => b.writeUInt8(2, 0)],
        ['not self-relative', (b) => b.writeUInt16LE(0x0004, 2)],
        ['owner offset in the header', (b) => b.writeUInt32LE(4, 4)],
        ['owner offset past the end', (b) => b.writeUInt32LE(10_000, 4)],
        ['DACL offset past the end', (b) => b.writeUInt32LE(10_000, 16)],
        ['ACL revision 3', (b) => b.writeUInt8(3, 48)],
        ['ACE count beyond the ACEs', (b) => b.writeUInt16LE(9, 52)],
        ['ACE size 0', (b) => b.writeUInt16LE(0, 56 + 2)],
        ['ACE size past its ACL', (b) => b.writeUInt16LE(0x200, 56 + 2)],
        ['object ACE too short for its GUIDs', (b) => b.writeUInt32LE(3, 96 + 8)],
        ['SID with 15 sub-authorities inside an ACE', (b) => b.writeUInt8(15, 56 + 9)],
      ];
      for (const [name, mutate] of cases) {
        const b = Buffer.from(HAND_BUILT);
        mutate(b);
        expect(sdError(() => parseSecurityDescriptor(b))?.code, name).to.equal('ASC_SD_INVALID');
      }
    });

    it('random bytes and random mutations (property)', () => {
      const check = (bytes: Uint8Array): void => {
        const e = sdError(() => parseSecurityDescriptor(bytes));
        expect(e === undefined || e.code === 'ASC_SD_INVALID').to.equal(true);
      };
      fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), check), { numRuns: 500 });
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (edits) => {
          const b = Buffer.from(HAND_BUILT);
          for (const [at, value] of edits) b[at % b.length] = value;
          check(b);
        }),
        { numRuns: 1000 },
      );
    });
  });

  it('round-trips any owner/group/DACL through write and parse (property)', () => {
    const sidArb = fc
      .tuple(fc.integer({ min: 0, max: 0xffff_ffff }), fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { maxLength: 15 }))
      .map(([auth, subs]) => ['S', '1', String(auth), ...subs.map(String)].join('-'));
    const guidArb = fc.uuid().map((u) => u.toLowerCase());
    const basicAce = fc.record({
      type: fc.constantFrom('allow' as const, 'deny' as const),
      flags: fc.integer({ min: 0, max: 255 }),
      mask: fc.integer({ min: 0, max: 0xffff_ffff }),
      sid: sidArb,
    });
    const objectAce = fc.record(
      {
        type: fc.constantFrom('allow-object' as const, 'deny-object' as const),
        flags: fc.integer({ min: 0, max: 255 }),
        mask: fc.integer({ min: 0, max: 0xffff_ffff }),
        sid: sidArb,
        objectType: guidArb,
        inheritedObjectType: guidArb,
      },
      { requiredKeys: ['type', 'flags', 'mask', 'sid'] },
    );
    const codes = { allow: 0, deny: 1, 'allow-object': 5, 'deny-object': 6 } as const;
    const aceArb = fc.oneof(basicAce, objectAce).map((a): Ace => ({ ...a, typeCode: codes[a.type] }));
    const sdArb = fc.record(
      {
        control: fc.integer({ min: 0, max: 0xffff }).map((c) => (c | SD_CONTROL.SELF_RELATIVE | SD_CONTROL.DACL_PRESENT) & ~SD_CONTROL.SACL_PRESENT),
        owner: sidArb,
        group: sidArb,
        dacl: fc.array(aceArb, { maxLength: 20 }),
      },
      { requiredKeys: ['control', 'dacl'] },
    );
    fc.assert(
      fc.property(sdArb, (sd) => {
        expect(parseSecurityDescriptor(writeSecurityDescriptor(sd))).to.deep.equal(sd);
      }),
      { numRuns: 300 },
    );
  });
});
