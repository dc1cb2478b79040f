/** The pure parts of `ascend server start`'s log output (src/cli/server-log.ts): the choice of format and the human lines. */
import { expect } from 'chai';
import { chooseLogFormat, humanLine, jsonRecord, serverOutput } from '../../src/cli/server-log.js';

describe('server log format (issue 20 item 3)', () => {
  it('chooses: the flag; JSON when stderr is the journal stream; else human on a terminal, JSON otherwise', () => {
    expect(chooseLogFormat('json', { stderrIsTty: true })).to.equal('json');
    expect(chooseLogFormat('human', { stderrIsTty: false, journalStream: '8:9', stderrDevIno: '8:9' })).to.equal('human');
    expect(chooseLogFormat(undefined, { stderrIsTty: true })).to.equal('human');
    expect(chooseLogFormat(undefined, { stderrIsTty: false })).to.equal('json');
    expect(chooseLogFormat(undefined, { stderrIsTty: true, journalStream: '8:9', stderrDevIno: '8:9' })).to.equal('json');
    // Inherited from a service but writing to a terminal now: the terminal decides.
    expect(chooseLogFormat(undefined, { stderrIsTty: true, journalStream: '8:9', stderrDevIno: '8:10' })).to.equal('human');
    expect(chooseLogFormat(undefined, { stderrIsTty: true, journalStream: '', stderrDevIno: '' })).to.equal('human');
  });

  it('turns a pino record into one line: time, level, message, request fields', () => {
    const line = humanLine(JSON.stringify({ level: 30, time: Date.UTC(2026, 11, 3, 23, 0, 0, 5), pid: 1, hostname: 'h', reqId: 'req-1', req: { method: 'GET', url: '/api/v1/health', remoteAddress: '127.0.0.1' }, msg: 'incoming request' }));
    expect(line).to.equal('2026-12-03T23:00:00.005Z INFO  incoming request (reqId=req-1) (GET /api/v1/health from 127.0.0.1)');
    expect(humanLine(JSON.stringify({ level: 50, time: 0, msg: 'failed', err: { type: 'AscendError', code: 'ASC_X', message: 'bad' } }))).to.equal('1970-01-01T00:00:00.000Z ERROR failed (error AscendError ASC_X: bad)');
  });

  it('escapes control characters that came from the network, so a request cannot write to the terminal', () => {
    const line = humanLine(JSON.stringify({ level: 30, time: 0, msg: 'incoming request', req: { method: 'GET', url: '/a\u001b[2J\u001b]0;owned\u0007\r\nFAKE INFO line' } }));
    expect(line).to.not.match(/[\u0000-\u001f\u007f]/);
    expect(line).to.include('/a\\x1b[2J\\x1b]0;owned\\x07\\r\\nFAKE INFO line');
    expect(humanLine('not json \u001b[31m')).to.equal('not json \\x1b[31m');
  });

  it('JSON mode writes the summary and warnings as records of pino\'s shape; human mode as lines', () => {
    const written = { out: '', err: '' };
    const stdout = { write: (s: string) => ((written.out += s), true) } as unknown as NodeJS.WritableStream;
    const stderr = { write: (s: string) => ((written.err += s), true) } as unknown as NodeJS.WritableStream;
    const json = serverOutput('json', { stdout, stderr });
    json.say('listening', { url: 'https://x' });
    json.warn('careful');
    expect(JSON.parse(written.out)).to.deep.include({ level: 30, msg: 'listening', url: 'https://x', pid: process.pid });
    expect(JSON.parse(written.err)).to.deep.include({ level: 40, msg: 'careful' });
    const record = jsonRecord(30, 'm', { msg: 'not this', level: 99, extra: 1 }, 5);
    expect(JSON.parse(record)).to.deep.equal({ level: 30, time: 5, pid: process.pid, hostname: JSON.parse(record).hostname, extra: 1, msg: 'm' });
    expect(Object.keys(JSON.parse(record))).to.deep.equal(['level', 'time', 'pid', 'hostname', 'extra', 'msg']);
    written.out = written.err = '';
    const human = serverOutput('human', { stdout, stderr });
    human.say('listening', { url: 'https://x' });
    human.warn('careful');
    (human.logStream as { write(s: string): void }).write(`${JSON.stringify({ level: 40, time: 0, msg: 'limits' })}\n`);
    expect(written.out).to.equal('listening\n');
    expect(written.err).to.equal('Warning: careful\n1970-01-01T00:00:00.000Z WARN  limits\n');
    written.out = '';
    serverOutput('json', { stdout, stderr }, true).say('quiet under --json');
    expect(written.out).to.equal('');
  });
});
