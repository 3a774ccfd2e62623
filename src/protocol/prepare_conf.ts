// Codec of A6.PrepareConf.Req / A6.PrepareConf.Resp (frame type 1).

import type { FlatBuilder } from "./flat_builder.ts";
import { readString, readTextEntries, readU32, rootTable } from "./table_reader.ts";
import { createTextEntries, encodePayload } from "./table_writer.ts";
import type { PrepareConfRequest, PrepareConfResponse } from "./types.ts";

/**
 * Decodes an `A6.PrepareConf.Req` payload (runner side). `conf` and `key` are
 * `undefined` when absent on the wire.
 *
 * @throws {MalformedPayloadError} when the payload is not a valid PrepareConf.Req.
 * @example
 * ```ts
 * const { conf, key } = decodePrepareConfRequest(frame.payload);
 * ```
 */
export function decodePrepareConfRequest(payload: Uint8Array): PrepareConfRequest {
  const t = rootTable(payload, "PrepareConf.Req");
  return {
    conf: readTextEntries(payload, t, 0, "PrepareConf.Req.conf"),
    key: readString(payload, t, 1, "PrepareConf.Req.key"),
  };
}

/**
 * Encodes an `A6.PrepareConf.Req` payload as APISIX writes it: `key` always
 * (empty when `undefined`), `conf` only when defined.
 *
 * @example
 * ```ts
 * encodePrepareConfRequest({ conf: [{ name: "say", value: "{}" }], key: "route#1#ext-plugin-pre-req#1" });
 * ```
 */
export function encodePrepareConfRequest(msg: PrepareConfRequest): Uint8Array {
  return encodePayload(msg, _buildPrepareConfRequest);
}

function _buildPrepareConfRequest(b: FlatBuilder, msg: PrepareConfRequest): number {
  const key = b.createString(msg.key ?? "");
  const conf = msg.conf === undefined ? 0 : createTextEntries(b, msg.conf);
  b.startObject(2);
  b.addFieldOffset(1, key, 0); // PrepareConf.Req.key
  if (conf !== 0) b.addFieldOffset(0, conf, 0); // PrepareConf.Req.conf
  return b.endObject();
}

/**
 * Encodes an `A6.PrepareConf.Resp` payload (runner side); token 0 is omitted
 * like any default scalar.
 *
 * @example
 * ```ts
 * encodePrepareConfResponse({ confToken: 7 });
 * ```
 */
export function encodePrepareConfResponse(msg: PrepareConfResponse): Uint8Array {
  return encodePayload(msg, buildPrepareConfResponse);
}

/** Writes an `A6.PrepareConf.Resp` table (the runner's `FrameEncoder` and {@linkcode encodePrepareConfResponse}). */
export function buildPrepareConfResponse(b: FlatBuilder, msg: PrepareConfResponse): number {
  b.startObject(1);
  b.addFieldInt32(0, msg.confToken, 0); // PrepareConf.Resp.conf_token
  return b.endObject();
}

/**
 * Decodes an `A6.PrepareConf.Resp` payload (APISIX side).
 *
 * @throws {MalformedPayloadError} when the payload is not a valid PrepareConf.Resp.
 */
export function decodePrepareConfResponse(payload: Uint8Array): PrepareConfResponse {
  const t = rootTable(payload, "PrepareConf.Resp");
  return { confToken: readU32(payload, t, 0, "PrepareConf.Resp.conf_token") };
}
