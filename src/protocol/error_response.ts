// Codec of A6.Err.Resp, the payload of an error frame (frame type 0).

import type { FlatBuilder } from "./flat_builder.ts";
import { readU8, rootTable } from "./table_reader.ts";
import { encodePayload } from "./table_writer.ts";
import type { ErrorResponse } from "./types.ts";

/**
 * Encodes an `A6.Err.Resp` payload; code 0 (BAD_REQUEST) is omitted from the wire.
 *
 * @example
 * ```ts
 * encodeErrorResponse({ code: ErrorCode.ConfTokenNotFound });
 * ```
 */
export function encodeErrorResponse(msg: ErrorResponse): Uint8Array {
  return encodePayload(msg, buildErrorResponse);
}

/** Writes an `A6.Err.Resp` table (the runner's `FrameEncoder` and {@linkcode encodeErrorResponse}). */
export function buildErrorResponse(b: FlatBuilder, msg: ErrorResponse): number {
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
