/** `ascend tse redeem|status`: the requests and the lines they print. Shared by the oclif commands and the lean client. */
import { readAscpassText } from '../../passcode-keys/ascpass-read.js';
import { safe } from './output.js';
import { callAgent, type SocketOption } from './socket.js';

export interface TseRedeemResult {
  sessionId: string;
  passcodeId: string;
  passcodeTitle: string;
  user: string;
  startedAt: string;
  endsAt: string;
  durationSeconds: number;
  endProcesses: boolean;
  groups: string[];
  integrity: string;
  usesLeft: number;
}

export interface SessionView {
  sessionId: string;
  user: string;
  passcodeId: string;
  passcodeTitle: string;
  startedAt: string;
  endsAt: string;
  secondsLeft: number;
  endProcesses: boolean;
  ended: { at: string; reason: string } | null;
}

export interface TseStatusResult {
  user: string;
  active: SessionView[];
  recent: SessionView[];
}

/** Reads the passcode file as the user and has the agent start the session. */
export async function tseRedeem(opts: SocketOption, file: string): Promise<TseRedeemResult> {
  const text = await readAscpassText(file);
  return callAgent<TseRedeemResult>(opts, { op: 'tse-redeem', passcode: text });
}

export function tseRedeemLines(r: TseRedeemResult): string[] {
  const lines = [`TSE session started for ${safe(r.user)}: "${safe(r.passcodeTitle)}" until ${r.endsAt} (${Math.round(r.durationSeconds / 60)} min, ${r.usesLeft} uses left)`];
  if (r.endProcesses) lines.push('Elevated programs started in this session end when it expires.');
  return lines;
}

export function tseStatus(opts: SocketOption): Promise<TseStatusResult> {
  return callAgent<TseStatusResult>(opts, { op: 'tse-status' });
}

export function tseStatusLines(r: TseStatusResult): string[] {
  const lines: string[] = [];
  if (r.active.length === 0) lines.push(`No active TSE session for ${safe(r.user)}.`);
  for (const s of r.active) {
    lines.push(`Active: "${safe(s.passcodeTitle)}" (${safe(s.passcodeId)}) for ${safe(s.user)} until ${s.endsAt}, ${Math.ceil(s.secondsLeft / 60)} min left${s.endProcesses ? '; programs end at expiry' : ''}`);
  }
  for (const s of r.recent) lines.push(`Ended: "${safe(s.passcodeTitle)}" for ${safe(s.user)}, ${s.ended?.reason ?? ''} at ${s.ended?.at ?? ''}`);
  return lines;
}
