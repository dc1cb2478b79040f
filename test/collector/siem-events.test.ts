import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { EVENT_IDS } from '../../src/collector-api/event-ids.js';
import { EVENT_TYPES } from '../../src/collector-api/events.js';

describe('event id catalogue (docs/events.md)', () => {
  const doc = readFileSync(new URL('../../docs/events.md', import.meta.url), 'utf8');
  const rows = [...doc.matchAll(/^\| (\d+) \| `([a-z-]+)` \| (\d+) \| (.+) \|$/gm)].map((m) => ({ id: Number(m[1]), type: m[2] as string, severity: Number(m[3]), meaning: (m[4] as string).trim() }));

  it('gives every event type of the contract an id, and no other type', () => {
    expect(Object.keys(EVENT_IDS).sort()).to.deep.equal([...EVENT_TYPES].sort());
  });

  it('uses each id once, with a CEF severity of 0 to 10', () => {
    const ids = Object.values(EVENT_IDS).map((i) => i.id);
    expect(new Set(ids).size).to.equal(ids.length);
    for (const info of Object.values(EVENT_IDS)) {
      expect(info.id).to.be.a('number').and.satisfy(Number.isInteger).and.be.greaterThan(0);
      expect(info.severity).to.be.within(0, 10);
    }
  });

  it('documents every event type with its id, severity and a meaning', () => {
    const documented = new Map(rows.map((r) => [r.type, r]));
    for (const type of EVENT_TYPES) {
      const row = documented.get(type);
      expect(row, `${type} missing from docs/events.md`).to.not.equal(undefined);
      expect(row?.id, `${type}'s id in docs/events.md`).to.equal(EVENT_IDS[type].id);
      expect(row?.severity, `${type}'s severity in docs/events.md`).to.equal(EVENT_IDS[type].severity);
      expect(row?.meaning.length, `${type}'s meaning`).to.be.greaterThan(10);
    }
  });

  it('documents no type that the contract lacks', () => {
    const stale = rows.map((r) => r.type).filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
    expect(stale).to.deep.equal([]);
    expect(rows.length).to.equal(EVENT_TYPES.length);
  });
});
