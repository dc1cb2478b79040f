import { expect } from 'chai';
import fc from 'fast-check';
import { cellText, renderTable, truncate } from '../../src/cli/table.js';

describe('text table (src/cli/table.ts)', () => {
  it('aligns columns under a header and a rule, in the order given, without trailing spaces', () => {
    const out = renderTable(
      ['time', 'computer', 'user'],
      [
        { time: '2026-03-02T09:00:00.000Z', computer: 'PC-1', user: 'CORP\\alice', extra: 'not shown' },
        { time: '2026-03-02T10:00:00.000Z', computer: 'WORKSTATION-42', user: null },
      ],
    );
    expect(out.split('\n')).to.deep.equal([
      'time                      computer        user',
      '------------------------  --------------  ----------',
      '2026-03-02T09:00:00.000Z  PC-1            CORP\\alice',
      '2026-03-02T10:00:00.000Z  WORKSTATION-42',
    ]);
  });

  it('shows labels, booleans as yes/no, numbers, and null or missing as empty', () => {
    const out = renderTable(['a', 'b', 'c', 'd'], [{ a: true, b: false, c: 3600, d: undefined }], { labels: { a: 'Alpha', c: 'Limit (s)' } });
    expect(out.split('\n')).to.deep.equal(['Alpha  b   Limit (s)  d', '-----  --  ---------  -', 'yes    no  3600']);
  });

  it('says (no rows) under the header when there are none', () => {
    expect(renderTable(['time', 'user'], []).split('\n')).to.deep.equal(['time  user', '----  ----', '(no rows)']);
    expect(renderTable(['x'], [], { empty: 'nothing' }).split('\n')[2]).to.equal('nothing');
    expect(renderTable([], [])).to.equal('(no rows)');
  });

  it('cuts long cells to the maximum width with an ellipsis, header included', () => {
    const long = `C:\\Program Files\\${'x'.repeat(100)}\\tool.exe`;
    const out = renderTable(['processPath'], [{ processPath: long }], { maxCellWidth: 20 }).split('\n');
    expect(out[2]).to.equal(`${long.slice(0, 19)}…`);
    expect(Array.from(out[2] ?? '')).to.have.length(20);
    expect(renderTable(['a-very-long-column-name'], [], { maxCellWidth: 10 }).split('\n')[0]).to.equal('a-very-lo…');
    // The default is 40.
    expect(Array.from(renderTable(['p'], [{ p: 'y'.repeat(500) }]).split('\n')[2] ?? '')).to.have.length(40);
  });

  it('never splits a surrogate pair when cutting', () => {
    expect(truncate('😀😀😀😀', 3)).to.equal('😀😀…');
    expect(truncate('abc', 3)).to.equal('abc');
  });

  it('shows control characters and bidi overrides as escapes (no terminal injection, no reordering)', () => {
    expect(cellText('a\nb\r\tc')).to.equal('a\\nb\\r\\tc');
    expect(cellText('\u001b[31mred\u001b[0m\u0007')).to.equal('\\x1b[31mred\\x1b[0m\\x07');
    expect(cellText('evil\u202Eexe.txt')).to.equal('evil\\u202eexe.txt');
    expect(cellText('\u009b2J')).to.equal('\\x9b2J');
    const out = renderTable(['p'], [{ p: 'line1\nline2\u001b]0;title\u0007' }]);
    expect(out.split('\n')).to.have.length(3);
    expect(out).to.not.match(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  });

  it('property: every line is free of control characters, one line per row, no cell wider than the maximum', () => {
    const value = fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.integer(), fc.boolean(), fc.constant(null));
    fc.assert(
      fc.property(fc.array(fc.dictionary(fc.constantFrom('a', 'b', 'c'), value), { maxLength: 20 }), fc.integer({ min: 2, max: 60 }), (rows, max) => {
        const out = renderTable(['a', 'b', 'c'], rows, { maxCellWidth: max });
        const lines = out.split('\n');
        expect(lines).to.have.length(2 + Math.max(1, rows.length));
        expect(out.replace(/\n/g, '')).to.not.match(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
        const widths = (lines[1] ?? '').split('  ').map((d) => d.length);
        for (const w of widths) expect(w).to.be.at.most(max);
      }),
    );
  });
});
