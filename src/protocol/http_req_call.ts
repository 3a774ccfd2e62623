// Codec of A6.HTTPReqCall.Req / A6.HTTPReqCall.Resp with its Stop / Rewrite action union (frame type 2).

import type { FlatBuilder } from "./flat_builder.ts";
import {
  checkTable,
  checkTextEntries,
  decodeTextEntries,
  decodeUtf8,
  malformed,
  readBytes,
  readOffset,
  readString,
  readTextEntries,
  readU16,
  readU32,
  readU8,
  rootTable,
  u32,
  vectorLength,
} from "./table_reader.ts";
import { decodeLazyTextEntries, type NameCache } from "./lazy_text_entries.ts";
import { createBytes, createTextEntries, encodePayload } from "./table_writer.ts";
import type {
  Action,
  HttpReqCallRequest,
  HttpReqCallResponse,
  RewriteAction,
  StopAction,
  TextEntry,
} from "./types.ts";

// Union A6.HTTPReqCall.Action tags.
const _ACTION_STOP = 1;
const _ACTION_REWRITE = 2;

/**
 * A decoded HTTPReqCall.Req. The whole table is validated at decode time and
 * the scalars are read then; `srcIp` (a view of the payload), `path`, `args`
 * and `headers` are only made on access (the strings are cached). Reading them
 * never throws.
 */
class _HttpReqCallRequestView implements HttpReqCallRequest {
  readonly id: number;
  readonly method: number;
  readonly confToken: number;
  #payload: Uint8Array;
  #srcIpAt: number;
  #pathAt: number;
  #argsAt: number;
  #headersAt: number;
  #path: string | undefined;
  #args: readonly TextEntry[] | undefined;
  #headers: readonly TextEntry[] | undefined;
  #lazyHeaders: readonly TextEntry[] | undefined;
  #names: NameCache | undefined;

  constructor(payload: Uint8Array, t: number, names: NameCache | undefined) {
    this.#payload = payload;
    this.#names = names;
    this.id = readU32(payload, t, 0, "HTTPReqCall.Req.id");
    this.#srcIpAt = readOffset(payload, t, 1, "HTTPReqCall.Req.src_ip");
    if (this.#srcIpAt !== 0) vectorLength(payload, this.#srcIpAt, 1, "HTTPReqCall.Req.src_ip");
    this.method = readU8(payload, t, 2, "HTTPReqCall.Req.method");
    this.#pathAt = readOffset(payload, t, 3, "HTTPReqCall.Req.path");
    if (this.#pathAt !== 0) vectorLength(payload, this.#pathAt, 1, "HTTPReqCall.Req.path");
    this.#argsAt = readOffset(payload, t, 4, "HTTPReqCall.Req.args");
    if (this.#argsAt !== 0) checkTextEntries(payload, this.#argsAt, "HTTPReqCall.Req.args");
    this.#headersAt = readOffset(payload, t, 5, "HTTPReqCall.Req.headers");
    if (this.#headersAt !== 0) {
      checkTextEntries(payload, this.#headersAt, "HTTPReqCall.Req.headers");
    }
    this.confToken = readU32(payload, t, 6, "HTTPReqCall.Req.conf_token");
  }

  get srcIp(): Uint8Array | undefined {
    const at = this.#srcIpAt;
    if (at === 0) return undefined;
    const b = this.#payload;
    return b.subarray(at + 4, at + 4 + u32(b, at));
  }

  get path(): string | undefined {
    const at = this.#pathAt;
    if (at === 0 || this.#path !== undefined) return this.#path;
    const b = this.#payload;
    return this.#path = decodeUtf8(b, at + 4, at + 4 + u32(b, at));
  }

  get args(): readonly TextEntry[] {
    return this.#args ??= this.#argsAt === 0 ? [] : decodeTextEntries(this.#payload, this.#argsAt);
  }

  get headers(): readonly TextEntry[] {
    return this.#headers ??= this.#headersAt === 0
      ? []
      : decodeTextEntries(this.#payload, this.#headersAt);
  }

  get lazyHeaders(): readonly TextEntry[] {
    return this.#lazyHeaders ??= this.#headers ??
      (this.#headersAt === 0
        ? []
        : decodeLazyTextEntries(this.#payload, this.#headersAt, this.#names));
  }
}

/**
 * Decodes an `A6.HTTPReqCall.Req` payload (runner side). The whole structure
 * is validated here; `path`, `args` and `headers` text is decoded lazily on
 * first access, and `lazyHeaders` decodes each header value only when read
 * (their names through `names`, a cache the server keeps across calls).
 * `srcIp` is a view of the payload (no copy), so the payload must not be
 * modified afterwards. The result is a class instance with getters: compare it
 * field by field, not with `deepStrictEqual`.
 *
 * @throws {MalformedPayloadError} when the payload is not a valid HTTPReqCall.Req.
 * @example
 * ```ts
 * const req = decodeHttpReqCallRequest(frame.payload);
 * console.log(METHODS[req.method], req.path, req.headers.length);
 * ```
 */
export function decodeHttpReqCallRequest(
  payload: Uint8Array,
  names?: NameCache,
): HttpReqCallRequest {
  return new _HttpReqCallRequestView(payload, rootTable(payload, "HTTPReqCall.Req"), names);
}

/**
 * Encodes an `A6.HTTPReqCall.Req` payload as APISIX writes it: `args` and
 * `headers` always (possibly empty), default scalars omitted.
 *
 * @example
 * ```ts
 * encodeHttpReqCallRequest({ id: 1, srcIp: new Uint8Array([127, 0, 0, 1]), method: 0,
 *   path: "/hello", args: [], headers: [{ name: "host", value: "example.com" }], confToken: 1 });
 * ```
 */
export function encodeHttpReqCallRequest(msg: HttpReqCallRequest): Uint8Array {
  return encodePayload(msg, _buildHttpReqCallRequest);
}

function _buildHttpReqCallRequest(b: FlatBuilder, msg: HttpReqCallRequest): number {
  const srcIp = msg.srcIp === undefined ? 0 : createBytes(b, msg.srcIp);
  const path = msg.path === undefined ? 0 : b.createString(msg.path);
  const args = createTextEntries(b, msg.args);
  const headers = createTextEntries(b, msg.headers);
  b.startObject(7);
  b.addFieldInt32(6, msg.confToken, 0); // HTTPReqCall.Req.conf_token
  b.addFieldOffset(5, headers, 0); // HTTPReqCall.Req.headers
  b.addFieldOffset(4, args, 0); // HTTPReqCall.Req.args
  b.addFieldOffset(3, path, 0); // HTTPReqCall.Req.path
  b.addFieldOffset(1, srcIp, 0); // HTTPReqCall.Req.src_ip
  b.addFieldInt32(0, msg.id, 0); // HTTPReqCall.Req.id
  b.addFieldInt8(2, msg.method, 0); // HTTPReqCall.Req.method
  return b.endObject();
}

/**
 * Encodes an `A6.HTTPReqCall.Resp` payload (runner side): `id`, then the action
 * union as `action_type` + table (nothing for no action). Optional fields are
 * written when defined (an empty list or body stays on the wire as empty).
 *
 * @throws {FrameTooLargeError} when the reply does not fit a frame.
 * @example
 * ```ts
 * encodeHttpReqCallResponse({ id: req.id, action: { type: "stop", status: 403 } });
 * ```
 */
export function encodeHttpReqCallResponse(msg: HttpReqCallResponse): Uint8Array {
  return encodePayload(msg, buildHttpReqCallResponse);
}

/** Writes an `A6.HTTPReqCall.Resp` table (the runner's `FrameEncoder` and {@linkcode encodeHttpReqCallResponse}). */
export function buildHttpReqCallResponse(b: FlatBuilder, msg: HttpReqCallResponse): number {
  const action = msg.action;
  let actionType = 0;
  let table = 0;
  if (action !== undefined) {
    if (action.type === "stop") {
      actionType = _ACTION_STOP;
      table = _buildStop(b, action);
    } else if (action.type === "rewrite") {
      actionType = _ACTION_REWRITE;
      table = _buildRewrite(b, action);
    } else {
      throw new TypeError(`Unknown HTTPReqCall action type: ${(action as { type: unknown }).type}`);
    }
  }
  b.startObject(3);
  b.addFieldInt32(0, msg.id, 0); // HTTPReqCall.Resp.id
  if (table !== 0) b.addFieldOffset(2, table, 0); // HTTPReqCall.Resp.action
  b.addFieldInt8(1, actionType, 0); // HTTPReqCall.Resp.action_type
  return b.endObject();
}

function _buildStop(b: FlatBuilder, stop: StopAction): number {
  const headers = stop.headers === undefined ? 0 : createTextEntries(b, stop.headers);
  const body = stop.body === undefined ? 0 : createBytes(b, stop.body);
  b.startObject(3);
  if (body !== 0) b.addFieldOffset(2, body, 0); // HTTPReqCall.Stop.body
  if (headers !== 0) b.addFieldOffset(1, headers, 0); // HTTPReqCall.Stop.headers
  b.addFieldInt16(0, stop.status, 0); // HTTPReqCall.Stop.status
  return b.endObject();
}

function _buildRewrite(b: FlatBuilder, rewrite: RewriteAction): number {
  const path = rewrite.path === undefined ? 0 : b.createString(rewrite.path);
  const headers = rewrite.headers === undefined ? 0 : createTextEntries(b, rewrite.headers);
  const args = rewrite.args === undefined ? 0 : createTextEntries(b, rewrite.args);
  const respHeaders = rewrite.respHeaders === undefined
    ? 0
    : createTextEntries(b, rewrite.respHeaders);
  const body = rewrite.body === undefined ? 0 : createBytes(b, rewrite.body);
  b.startObject(5);
  if (body !== 0) b.addFieldOffset(4, body, 0); // HTTPReqCall.Rewrite.body
  if (respHeaders !== 0) b.addFieldOffset(3, respHeaders, 0); // HTTPReqCall.Rewrite.resp_headers
  if (args !== 0) b.addFieldOffset(2, args, 0); // HTTPReqCall.Rewrite.args
  if (headers !== 0) b.addFieldOffset(1, headers, 0); // HTTPReqCall.Rewrite.headers
  if (path !== 0) b.addFieldOffset(0, path, 0); // HTTPReqCall.Rewrite.path
  return b.endObject();
}

/**
 * Decodes an `A6.HTTPReqCall.Resp` payload (APISIX side) into plain objects.
 * Absent optional fields are `undefined`; bodies are views of the payload.
 *
 * @throws {MalformedPayloadError} when the payload is invalid or `action_type`
 * is not NONE, Stop or Rewrite (the message names the value).
 */
export function decodeHttpReqCallResponse(payload: Uint8Array): HttpReqCallResponse {
  const t = rootTable(payload, "HTTPReqCall.Resp");
  const id = readU32(payload, t, 0, "HTTPReqCall.Resp.id");
  const actionType = readU8(payload, t, 1, "HTTPReqCall.Resp.action_type");
  if (actionType === 0) return { id, action: undefined };
  if (actionType !== _ACTION_STOP && actionType !== _ACTION_REWRITE) {
    malformed("HTTPReqCall.Resp.action_type", `unknown action type ${actionType}`);
  }
  const a = readOffset(payload, t, 2, "HTTPReqCall.Resp.action");
  if (a === 0) malformed("HTTPReqCall.Resp.action", `action type ${actionType} without its table`);
  checkTable(payload, a, "HTTPReqCall.Resp.action");
  let action: Action;
  if (actionType === _ACTION_STOP) {
    action = {
      type: "stop",
      status: readU16(payload, a, 0, "HTTPReqCall.Stop.status"),
      headers: readTextEntries(payload, a, 1, "HTTPReqCall.Stop.headers"),
      body: readBytes(payload, a, 2, "HTTPReqCall.Stop.body"),
    };
  } else {
    action = {
      type: "rewrite",
      path: readString(payload, a, 0, "HTTPReqCall.Rewrite.path"),
      headers: readTextEntries(payload, a, 1, "HTTPReqCall.Rewrite.headers"),
      args: readTextEntries(payload, a, 2, "HTTPReqCall.Rewrite.args"),
      respHeaders: readTextEntries(payload, a, 3, "HTTPReqCall.Rewrite.resp_headers"),
      body: readBytes(payload, a, 4, "HTTPReqCall.Rewrite.body"),
    };
  }
  return { id, action };
}
