import { expect } from 'chai';
import { XMLParser } from 'fast-xml-parser';
import { ASCEND_CATALOG } from '../../src/catalog/index.js';
import type { PolicyCatalog } from '../../src/catalog/model.js';
import { AscendError } from '../../src/errors.js';
import { readAdmx, writeAdmx } from '../../src/formats/admx/index.js';
import { admxSchemaAvailable, validateAdmxSchema } from '../support/admx-schema.js';
import { requireComponent, xmllintAvailable } from '../support/components.js';

/** Runs fn and returns the AscendError it throws; fails the test if it throws nothing or something else. */
function ascendErrorOf(fn: () => unknown): AscendError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(AscendError);
    return e as AscendError;
  }
  throw new Error('expected an AscendError, but nothing was thrown');
}

const { admx, adml } = writeAdmx(ASCEND_CATALOG);

/** Replaces exactly one occurrence, so a test cannot pass because its edit missed. */
function replaceOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  expect(at, `"${from}" in the document`).to.be.greaterThan(-1);
  expect(text.indexOf(from, at + 1), `"${from}" only once`).to.equal(-1);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

describe('ADMX/ADML writer and reader: the Ascend catalog', () => {
  describe('schema validation (xmllint)', function () {
    before(function () {
      requireComponent(this, xmllintAvailable(), 'xmllint', 'apt-get install libxml2-utils');
      requireComponent(this, admxSchemaAvailable(), 'the ADMX schema (shared/admx-schema)', 'set ASCEND_ADMX_SCHEMA_DIR');
    });

    it('the ADMX validates against PolicyDefinitionFiles.xsd', () => {
      const verdict = validateAdmxSchema(admx);
      expect(verdict.errors).to.equal('');
      expect(verdict.valid).to.equal(true);
    });

    it('the ADML validates against PolicyDefinitionFiles.xsd', () => {
      const verdict = validateAdmxSchema(adml);
      expect(verdict.errors).to.equal('');
      expect(verdict.valid).to.equal(true);
    });

    it('the validator rejects a policy without its class', () => {
      const broken = replaceOnce(admx, '<policy name="OfflinePasscodes" class="Machine" ', '<policy name="OfflinePasscodes" ');
      const verdict = validateAdmxSchema(broken);
      expect(verdict.valid).to.equal(false);
      expect(verdict.errors).to.match(/class/);
    });

    it('the validator rejects children out of schema order', () => {
      const broken = replaceOnce(
        admx,
        '<parentCategory ref="ClientDeployment"/>\n      <supportedOn ref="SUPPORTED_Ascend_1_0"/>',
        '<supportedOn ref="SUPPORTED_Ascend_1_0"/>\n      <parentCategory ref="ClientDeployment"/>',
      );
      expect(validateAdmxSchema(broken).valid).to.equal(false);
    });

    it('the validator rejects an ADML string id the schema does not allow', () => {
      const broken = replaceOnce(adml, '<string id="Cat_Blacklist">', '<string id="Cat-Blacklist">');
      expect(validateAdmxSchema(broken).valid).to.equal(false);
    });
  });

  describe('round trip and determinism', () => {
    it('reading what was written gives back the catalog', () => {
      expect(readAdmx(admx, adml)).to.deep.equal(ASCEND_CATALOG);
    });

    it('writing twice gives identical bytes', () => {
      const again = writeAdmx(ASCEND_CATALOG);
      expect(again.admx).to.equal(admx);
      expect(again.adml).to.equal(adml);
    });

    it('writes UTF-8 XML with the real namespace, 2-space indentation and a trailing newline', () => {
      for (const doc of [admx, adml]) {
        expect(doc.startsWith('<?xml version="1.0" encoding="utf-8"?>\n')).to.equal(true);
        expect(doc.endsWith('>\n')).to.equal(true);
        expect(doc).to.contain('xmlns="http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions"');
        expect(doc).to.contain('revision="1.0" schemaVersion="1.0"');
        expect(doc).not.to.contain('\t');
      }
      expect(admx).to.contain('\n  <policyNamespaces>\n    <target prefix="ascend" namespace="Ascend.Policies.PrivilegeManager"/>\n');
      expect(admx).to.contain('\n  <resources minRequiredRevision="1.0"/>\n');
    });

    it('reads files with CRLF line endings and a byte-order mark the same', () => {
      const crlf = (s: string): string => '\uFEFF' + s.replace(/\n/g, '\r\n');
      expect(readAdmx(crlf(admx), crlf(adml))).to.deep.equal(ASCEND_CATALOG);
    });

    it('help texts keep their paragraph breaks exactly', () => {
      const back = readAdmx(admx, adml);
      for (const [i, p] of ASCEND_CATALOG.policies.entries()) {
        expect(back.policies[i]?.help).to.equal(p.help);
        expect(p.help).to.contain('\n\n');
      }
    });
  });

  describe('what a domain admin sees in GPMC', () => {
    // An independent look at the files, not through readAdmx.
    const parser = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '',
      parseAttributeValue: false,
      parseTagValue: false,
      trimValues: false,
      isArray: (name, _jpath, _leaf, isAttribute) =>
        !isAttribute && ['category', 'policy', 'string', 'presentation', 'decimalTextBox', 'listBox', 'decimal', 'list'].includes(name),
    });
    const admxDoc = parser.parse(admx) as any;
    const admlDoc = parser.parse(adml) as any;
    const strings = new Map<string, string>(
      (admlDoc.policyDefinitionResources.resources.stringTable.string as any[]).map((s) => [s.id as string, s['#text'] as string]),
    );
    const text = (ref: string): string | undefined => strings.get(/^\$\(string\.(\w+)\)$/.exec(ref)?.[1] ?? '');
    const categories = admxDoc.policyDefinitions.categories.category as any[];
    const policies = admxDoc.policyDefinitions.policies.policy as any[];
    const presentations = admlDoc.policyDefinitionResources.resources.presentationTable.presentation as any[];

    it('shows the category tree "Ascend Privilege Manager" > its seven categories', () => {
      const roots = categories.filter((c) => c.parentCategory === undefined);
      expect(roots.map((c) => text(c.displayName))).to.deep.equal(['Ascend Privilege Manager']);
      const children = categories.filter((c) => c.parentCategory?.ref === roots[0].name).map((c) => text(c.displayName));
      expect(children).to.deep.equal([
        'Client Data Collection',
        'Client Deployment',
        'Temporary Session Elevation',
        'Elevation Rules',
        'Blacklist',
        'Ephemeral Accounts',
        'Approvals',
      ]);
    });

    it('offers the collector port in a decimal box that starts at 8003', () => {
      const policy = policies.find((p) => p.name === 'ClientDataCollection');
      const port = (policy.elements.decimal as any[]).find((d) => d.id === 'CollectorPort');
      expect(port).to.include({ valueName: 'CollectorPort', minValue: '1', maxValue: '65535', storeAsText: 'false' });
      const presentation = presentations.find((p) => `$(presentation.${p.id})` === policy.presentation);
      const box = (presentation.decimalTextBox as any[]).find((b) => b.refId === 'CollectorPort');
      expect(box.defaultValue).to.equal('8003');
    });

    it('explains that TSE Groups default to BUILTIN\\Administrators', () => {
      const policy = policies.find((p) => p.name === 'TemporarySessionElevation');
      expect(text(policy.displayName)).to.equal('Instant On Demand Privilege Elevation');
      expect(text(policy.explainText)).to.contain('BUILTIN\\Administrators (S-1-5-32-544)');
      const presentation = presentations.find((p) => p.id === 'TemporarySessionElevation');
      const groups = (presentation.listBox as any[]).find((b) => b.refId === 'Groups');
      expect(groups['#text']).to.contain('BUILTIN\\Administrators');
    });

    it('writes the rule lists additive and the TSE lists replacing', () => {
      const list = (policy: string, id: string): any =>
        (policies.find((p) => p.name === policy).elements.list as any[]).find((l) => l.id === id);
      expect(list('ElevationRules', 'Rules')).to.include({ additive: 'true', explicitValue: 'true' });
      expect(list('BlacklistRules', 'Rules')).to.include({ additive: 'true', explicitValue: 'true' });
      expect(list('RevokedPasscodes', 'Passcodes')).to.include({ additive: 'true' });
      expect(list('TemporarySessionElevation', 'Groups')).to.include({ additive: 'false', explicitValue: 'false' });
    });
  });

  describe('invalid files', () => {
    function expectInvalid(admxText: string, admlText: string, ...mentions: RegExp[]): void {
      const e = ascendErrorOf(() => readAdmx(admxText, admlText));
      expect(e.code).to.equal('ASC_ADMX_INVALID');
      expect(e.message).not.to.contain('\n');
      for (const m of mentions) expect(e.message).to.match(m);
    }

    it('refuses an element of unknown type, naming the policy and the element', () => {
      const broken = replaceOnce(admx, '<list id="Privileges"', '<frobnicator id="Privileges"');
      expectInvalid(broken, adml, /^ADMX: /, /policy TemporarySessionElevation/, /Privileges/, /<frobnicator>/);
    });

    it('refuses multiText and longDecimal elements, which the model lacks', () => {
      const multi = replaceOnce(admx, '<list id="Privileges"', '<multiText id="Privileges" valueName="P"');
      expectInvalid(multi, adml, /element Privileges/, /multiText/, /not support/);
      const long = replaceOnce(admx, '<decimal id="CollectorPort"', '<longDecimal id="CollectorPort"');
      expectInvalid(long, adml, /policy ClientDataCollection element CollectorPort/, /longDecimal/);
    });

    it('refuses a dangling $(string.X) reference, naming it', () => {
      const broken = replaceOnce(admx, 'displayName="$(string.RevokedPasscodes)"', 'displayName="$(string.NoSuchString)"');
      expectInvalid(broken, adml, /policy RevokedPasscodes/, /\$\(string\.NoSuchString\)/);
    });

    it('refuses a dangling $(presentation.X) reference', () => {
      const broken = replaceOnce(admx, '"$(presentation.Approvals)"', '"$(presentation.Nope)"');
      expectInvalid(broken, adml, /policy Approvals/, /presentation\.Nope/);
    });

    it('refuses text that is not XML', () => {
      expectInvalid(admx.slice(0, admx.length / 2), adml, /^ADMX: not well-formed XML at line \d+/);
      expectInvalid(admx, '<policyDefinitionResources><oops></policyDefinitionResources>', /^ADML: not well-formed/);
      expectInvalid('', adml, /^ADMX: /);
    });

    it('refuses a policy without its key', () => {
      const broken = replaceOnce(admx, ' key="SOFTWARE\\Policies\\Ascend\\PrivilegeManager\\Approvals" valueName="Enabled"', ' valueName="Enabled"');
      expectInvalid(broken, adml, /policy Approvals/, /required attribute key/);
    });

    it('refuses a policy class that is not Machine, User or Both', () => {
      const broken = replaceOnce(admx, '<policy name="Approvals" class="Machine"', '<policy name="Approvals" class="Computer"');
      expectInvalid(broken, adml, /policy Approvals/, /Computer/);
    });

    it('refuses a bad number, naming the attribute', () => {
      const broken = replaceOnce(admx, 'maxValue="65535"', 'maxValue="lots"');
      expectInvalid(broken, adml, /CollectorPort maxValue/, /lots/);
    });

    it('refuses a reference to a prefix no <using> declares', () => {
      const broken = replaceOnce(admx, '<parentCategory ref="Blacklist"/>', '<parentCategory ref="other:Blacklist"/>');
      expectInvalid(broken, adml, /policy BlacklistRules/, /"other"/);
    });

    it('refuses a presentation control for a missing element or of the wrong kind', () => {
      const stray = replaceOnce(adml, '<listBox refId="Privileges">', '<listBox refId="Privs">');
      expectInvalid(admx, stray, /^ADML: /, /TemporarySessionElevation/, /Privs/);
      const wrongKind = replaceOnce(adml, '<listBox refId="Privileges">Privileges to add (Se* names):</listBox>', '<checkBox refId="Privileges">x</checkBox>');
      expectInvalid(admx, wrongKind, /element Privileges/, /checkBox/, /list/);
    });

    it('refuses an unknown entity and an ADML that is not an ADML', () => {
      const entity = replaceOnce(adml, '<string id="Cat_Blacklist">Blacklist', '<string id="Cat_Blacklist">&blacklist;');
      expectInvalid(admx, entity, /^ADML: /, /&blacklist;/);
      expectInvalid(admx, admx, /^ADML: root element is <policyDefinitions>/);
    });
  });
});

describe('ADMX/ADML writer: edge cases of the model', () => {
  const base: PolicyCatalog = {
    namespace: 'Example.Policies.Edge',
    prefix: 'edge',
    revision: '3.14',
    displayName: 'Edge <cases> & "quotes"',
    description: '',
    supportedOn: [{ id: 'Same', displayName: 'Same id as a policy' }],
    categories: [
      { id: 'Root', displayName: 'Root', help: '' },
      { id: 'Child', displayName: 'Child', parent: 'windows:WindowsComponents' },
    ],
    policies: [
      {
        id: 'Same',
        class: 'Both',
        category: 'Child',
        displayName: 'Tabs\tand\r\nCRLF, trailing space ',
        help: '  leading spaces\n\n\n<b>not markup</b> & 😀 ]]> end\n',
        key: 'Software\\Policies\\Example\\Edge',
        valueName: 'Value "quoted"\tname',
        enabledValue: { kind: 'longDecimal', value: 18446744073709551615n },
        disabledValue: { kind: 'string', value: '' },
        supportedOn: 'windows:SUPPORTED_Windows7',
        elements: [
          { type: 'boolean', id: 'Flag', valueName: 'Flag', label: '', default: false, trueValue: { kind: 'delete' } },
          { type: 'decimal', id: 'N', valueName: 'N', label: 'N:', required: false, minValue: 0, maxValue: 4294967295, storeAsText: false, soft: false, default: 4294967295, spinStep: 1000 },
          { type: 'text', id: 'T', valueName: 'T', label: 'T:', required: false, maxLength: 1023, expandable: false, soft: false, default: '' },
          { type: 'list', id: 'L', label: 'L', additive: false, explicitValue: false, expandable: false, valuePrefix: '' },
        ],
      },
    ],
  };

  it('round-trips special characters, whitespace, longDecimal and empty strings exactly', () => {
    const { admx, adml } = writeAdmx(base);
    expect(readAdmx(admx, adml)).to.deep.equal(base);
    expect(admx).to.contain('<using prefix="windows" namespace="Microsoft.Policies.Windows"/>');
  });

  it('gives clashing string ids distinct, valid names', () => {
    const { adml } = writeAdmx(base);
    expect(adml).to.contain('<string id="Same">Same id as a policy</string>');
    expect(adml).to.contain('<string id="Same_2">Tabs');
  });

  it('refuses what XML or the schema cannot carry', () => {
    const withChar: PolicyCatalog = { ...base, displayName: 'bell \u0007' };
    expect(ascendErrorOf(() => writeAdmx(withChar)).message).to.match(/U\+0007/);
    const badName: PolicyCatalog = { ...base, categories: [{ id: 'Not valid', displayName: 'x' }] };
    expect(ascendErrorOf(() => writeAdmx(badName)).message).to.match(/category Not valid/);
    const unknownPrefix: PolicyCatalog = { ...base, categories: [{ id: 'C', displayName: 'C', parent: 'office16:Office' }] };
    const e = ascendErrorOf(() => writeAdmx(unknownPrefix));
    expect(e.code).to.equal('ASC_ADMX_INVALID');
    expect(e.message).to.match(/"office16"/);
    const fraction: PolicyCatalog = { ...base, policies: base.policies.map((p) => ({ ...p, enabledValue: { kind: 'decimal', value: 1.5 } })) };
    expect(ascendErrorOf(() => writeAdmx(fraction)).message).to.match(/policy Same enabledValue: 1\.5/);
  });
});
