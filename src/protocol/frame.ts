// Frame header (1 type byte + 24-bit big-endian length) and whole-frame read/write over a Connection.

import type { Connection } from "../runtime/types.ts";
import { UnexpectedEofError } from "../runtime/types.ts";
import { FrameTooLargeError } from "./errors.ts";
import { FRAME_HEADER_SIZE, MAX_PAYLOAD_SIZE } from "./types.ts";

/** One frame: its type byte and its payload (one FlatBuffer). */
export interface Frame {
  /** Message type, one of {@linkcode FrameType} (unknown values are passed through). */
  type: number;
  /** The payload bytes; owned by the receiver. */
  payload: Uint8Array;
}

/**
 * Encodes the 4-byte frame header: type byte, then the payload length as a
 * big-endian 24-bit integer.
 *
 * @throws {FrameTooLargeError} when `payloadLength` exceeds {@linkcode MAX_PAYLOAD_SIZE}.
 * @example
 * ```ts
 * encodeFrameHeader(2, 488); // Uint8Array [2, 0, 1, 232]
 * ```
 */
export function encodeFrameHeader(type: number, payloadLength: number): Uint8Array {
  if (payloadLength > MAX_PAYLOAD_SIZE) throw new FrameTooLargeError(payloadLength);
  if (!(payloadLength >= 0) || !Number.isInteger(payloadLength)) {
    throw new RangeError(`Invalid frame payload length: ${payloadLength}`);
  }
  const header = new Uint8Array(FRAME_HEADER_SIZE);
  header[0] = type;
  header[1] = payloadLength >>> 16;
  header[2] = payloadLength >>> 8;
  header[3] = payloadLength;
  return header;
}

/**
 * Decodes a 4-byte frame header. The length is at most {@linkcode MAX_PAYLOAD_SIZE}
 * by construction.
 *
 * @example
 * ```ts
 * decodeFrameHeader(new Uint8Array([2, 0, 1, 232])); // { type: 2, length: 488 }
 * ```
 */
export function decodeFrameHeader(header: Uint8Array): { type: number; length: number } {
  if (header.length < FRAME_HEADER_SIZE) {
    throw new RangeError(`Frame header needs ${FRAME_HEADER_SIZE} bytes, got ${header.length}`);
  }
  return { type: header[0]!, length: (header[1]! << 16) | (header[2]! << 8) | header[3]! };
}

/**
 * Reads one whole frame: the header, then exactly `length` payload bytes.
 * Resolves `null` on a clean EOF at a frame boundary; rejects with
 * {@linkcode UnexpectedEofError} when the peer closed mid-frame.
 *
 * @example
 * ```ts
 * const frame = await readFrame(conn);
 * if (frame === null) return; // peer closed
 * ```
 */
export async function readFrame(conn: Connection): Promise<Frame | null> {
  const header = await conn.readExactly(FRAME_HEADER_SIZE);
  if (header === null) return null;
  const { type, length } = decodeFrameHeader(header);
  if (length === 0) return { type, payload: new Uint8Array(0) };
  const payload = await conn.readExactly(length);
  if (payload === null) throw new UnexpectedEofError(length, 0);
  return { type, payload };
}

/**
 * Writes one frame (header and payload as one logical write).
 *
 * Rejects with {@linkcode FrameTooLargeError} before writing anything when the
 * payload is too large.
 * @example
 * ```ts
 * await writeFrame(conn, FrameType.PrepareConf, encodePrepareConfResponse({ confToken: 1 }));
 * ```
 */
export async function writeFrame(
  conn: Connection,
  type: number,
  payload: Uint8Array,
): Promise<void> {
  const header = encodeFrameHeader(type, payload.length);
  await conn.write([header, payload]);
}
