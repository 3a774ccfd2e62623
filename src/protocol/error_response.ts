// Codec of A6.Err.Resp, the payload of an error frame (frame type 0).

import type { FlatBuilder } from "./flat_builder.ts";
import { readU8, rootTable } from "./table_reader.ts";
import { encodeFrame, encodePayload } from "./table_writer.ts";
import { type ErrorResponse, FrameType } from "./types.ts";

/**
 * Encodes an `A6.Err.Resp` payload; code 0 (BAD_REQUEST) is omitted from the wire.
 *
 * @example
 * ```ts
 * await writeFrame(conn, FrameType.Error, encodeErrorResponse({ code: ErrorCode.ConfTokenNotFound }));
 * ```
 */
export function encodeErrorResponse(msg: ErrorResponse): Uint8Array {
  return encodePayload(msg, _buildErrorResponse);
}

/**
 * Like {@linkcode encodeErrorResponse}, but returns the whole frame (type 0 header + payload)
 * in one array, ready for one write.
 *
 * @throws {FrameTooLargeError} when the payload does not fit a frame.
 */
export function encodeErrorResponseFrame(msg: ErrorResponse): Uint8Array {
  return encodeFrame(FrameType.Error, msg, _buildErrorResponse);
}

function _buildErrorResponse(b: FlatBuilder, msg: ErrorResponse): number {
  b.startObject(1);
  b.addFieldInt8(0, msg.code, 0); // Err.Resp.code
  return b.endObject();
}

/**
 * Decodes an `A6.Err.Resp` payload (APISIX side); an absent code is 0 (BAD_REQUEST).
 *
 * @throws {MalformedPayloadError} when the payload is not a valid Err.Resp.
 */
export function decodeErrorResponse(payload: Uint8Array): ErrorResponse {
  const t = rootTable(payload, "Err.Resp");
  return { code: readU8(payload, t, 0, "Err.Resp.code") };
}
