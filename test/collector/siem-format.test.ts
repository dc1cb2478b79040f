import { expect } from 'chai';
import { EVENT_IDS } from '../../src/collector-api/event-ids.js';
import { cefHeader, cefMessage, cefValue, frame, jsonMessage, syslogMessage } from '../../src/collector/siem/format.js';
import { parseSyslogTarget } from '../../src/collector/siem/target.js';
import type { StoredEvent } from '../../src/collector/storage/types.js';
import { parseCef } from '../support/rsyslog.js';
import { expectCode } from '../support/expect-code.js';

const hostile = 'a|b\\c=d\ne\rf\u0000g\u0085h\u2028i cs1=evil act=x';
function event(over: Partial<StoredEvent> = {}): StoredEvent {
  return {
    agentId: 'agent-1',
    id: 'ev-1',
    type: 'elevation-denied',
    time: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
    receivedAt: Date.UTC(2026, 0, 2, 3, 4, 6),
    computer: 'WS01',
    user: 'CORP\\alice',
    passcodeId: null,
    sessionId: null,
    payload: { processPath: '/usr/bin/apt', args: hostile, reason: hostile, rule: 'r|1', justification: 'x=y\\', pid: 42 },
    ...over,
  };
}

describe('SIEM feed: message format', () => {
  it('frames by octet counting, counting UTF-8 bytes', () => {
    const b = frame('é\n1');
    expect(b.toString('utf8')).to.equal('4 é\n1');
  });

  it('writes an RFC 5424 header: authpriv PRI, ISO time, host, app, msgid, no SD', () => {
    const m = syslogMessage(event(), 'json', { version: '1.2.3' });
    // elevation-denied: CEF severity 6 → notice (5); authpriv (10): 10*8+5.
    expect(m.startsWith('<85>1 2026-01-02T03:04:05.678Z WS01 ascend - elevation-denied - {')).to.equal(true);
  });

  it('reduces header fields to printable ASCII', () => {
    const m = syslogMessage(event({ computer: 'WS 01\n<13>1 fake', type: 'x y\nz' }), 'json', { version: '1' });
    const [, , host, app, procid, msgid, sd] = m.split(' ');
    expect([host, app, procid, msgid, sd]).to.deep.equal(['WS01<13>1fake', 'ascend', '-', 'xyz', '-']);
  });

  it('JSON: carries the stable id and every field, with no control character left raw', () => {
    const msg = jsonMessage(event());
    expect(msg).to.not.match(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    const parsed = JSON.parse(msg) as Record<string, unknown>;
    expect(parsed.eventId).to.equal(EVENT_IDS['elevation-denied'].id);
    expect(parsed.args).to.equal(hostile);
    expect(parsed.reason).to.equal(hostile);
    expect(parsed.agentId).to.equal('agent-1');
    expect(parsed.time).to.equal('2026-01-02T03:04:05.678Z');
  });

  it('JSON: a payload can not overwrite the stored identity fields', () => {
    const parsed = JSON.parse(jsonMessage(event({ payload: { computer: 'EVIL', user: 'root', id: 'x', type: 'agent-error' } }))) as Record<string, unknown>;
    expect([parsed.computer, parsed.user, parsed.id, parsed.type]).to.deep.equal(['WS01', 'CORP\\alice', 'ev-1', 'elevation-denied']);
  });

  it('CEF: escapes | and \\ in the header, \\ = and newlines in values', () => {
    expect(cefHeader('a|b\\c\nd')).to.equal('a\\|b\\\\c d');
    expect(cefValue('a=b\\c\nd\re|f')).to.equal('a\\=b\\\\c\\nd\\re|f');
  });

  it('CEF: hostile values stay inside their own field', () => {
    const msg = cefMessage(event(), '1.2.3');
    expect(msg).to.not.match(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    const { header, ext } = parseCef(msg);
    expect(header).to.deep.equal(['CEF:0', 'Ascend', 'Ascend Privilege Manager', '1.2.3', '201', 'Elevation denied', '6']);
    // The control characters CEF has no escape for became U+FFFD; everything else is intact.
    const expected = hostile.replace(/[\u0000\u0085\u2028]/g, '\ufffd');
    expect(ext.cs3).to.equal(expected);
    expect(ext.reason).to.equal(expected);
    expect(ext.cs1).to.equal('r|1');
    expect(ext.cs2).to.equal('x=y\\');
    expect(ext.suser).to.equal('CORP\\alice');
    expect(ext.dvchost).to.equal('WS01');
    expect(ext.externalId).to.equal('ev-1');
    expect(ext.act, 'an injected act= must not become a field').to.equal(undefined);
    expect(ext.start).to.equal(String(event().time));
  });

  it('keeps a message within the receiver limit by shortening text fields, never the identity', () => {
    for (const format of ['json', 'cef'] as const) {
      const e = event({ payload: { args: '€'.repeat(40_000), justification: 'j'.repeat(30_000), data: { x: 'y'.repeat(50_000) }, processIds: Array.from({ length: 5000 }, (_, i) => i) } });
      const m = syslogMessage(e, format, { version: '1', maxBytes: 4096 });
      expect(Buffer.byteLength(m)).to.be.at.most(4096);
      const msg = m.split(' ').slice(7).join(' ');
      if (format === 'json') {
        const j = JSON.parse(msg) as Record<string, unknown>;
        expect([j.truncated, j.id, j.agentId, j.type, j.data]).to.deep.equal([true, 'ev-1', 'agent-1', 'elevation-denied', undefined]);
        expect(String(j.args).startsWith('€€€')).to.equal(true);
      } else {
        const { ext } = parseCef(msg);
        expect([ext.cn1, ext.cn1Label, ext.externalId, ext.deviceExternalId]).to.deep.equal(['1', 'truncated', 'ev-1', 'agent-1']);
      }
      // Under the limit: sent whole.
      expect(syslogMessage(event(), format, { version: '1', maxBytes: 4096 })).to.not.match(/truncated/);
    }
  });

  it('CEF: an unknown type is forwarded with id 0', () => {
    const { header } = parseCef(cefMessage(event({ type: 'from-the-future' }), '1'));
    expect(header[4]).to.equal('0');
  });

  it('parses --syslog targets and refuses bad ones in one line', () => {
    expect(parseSyslogTarget('tcp://127.0.0.1:514')).to.deep.equal({ tls: false, host: '127.0.0.1', port: 514, format: 'json', maxBytes: 8192 });
    expect(parseSyslogTarget('tls://[::1]:6514', { format: 'cef' })).to.deep.equal({ tls: true, host: '::1', port: 6514, format: 'cef', maxBytes: 8192 });
    expectCode(() => parseSyslogTarget('tcp://h:1', { maxBytes: 100 }), 'ASC_USAGE');
    for (const bad of ['udp://h:514', 'tcp://h', 'tcp://h:0', 'tcp://h:70000', 'tcp://user@h:514', 'tcp://h:514/x', 'tcp://[zz]:1']) {
      expectCode(() => parseSyslogTarget(bad), 'ASC_USAGE');
    }
    expectCode(() => parseSyslogTarget('tcp://h:1', { format: 'xml' }), 'ASC_USAGE');
    expectCode(() => parseSyslogTarget('tcp://h:1', { caFile: '/etc/hostname' }), 'ASC_USAGE');
    expectCode(() => parseSyslogTarget('tls://h:1', { caFile: '/nonexistent' }), 'ASC_USAGE');
  });
});
