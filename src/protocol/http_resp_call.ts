// Codec of A6.HTTPRespCall.Req / A6.HTTPRespCall.Resp (frame type 4).

import type { FlatBuilder } from "./flat_builder.ts";
import {
  checkTextEntries,
  decodeTextEntries,
  readBytes,
  readOffset,
  readTextEntries,
  readU16,
  readU32,
  rootTable,
} from "./table_reader.ts";
import { createBytes, createTextEntries, encodePayload } from "./table_writer.ts";
import type { HttpRespCallRequest, HttpRespCallResponse, TextEntry } from "./types.ts";

/**
 * A decoded HTTPRespCall.Req: structure validated at decode time, header text
 * decoded on first access (cached, never throws).
 */
class _HttpRespCallRequestView implements HttpRespCallRequest {
  readonly id: number;
  readonly status: number;
  readonly confToken: number;
  #payload: Uint8Array;
  #headersAt: number;
  #headers: readonly TextEntry[] | undefined;

  constructor(payload: Uint8Array, t: number) {
    this.#payload = payload;
    this.id = readU32(payload, t, 0, "HTTPRespCall.Req.id");
    this.status = readU16(payload, t, 1, "HTTPRespCall.Req.status");
    this.#headersAt = readOffset(payload, t, 2, "HTTPRespCall.Req.headers");
    if (this.#headersAt !== 0) {
      checkTextEntries(payload, this.#headersAt, "HTTPRespCall.Req.headers");
    }
    this.confToken = readU32(payload, t, 3, "HTTPRespCall.Req.conf_token");
  }

  get headers(): readonly TextEntry[] {
    return this.#headers ??= this.#headersAt === 0
      ? []
      : decodeTextEntries(this.#payload, this.#headersAt);
  }
}

/**
 * Decodes an `A6.HTTPRespCall.Req` payload (runner side). Headers keep the
 * upstream's name case and are decoded lazily; the result is a class instance
 * with getters (compare field by field).
 *
 * @throws {MalformedPayloadError} when the payload is not a valid HTTPRespCall.Req.
 * @example
 * ```ts
 * const req = decodeHttpRespCallRequest(frame.payload);
 * console.log(req.status, req.headers.length);
 * ```
 */
export function decodeHttpRespCallRequest(payload: Uint8Array): HttpRespCallRequest {
  return new _HttpRespCallRequestView(payload, rootTable(payload, "HTTPRespCall.Req"));
}

/**
 * Encodes an `A6.HTTPRespCall.Req` payload as APISIX writes it: `headers`
 * always (possibly empty), default scalars omitted.
 */
export function encodeHttpRespCallRequest(msg: HttpRespCallRequest): Uint8Array {
  return encodePayload(msg, _buildHttpRespCallRequest);
}

function _buildHttpRespCallRequest(b: FlatBuilder, msg: HttpRespCallRequest): number {
  const headers = createTextEntries(b, msg.headers);
  b.startObject(4);
  b.addFieldInt32(3, msg.confToken, 0); // HTTPRespCall.Req.conf_token
  b.addFieldOffset(2, headers, 0); // HTTPRespCall.Req.headers
  b.addFieldInt32(0, msg.id, 0); // HTTPRespCall.Req.id
  b.addFieldInt16(1, msg.status, 0); // HTTPRespCall.Req.status
  return b.endObject();
}

/**
 * Encodes an `A6.HTTPRespCall.Resp` payload (runner side). `status` 0 or
 * `undefined` is omitted; `headers` and `body` are written when defined.
 *
 * @throws {FrameTooLargeError} when the reply does not fit a frame.
 * @example
 * ```ts
 * encodeHttpRespCallResponse({ id: req.id, status: 201, body: new TextEncoder().encode("done") });
 * ```
 */
export function encodeHttpRespCallResponse(msg: HttpRespCallResponse): Uint8Array {
  return encodePayload(msg, buildHttpRespCallResponse);
}

/** Writes an `A6.HTTPRespCall.Resp` table (the runner's `FrameEncoder` and {@linkcode encodeHttpRespCallResponse}). */
export function buildHttpRespCallResponse(b: FlatBuilder, msg: HttpRespCallResponse): number {
  const headers = msg.headers === undefined ? 0 : createTextEntries(b, msg.headers);
  const body = msg.body === undefined ? 0 : createBytes(b, msg.body);
  b.startObject(4);
  if (body !== 0) b.addFieldOffset(3, body, 0); // HTTPRespCall.Resp.body
  if (headers !== 0) b.addFieldOffset(2, headers, 0); // HTTPRespCall.Resp.headers
  b.addFieldInt32(0, msg.id, 0); // HTTPRespCall.Resp.id
  b.addFieldInt16(1, msg.status ?? 0, 0); // HTTPRespCall.Resp.status
  return b.endObject();
}

/**
 * Decodes an `A6.HTTPRespCall.Resp` payload (APISIX side). `status` is 0 when
 * absent; `headers` and `body` are `undefined` when absent; `body` is a view
 * of the payload.
 *
 * @throws {MalformedPayloadError} when the payload is not a valid HTTPRespCall.Resp.
 */
export function decodeHttpRespCallResponse(payload: Uint8Array): HttpRespCallResponse {
  const t = rootTable(payload, "HTTPRespCall.Resp");
  return {
    id: readU32(payload, t, 0, "HTTPRespCall.Resp.id"),
    status: readU16(payload, t, 1, "HTTPRespCall.Resp.status"),
    headers: readTextEntries(payload, t, 2, "HTTPRespCall.Resp.headers"),
    body: readBytes(payload, t, 3, "HTTPRespCall.Resp.body"),
  };
}
