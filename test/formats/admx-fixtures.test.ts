import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PolicyCatalog, PolicyDefinition, PolicyElement } from '../../src/catalog/model.js';
import { readAdmx, writeAdmx } from '../../src/formats/admx/index.js';
import { admxSchemaAvailable, validateAdmxSchema } from '../support/admx-schema.js';
import { requireComponent, xmllintAvailable } from '../support/components.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'admx');
const NAMES = ['contoso-browser', 'fabrikam-agent'] as const;

function fixture(name: (typeof NAMES)[number]): { admx: string; adml: string } {
  return {
    admx: readFileSync(path.join(FIXTURES, `${name}.admx`), 'utf8'),
    adml: readFileSync(path.join(FIXTURES, 'en-US', `${name}.adml`), 'utf8'),
  };
}

function read(name: (typeof NAMES)[number]): PolicyCatalog {
  const { admx, adml } = fixture(name);
  return readAdmx(admx, adml);
}

function policy(catalog: PolicyCatalog, id: string): PolicyDefinition {
  const p = catalog.policies.find((x) => x.id === id);
  if (!p) throw new Error(`no policy ${id} in the fixture`);
  return p;
}

function element(p: PolicyDefinition, id: string): PolicyElement {
  const e = p.elements.find((x) => x.id === id);
  if (!e) throw new Error(`no element ${id} in ${p.id}`);
  return e;
}

describe('ADMX/ADML reader: third-party templates (test/fixtures/admx)', () => {
  describe('Contoso Browser', () => {
    const catalog = read('contoso-browser');

    it('reads the namespace, revision and ADML header', () => {
      expect(catalog).to.include({
        namespace: 'Contoso.Policies.Browser',
        prefix: 'contosobrowser',
        revision: '2.3',
        displayName: 'Contoso Browser',
        description: 'Administrative template for Contoso Browser & its update service.',
      });
      expect(catalog.supportedOn).to.deep.equal([
        { id: 'SUPPORTED_ContosoBrowser_90', displayName: 'Contoso Browser 90 or later' },
        { id: 'SUPPORTED_ContosoBrowser_110_Win10', displayName: 'Contoso Browser 110 or later on Windows 10' },
      ]);
    });

    it('keeps a parent in another namespace as written, and drops its own prefix', () => {
      expect(catalog.categories).to.deep.equal([
        { id: 'ContosoBrowser', displayName: 'Contoso Browser', help: 'Settings of Contoso Browser.', parent: 'windows:WindowsComponents' },
        { id: 'Startup', displayName: 'Startup, home page and new tab page', parent: 'ContosoBrowser' },
        { id: 'Extensions', displayName: 'Extensions', parent: 'ContosoBrowser' },
        { id: 'Privacy', displayName: 'Privacy & security', parent: 'ContosoBrowser' },
      ]);
      expect(policy(catalog, 'ExtensionInstallForcelist').supportedOn).to.equal('SUPPORTED_ContosoBrowser_110_Win10');
    });

    it('reads a User policy with an expandable text box and its default', () => {
      const p = policy(catalog, 'HomepageLocation');
      expect(p).to.include({ class: 'User', category: 'Startup', key: 'Software\\Policies\\Contoso\\Browser', supportedOn: 'SUPPORTED_ContosoBrowser_90' });
      expect(p).not.to.have.property('valueName');
      expect(p.help).to.equal('Sets the home page of the browser.\n\nEnvironment variables such as %USERDOMAIN% are expanded when the browser starts.');
      expect(p.elements).to.deep.equal([
        {
          type: 'text', id: 'HomepageLocation', valueName: 'HomepageLocation', label: 'Home page URL',
          required: true, maxLength: 1023, expandable: true, soft: false, default: 'https://intranet.contoso.example/%USERNAME%',
        },
      ]);
    });

    it('reads a Both policy with enabled/disabled values and a numbered list', () => {
      const p = policy(catalog, 'StartupURLs');
      expect(p.class).to.equal('Both');
      expect(p.valueName).to.equal('RestoreOnStartup');
      expect(p.enabledValue).to.deep.equal({ kind: 'decimal', value: 4 });
      expect(p.disabledValue).to.deep.equal({ kind: 'delete' });
      expect(p.elements).to.deep.equal([
        {
          type: 'list', id: 'StartupURLsList', key: 'Software\\Policies\\Contoso\\Browser\\RestoreOnStartupURLs', label: 'URLs to open',
          valuePrefix: '', additive: false, explicitValue: false, expandable: false,
        },
      ]);
    });

    it('reads list flags: valuePrefix, additive, explicitValue, expandable', () => {
      expect(element(policy(catalog, 'ExtensionInstallForcelist'), 'ExtensionInstallForcelistDesc')).to.deep.equal({
        type: 'list', id: 'ExtensionInstallForcelistDesc', label: 'Extension/App IDs and update URLs to be silently installed',
        valuePrefix: 'Ext', additive: true, explicitValue: false, expandable: false,
      });
      expect(element(policy(catalog, 'ExtensionSettings'), 'ExtensionSettingsList')).to.deep.equal({
        type: 'list', id: 'ExtensionSettingsList', label: 'Extension settings (extension id, JSON)',
        additive: true, explicitValue: true, expandable: true,
      });
    });

    it('reads an enum with decimal item values, an item valueList and the default item', () => {
      const e = element(policy(catalog, 'CookiesMode'), 'CookiesMode');
      expect(e).to.deep.equal({
        type: 'enum', id: 'CookiesMode', valueName: 'DefaultCookiesSetting', label: 'Default cookies setting', required: true, default: 2,
        items: [
          { displayName: 'Allow all sites to set cookies', value: { kind: 'decimal', value: 1 } },
          {
            displayName: "Don't allow any site to set cookies",
            value: { kind: 'decimal', value: 2 },
            valueList: {
              defaultKey: 'Software\\Policies\\Contoso\\Browser\\Cookies',
              items: [
                { valueName: 'BlockThirdParty', value: { kind: 'decimal', value: 1 } },
                { key: 'Software\\Policies\\Contoso\\Browser\\Sync', valueName: 'SyncCookies', value: { kind: 'string', value: 'never' } },
              ],
            },
          },
          { displayName: 'Keep cookies for the duration of the session', value: { kind: 'decimal', value: 4 } },
        ],
      });
      expect(policy(catalog, 'CookiesMode').help).to.equal('Chooses whether sites may set cookies.\n\n  1 = allow, 2 = block, 4 = keep for the session only.');
    });

    it('applies schema defaults to a decimal stored as text', () => {
      expect(element(policy(catalog, 'DiskCacheSize'), 'DiskCacheSize')).to.deep.equal({
        type: 'decimal', id: 'DiskCacheSize', valueName: 'DiskCacheSizeMB', label: 'Disk cache size (MB):',
        required: false, minValue: 0, maxValue: 102400, storeAsText: true, soft: true, default: 1, spinStep: 1,
      });
    });

    it('reads enabledList/disabledList, a boolean with string values and a combo box', () => {
      const p = policy(catalog, 'SafeBrowsing');
      expect(p.help).to.equal('Warns about dangerous sites <and> downloads.');
      expect(p.enabledList).to.deep.equal({
        defaultKey: 'Software\\Policies\\Contoso\\Browser\\SafeBrowsing',
        items: [
          { valueName: 'ReportingOptIn', value: { kind: 'decimal', value: 1 } },
          { key: 'Software\\Policies\\Contoso\\Browser\\Telemetry', valueName: 'Level', value: { kind: 'string', value: 'basic' } },
        ],
      });
      expect(p.disabledList).to.deep.equal({ items: [{ valueName: 'ReportingOptIn', value: { kind: 'delete' } }] });
      expect(element(p, 'EnhancedProtection')).to.deep.equal({
        type: 'boolean', id: 'EnhancedProtection', valueName: 'ProtectionLevel', label: 'Use enhanced protection', default: true,
        trueValue: { kind: 'string', value: 'enhanced' }, falseValue: { kind: 'string', value: 'standard' },
      });
      expect(element(p, 'ReportingUrl')).to.deep.equal({
        type: 'text', id: 'ReportingUrl', valueName: 'ReportingUrl', label: 'Report unsafe sites to:',
        required: false, maxLength: 2048, expandable: false, soft: false, default: 'https://safebrowsing.contoso.example/report',
      });
    });
  });

  describe('Fabrikam Endpoint Agent', () => {
    const catalog = read('fabrikam-agent');

    it('reads the header, an empty description and categories with and without help', () => {
      expect(catalog).to.include({ namespace: 'Fabrikam.Policies.EndpointAgent', prefix: 'fabrikam', revision: '1.12', description: '' });
      expect(catalog.categories).to.deep.equal([
        { id: 'Fabrikam', displayName: 'Fabrikam' },
        {
          id: 'EndpointAgent', displayName: 'Endpoint Agent', parent: 'Fabrikam',
          help: 'Scanning, updates and the user interface of the Fabrikam Endpoint Agent.',
        },
        { id: 'Updates', displayName: 'Updates', parent: 'EndpointAgent' },
      ]);
    });

    it('gives two policies sharing one presentation the same labels and defaults', () => {
      const scan = policy(catalog, 'ScanSchedule');
      const update = policy(catalog, 'UpdateSchedule');
      expect(scan.supportedOn).to.equal('SUPPORTED_Agent_5');
      expect(update.supportedOn).to.equal('windows:SUPPORTED_Windows7');
      for (const p of [scan, update]) {
        expect(element(p, 'Day').label).to.equal('Day:');
        expect(element(p, 'Hour')).to.include({ label: 'Hour:', default: 3, spinStep: 2, maxValue: 23 });
      }
      expect(element(scan, 'Day')).to.include({ required: false }).and.not.to.have.property('default');
      expect(element(update, 'Day')).to.include({ required: true });
      expect(element(scan, 'Hour')).to.include({ required: true });
    });

    it('reads enum items with string values, and a policy with no explain text', () => {
      const day = element(policy(catalog, 'ScanSchedule'), 'Day');
      expect(day.type).to.equal('enum');
      if (day.type !== 'enum') return;
      expect(day.items).to.deep.equal([
        { displayName: 'Every day', value: { kind: 'string', value: 'daily' } },
        {
          displayName: 'Sundays',
          value: { kind: 'string', value: 'sunday' },
          valueList: { items: [{ valueName: 'Weekly', value: { kind: 'decimal', value: 1 } }] },
        },
      ]);
      expect(policy(catalog, 'UpdateSchedule').help).to.equal('');
    });

    it('reads string enabled/disabled values of a policy without elements', () => {
      const p = policy(catalog, 'UpdateChannel');
      expect(p.enabledValue).to.deep.equal({ kind: 'string', value: 'stable' });
      expect(p.disabledValue).to.deep.equal({ kind: 'string', value: 'preview' });
      expect(p.elements).to.deep.equal([]);
    });

    it('reads a boolean with trueList/falseList and a soft text with its own key', () => {
      const p = policy(catalog, 'TrayIcon');
      expect(p.class).to.equal('User');
      expect(element(p, 'ShowTrayIcon')).to.deep.equal({
        type: 'boolean', id: 'ShowTrayIcon', valueName: 'ShowTrayIcon', label: 'Show the icon', default: false,
        trueList: { items: [{ valueName: 'NotifyOnScan', value: { kind: 'decimal', value: 1 } }] },
        falseList: {
          defaultKey: 'Software\\Policies\\Fabrikam\\Agent\\UI\\Quiet',
          items: [
            { valueName: 'NotifyOnScan', value: { kind: 'delete' } },
            { valueName: 'QuietMode', value: { kind: 'decimal', value: 4294967295 } },
          ],
        },
      });
      expect(element(p, 'SupportContact')).to.deep.equal({
        type: 'text', id: 'SupportContact', key: 'Software\\Policies\\Fabrikam\\Agent\\Support', valueName: 'Contact',
        label: 'Support contact:', required: false, maxLength: 80, expandable: false, soft: true,
      });
    });
  });

  describe('read, write, read', () => {
    for (const name of NAMES) {
      it(`${name}: writing what was read and reading it again gives the same catalog`, () => {
        const first = read(name);
        const { admx, adml } = writeAdmx(first);
        expect(readAdmx(admx, adml)).to.deep.equal(first);
      });
    }
  });

  describe('schema validation (xmllint)', function () {
    before(function () {
      requireComponent(this, xmllintAvailable(), 'xmllint', 'apt-get install libxml2-utils');
      requireComponent(this, admxSchemaAvailable(), 'the ADMX schema (shared/admx-schema)', 'set ASCEND_ADMX_SCHEMA_DIR');
    });

    for (const name of NAMES) {
      it(`${name}: the fixture and what the writer makes of it both validate`, () => {
        const original = fixture(name);
        const rewritten = writeAdmx(readAdmx(original.admx, original.adml));
        for (const doc of [original.admx, original.adml, rewritten.admx, rewritten.adml]) {
          expect(validateAdmxSchema(doc)).to.deep.equal({ valid: true, errors: '' });
        }
      });
    }
  });
});
