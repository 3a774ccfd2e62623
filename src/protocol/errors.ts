// Error classes of the wire codec: oversized frames, undecodable payloads, streams cut inside a frame.

import { MAX_PAYLOAD_SIZE } from "./types.ts";

/**
 * A frame payload longer than the 24-bit length field can carry
 * ({@linkcode MAX_PAYLOAD_SIZE} bytes). Thrown before anything is written, so the
 * server can answer SERVICE_UNAVAILABLE instead.
 */
export class FrameTooLargeError extends Error {
  /** Size in bytes of the payload that did not fit (a lower bound when detected early). */
  readonly size: number;

  /** @param size the payload size that exceeds {@linkcode MAX_PAYLOAD_SIZE}. */
  constructor(size: number) {
    super(`Frame payload of ${size} bytes exceeds the limit of ${MAX_PAYLOAD_SIZE} bytes`);
    this.name = "FrameTooLargeError";
    this.size = size;
  }
}

/**
 * A payload that is not a valid FlatBuffer of the expected message. The
 * message names the schema table and field that failed, e.g.
 * `Malformed HTTPReqCall.Req.headers: vector of 4294967295 elements at 24 exceeds the payload of 488 bytes`.
 */
export class MalformedPayloadError extends Error {
  /** @param message what failed and with which value. */
  constructor(message: string) {
    super(message);
    this.name = "MalformedPayloadError";
  }
}

/** The peer closed the stream inside a frame (after some of its bytes, before its last one). */
export class UnexpectedEofError extends Error {
  /** How many bytes the frame needed and how many arrived before the peer closed. */
  constructor(wanted: number, got: number) {
    super(`Connection closed by the peer after ${got} of ${wanted} bytes of a frame`);
    this.name = "UnexpectedEofError";
  }
}
