/**
 * The native client's last word on a frame only V8 can judge exactly (native/elevate-client.c):
 * a frame JSON.parse refuses (the message quotes V8's own wording), or a result whose value the
 * lean client fails on (a null value, an exit code process.exitCode refuses, a signal named after
 * an Object.prototype member). The frame, as received, is on stdin; this runs the lean client's
 * own code on it and answers as the lean client does: the failure's line and exit status, or the
 * program's exit status. Started by the native client only, under the same Node.
 */
import { readFileSync } from 'node:fs';
import { fromResult } from '../../../agent/ipc/client.js';
import { parseFrame } from '../../../agent/ipc/protocol.js';
import { AscendError } from '../../errors.js';
import { type ElevateResult, exitStatus } from './elevate.js';
import { ascendFailure, internalFailure, writeFailure } from './failure.js';
import { flushed } from './output.js';

try {
  const frame = parseFrame(readFileSync(0));
  if (frame.kind !== 'result') throw new AscendError('ASC_AGENT_PROTOCOL', 'the agent sent a malformed frame');
  const [err, value] = fromResult(frame);
  if (err) throw err;
  process.exitCode = exitStatus(value as ElevateResult);
} catch (err) {
  const failure = ascendFailure(err) ?? internalFailure(err);
  writeFailure(failure, false);
  await flushed();
  process.exit(failure.exitCode);
}
