// Framing of the ext-plugin RPC: the 4-byte header and the 0xFFFFFF bound (reading frames: frame_reader.ts).

import { FrameTooLargeError } from "./errors.ts";
import { FRAME_HEADER_SIZE, MAX_PAYLOAD_SIZE } from "./types.ts";

/** One frame: its type byte and its payload (one FlatBuffer). */
export interface Frame {
  /** Message type, one of `FrameType` (unknown values are passed through). */
  readonly type: number;
  /** The payload bytes; they belong to the receiver and never change. */
  readonly payload: Uint8Array;
}

/**
 * Writes the frame header (type byte, then the payload length as a big-endian
 * 24-bit integer) into `target` at `offset`.
 *
 * @throws {FrameTooLargeError} when `length` exceeds {@linkcode MAX_PAYLOAD_SIZE}.
 * @example
 * ```ts
 * const frame = new Uint8Array(4 + 488);
 * writeFrameHeader(frame, 0, 2, 488); // frame starts [2, 0, 1, 232]
 * ```
 */
export function writeFrameHeader(
  target: Uint8Array,
  offset: number,
  type: number,
  length: number,
): void {
  if (length > MAX_PAYLOAD_SIZE) throw new FrameTooLargeError(length);
  if (!(length >= 0) || !Number.isInteger(length)) {
    throw new RangeError(`Invalid frame payload length: ${length}`);
  }
  target[offset] = type;
  target[offset + 1] = length >>> 16;
  target[offset + 2] = length >>> 8;
  target[offset + 3] = length;
}

/**
 * Encodes the 4-byte frame header.
 *
 * @throws {FrameTooLargeError} when `payloadLength` exceeds {@linkcode MAX_PAYLOAD_SIZE}.
 * @example
 * ```ts
 * encodeFrameHeader(2, 488); // Uint8Array [2, 0, 1, 232]
 * ```
 */
export function encodeFrameHeader(type: number, payloadLength: number): Uint8Array {
  const header = new Uint8Array(FRAME_HEADER_SIZE);
  writeFrameHeader(header, 0, type, payloadLength);
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
 * A whole frame (header and payload) in one array, ready for one write.
 *
 * @throws {FrameTooLargeError} when the payload exceeds {@linkcode MAX_PAYLOAD_SIZE}.
 * @example
 * ```ts
 * conn.write(encodeFrame(FrameType.PrepareConf, encodePrepareConfRequest({ conf, key })));
 * ```
 */
export function encodeFrame(type: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_SIZE + payload.length);
  writeFrameHeader(frame, 0, type, payload.length);
  frame.set(payload, FRAME_HEADER_SIZE);
  return frame;
}
