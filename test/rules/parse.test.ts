import { expect } from 'chai';
import { AscendError } from '../../src/errors.js';
import { formatRule, parseRule, RuleParseError, rulesFromSettings, type RuleList } from '../../src/rules/index.js';

function refused(json: unknown, field: RegExp | string, list: RuleList = 'ElevationRules', name = 'r1'): RuleParseError {
  let err: unknown;
  try {
    parseRule(name, typeof json === 'string' ? json : JSON.stringify(json), list);
  } catch (e) {
    err = e;
  }
  expect(err, `refused: ${JSON.stringify(json)}`).to.be.instanceOf(RuleParseError);
  const e = err as RuleParseError;
  expect(e).to.be.instanceOf(AscendError);
  expect(e.code).to.equal('ASC_RULE_INVALID');
  expect(e.message).to.include(`rule "${name}"`);
  expect(e.message).to.not.include('\n');
  if (typeof field === 'string') expect(e.field).to.equal(field);
  else expect(e.message).to.match(field);
  return e;
}

describe('rules: strict parse', () => {
  it('parses a full rule and formats it back to the same JSON', () => {
    const json = {
      action: 'allow',
      match: { path: 'C:\\Tools\\*.exe', sha256: 'AB'.repeat(32), publisher: 'Contoso*', args: '--install *', parent: 'explorer.exe' },
      target: { users: ['CORP\\bob', 'S-1-5-21-1-2-3-1001'], groups: ['CORP\\Helpdesk'], computers: ['PC-*'], collections: ['Lab'] },
      controls: ['mfa', 'approval', 'mfa'],
      description: 'tools for the helpdesk',
    };
    const r = parseRule('tools', JSON.stringify(json), 'ElevationRules', 'domain.pol');
    expect(r).to.deep.include({ name: 'tools', action: 'allow', list: 'ElevationRules', source: 'domain.pol', controls: ['approval', 'mfa'] });
    expect(r.match.sha256).to.equal('ab'.repeat(32));
    const again = parseRule('tools', formatRule(r), 'ElevationRules', 'domain.pol');
    expect(again).to.deep.equal(r);
    expect(formatRule(again)).to.equal(formatRule(r));
  });

  it('a Blacklist rule may leave out the action and is a deny', () => {
    expect(parseRule('b', '{"match":{"path":"psexec.exe"}}', 'BlacklistRules').action).to.equal('deny');
    expect(parseRule('b', '{"action":"deny","match":{"path":"psexec.exe"}}', 'BlacklistRules').action).to.equal('deny');
  });

  describe('refusals name the field', () => {
    it('not JSON, not an object', () => {
      refused('{"action":', /not JSON/);
      refused('[1]', /expected a JSON object, got a list/);
      refused('null', /got null/);
    });
    it('unknown fields at every level', () => {
      refused({ action: 'allow', match: { path: 'a.exe' }, priority: 1 }, 'priority');
      refused({ action: 'allow', match: { path: 'a.exe', pth: 'x' } }, 'match.pth');
      refused({ action: 'allow', match: { path: 'a.exe' }, target: { user: ['bob'] } }, 'target.user');
    });
    it('action', () => {
      refused({ match: { path: 'a.exe' } }, 'action');
      refused({ action: 'ALLOW', match: { path: 'a.exe' } }, 'action');
      refused({ action: 'allow', match: { path: 'a.exe' } }, 'action', 'BlacklistRules');
    });
    it('match: present, an object, at least one matcher', () => {
      refused({ action: 'allow' }, 'match');
      refused({ action: 'allow', match: 'a.exe' }, 'match');
      refused({ action: 'allow', match: {} }, 'match');
      refused({ action: 'allow', match: { path: '' } }, 'match.path');
      refused({ action: 'allow', match: { path: 5 } }, 'match.path');
      refused({ action: 'allow', match: { path: 'a\u0000.exe' } }, 'match.path');
      refused({ action: 'allow', match: { sha256: 'abc' } }, 'match.sha256');
      refused({ action: 'allow', match: { sha256: 'g'.repeat(64) } }, 'match.sha256');
      refused({ action: 'allow', match: { publisher: '' } }, 'match.publisher');
      refused({ action: 'allow', match: { path: 'a.exe', args: null } }, 'match.args');
      refused({ action: 'allow', match: { parent: ['x'] } }, 'match.parent');
    });
    it('target lists', () => {
      refused({ action: 'allow', match: { path: 'a.exe' }, target: [] }, 'target');
      refused({ action: 'allow', match: { path: 'a.exe' }, target: { users: 'bob' } }, 'target.users');
      refused({ action: 'allow', match: { path: 'a.exe' }, target: { groups: ['ok', 7] } }, 'target.groups[1]');
      refused({ action: 'allow', match: { path: 'a.exe' }, target: { computers: [''] } }, 'target.computers[0]');
      refused({ action: 'allow', match: { path: 'a.exe' }, target: { collections: [' Lab'] } }, 'target.collections[0]');
    });
    it('controls', () => {
      refused({ action: 'allow', match: { path: 'a.exe' }, controls: 'mfa' }, 'controls');
      refused({ action: 'allow', match: { path: 'a.exe' }, controls: ['mfa', 'sms'] }, 'controls[1]');
      refused({ action: 'deny', match: { path: 'a.exe' }, controls: ['mfa'] }, 'controls');
    });
    it('names', () => {
      refused({ action: 'allow', match: { path: 'a.exe' } }, 'name', 'ElevationRules', '**del.x');
      refused({ action: 'allow', match: { path: 'a.exe' } }, 'name', 'ElevationRules', '');
      refused({ action: 'allow', match: { path: 'a.exe' } }, 'name', 'ElevationRules', 'x'.repeat(129));
    });
  });

  it('rulesFromSettings reports rules that do not parse and keeps the others', () => {
    const loaded = rulesFromSettings(
      [
        { id: 'ElevationRules', state: 'enabled', values: { Rules: [{ name: 'good', value: '{"action":"allow","match":{"path":"a.exe"}}' }, { name: 'bad', value: '{"action":"allow"}' }] } },
        { id: 'BlacklistRules', state: 'disabled', values: {} },
      ],
      'GPO "X"',
    );
    expect(loaded.rules.map((r) => r.name)).to.deep.equal(['good']);
    expect(loaded.problems).to.have.length(1);
    expect(loaded.problems[0]).to.deep.include({ name: 'bad', list: 'ElevationRules', source: 'GPO "X"' });
    expect(loaded.states).to.deep.equal({ ElevationRules: 'enabled', BlacklistRules: 'disabled' });
  });
});
