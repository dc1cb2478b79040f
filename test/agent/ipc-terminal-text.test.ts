/**
 * What the agent sends for the user's terminal (an event's message, an error's message and hint)
 * carries no terminal control or bidi override, whoever wrote the text: the clients print it as
 * it comes (the Node client and the native one alike), and some of it comes from a collector (an
 * approver's name, an MFA refusal reason) or from a file name.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ipcCall, IpcServer } from '../../agent/ipc/index.js';
import { AscendError } from '../../src/errors.js';

describe('agent socket: text for the terminal is escaped at the agent', () => {
  let dir: string;
  let server: IpcServer;
  const hostile = 'by \u001b]52;c;ZWNobyBoaQ==\u0007mallory\u001b[2J \u202egnp.exe \u0085 line\nbreak';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ascend-ipc-text-'));
    chmodSync(dir, 0o755);
    server = new IpcServer({
      path: join(dir, 'agent.sock'),
      log: () => undefined,
      handler: async (req, ctx) => {
        if (req.op === 'event') {
          ctx.send({ kind: 'event', status: 'approved', message: `approved ${hostile}` });
          return 'done';
        }
        throw new AscendError('ASC_ELEVATION_DENIED', `denied ${hostile}`, { hint: `ask ${hostile}` });
      },
    });
    await server.listen();
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const controls = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

  it("an event's message reaches the client without control characters or bidi overrides, the text still readable", async () => {
    const events: Record<string, unknown>[] = [];
    await ipcCall(join(dir, 'agent.sock'), { op: 'event' }, { onEvent: (f) => events.push(f) });
    const message = String(events[0]?.message);
    expect(message).to.not.match(controls);
    expect(message).to.include('mallory').and.include('gnp.exe').and.include('\\u202e');
  });

  it("an error's message and hint reach the client without control characters or bidi overrides", async () => {
    let err: AscendError | undefined;
    try {
      await ipcCall(join(dir, 'agent.sock'), { op: 'error' });
    } catch (e) {
      err = e as AscendError;
    }
    expect(err?.code).to.equal('ASC_ELEVATION_DENIED');
    expect(err?.message).to.not.match(controls);
    expect(err?.message).to.include('mallory');
    expect(err?.hint ?? '').to.not.match(controls);
    expect(err?.hint).to.include('ask by');
  });
});
