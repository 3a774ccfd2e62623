// Codec of A6.ExtraInfo.Req (runner question) / A6.ExtraInfo.Resp (APISIX answer), frame type 3.

import type { FlatBuilder } from "./flat_builder.ts";
import {
  checkTable,
  malformed,
  readBytes,
  readOffset,
  readString,
  readU8,
  rootTable,
} from "./table_reader.ts";
import { createBytes, encodePayload } from "./table_writer.ts";
import type { ExtraInfoRequest, ExtraInfoResponse } from "./types.ts";

// Union A6.ExtraInfo.Info tags.
const _INFO_VAR = 1;
const _INFO_REQ_BODY = 2;
const _INFO_RESP_BODY = 3;

/**
 * Encodes an `A6.ExtraInfo.Req` payload: the union `info` as `info_type` + table.
 *
 * @example
 * ```ts
 * encodeExtraInfoRequest({ type: "var", name: "remote_addr" });
 * ```
 */
export function encodeExtraInfoRequest(msg: ExtraInfoRequest): Uint8Array {
  return encodePayload(msg, buildExtraInfoRequest);
}

/** Writes an `A6.ExtraInfo.Req` table (the runner's `FrameEncoder` and {@linkcode encodeExtraInfoRequest}). */
export function buildExtraInfoRequest(b: FlatBuilder, msg: ExtraInfoRequest): number {
  let infoType: number;
  let info: number;
  switch (msg.type) {
    case "var": {
      const name = b.createString(msg.name);
      b.startObject(1);
      b.addFieldOffset(0, name, 0); // ExtraInfo.Var.name
      info = b.endObject();
      infoType = _INFO_VAR;
      break;
    }
    case "reqBody":
      b.startObject(0);
      info = b.endObject();
      infoType = _INFO_REQ_BODY;
      break;
    case "respBody":
      b.startObject(0);
      info = b.endObject();
      infoType = _INFO_RESP_BODY;
      break;
    default:
      throw new TypeError(
        `Unknown ExtraInfo request type: ${(msg as { type: unknown }).type}`,
      );
  }
  b.startObject(2);
  b.addFieldOffset(1, info, 0); // ExtraInfo.Req.info
  b.addFieldInt8(0, infoType, 0); // ExtraInfo.Req.info_type
  return b.endObject();
}

/**
 * Decodes an `A6.ExtraInfo.Req` payload (APISIX side).
 *
 * @throws {MalformedPayloadError} when the payload is invalid or `info_type` is
 * not Var, ReqBody or RespBody (the message names the value).
 */
export function decodeExtraInfoRequest(payload: Uint8Array): ExtraInfoRequest {
  const t = rootTable(payload, "ExtraInfo.Req");
  const infoType = readU8(payload, t, 0, "ExtraInfo.Req.info_type");
  const info = readOffset(payload, t, 1, "ExtraInfo.Req.info");
  if (info !== 0) checkTable(payload, info, "ExtraInfo.Req.info");
  switch (infoType) {
    case _INFO_VAR:
      if (info === 0) malformed("ExtraInfo.Req.info", "Var question without its table");
      return { type: "var", name: readString(payload, info, 0, "ExtraInfo.Var.name") ?? "" };
    case _INFO_REQ_BODY:
      return { type: "reqBody" };
    case _INFO_RESP_BODY:
      return { type: "respBody" };
    default:
      return malformed("ExtraInfo.Req.info_type", `unknown info type ${infoType}`);
  }
}

/**
 * Encodes an `A6.ExtraInfo.Resp` payload (APISIX side); `result` is omitted
 * when `undefined` and written (possibly empty) otherwise.
 *
 * @throws {FrameTooLargeError} when the result does not fit a frame.
 */
export function encodeExtraInfoResponse(msg: ExtraInfoResponse): Uint8Array {
  return encodePayload(msg, _buildExtraInfoResponse);
}

function _buildExtraInfoResponse(b: FlatBuilder, msg: ExtraInfoResponse): number {
  const result = msg.result === undefined ? 0 : createBytes(b, msg.result);
  b.startObject(1);
  if (msg.result !== undefined) b.addFieldOffset(0, result, 0); // ExtraInfo.Resp.result
  return b.endObject();
}

/**
 * Decodes an `A6.ExtraInfo.Resp` payload (runner side). `result` is a view of
 * the payload (no copy), `undefined` when absent (unknown var, no body) and
 * empty when present but empty.
 *
 * @throws {MalformedPayloadError} when the payload is not a valid ExtraInfo.Resp.
 * @example
 * ```ts
 * const { result } = decodeExtraInfoResponse(frame.payload);
 * const value = result === undefined ? undefined : new TextDecoder().decode(result);
 * ```
 */
export function decodeExtraInfoResponse(payload: Uint8Array): ExtraInfoResponse {
  const t = rootTable(payload, "ExtraInfo.Resp");
  return { result: readBytes(payload, t, 0, "ExtraInfo.Resp.result") };
}
