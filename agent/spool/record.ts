/**
 * The spool's record framing: [u32 LE payload length][u32 LE CRC-32 of the payload][payload].
 * A reader stops at the first record whose header or checksum does not hold: that is where
 * a crash cut an append short (or the disk lost bytes), and nothing after it is trusted.
 */
import { crc32 } from 'node:zlib';

export const RECORD_HEADER_BYTES = 8;
/** One event is far below this; a larger length field can only be damage. */
export const MAX_RECORD_BYTES = 1024 * 1024;

export function encodeRecord(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc32(payload), 4);
  out.set(payload, RECORD_HEADER_BYTES);
  return out;
}

export interface DecodedRecord {
  payload: Buffer;
  /** Offset just past the record. */
  end: number;
}

/**
 * The record at `offset` of `buf`, or undefined when the bytes there are not a whole, intact
 * record (`reason` says which).
 */
export function decodeRecord(buf: Buffer, offset: number): DecodedRecord | { reason: 'end' | 'truncated' | 'bad-length' | 'bad-checksum' } {
  if (offset === buf.length) return { reason: 'end' };
  if (buf.length - offset < RECORD_HEADER_BYTES) return { reason: 'truncated' };
  const length = buf.readUInt32LE(offset);
  if (length === 0 || length > MAX_RECORD_BYTES) return { reason: 'bad-length' };
  const start = offset + RECORD_HEADER_BYTES;
  if (buf.length - start < length) return { reason: 'truncated' };
  const payload = buf.subarray(start, start + length);
  if (crc32(payload) !== buf.readUInt32LE(offset + 4)) return { reason: 'bad-checksum' };
  return { payload, end: start + length };
}
