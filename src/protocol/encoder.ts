// FrameEncoder: the runner's reply frames, built in one reused builder into slab memory, memoised where they repeat.

import { buildErrorResponse } from "./error_response.ts";
import { FrameTooLargeError } from "./errors.ts";
import { buildExtraInfoRequest } from "./extra_info.ts";
import { FlatBuilder } from "./flat_builder.ts";
import { writeFrameHeader } from "./framing.ts";
import { buildHttpReqCallResponse } from "./http_req_call.ts";
import { buildHttpRespCallResponse } from "./http_resp_call.ts";
import { buildPrepareConfResponse } from "./prepare_conf.ts";
import { ReplyTemplates } from "./reply_templates.ts";
import type { BuildTable } from "./table_writer.ts";
import {
  type ErrorCodeValue,
  type ExtraInfoRequest,
  FRAME_HEADER_SIZE,
  FrameType,
  type HttpReqCallResponse,
  type HttpRespCallResponse,
  MAX_PAYLOAD_SIZE,
  type PreparedStop,
} from "./types.ts";

/** A reply larger than this does not stay cached in the reused builder. */
const _MAX_KEPT_CAPACITY = 1 << 20;
/** Frames are carved out of slabs of this size: V8 allocates a fresh small Uint8Array slowly. */
const _SLAB_SIZE = 64 * 1024;
/** Frames larger than this get their own array. */
const _MAX_SLAB_FRAME = 8 * 1024;
/** Room a size-hinted builder gets beyond the hint: headers, tables, alignment. */
const _HINT_SLACK = 1024;

/**
 * Encodes the frames a runner writes: whole frames (header and payload) in one
 * array each, ready for one write. One instance per server: it owns the reused
 * builder, the slab small frames are carved from, and the memoised replies (a
 * prepared Stop after its first use, the replies that carry only an id).
 * Encoding is synchronous; a nested encode (from inside a build) gets a fresh
 * builder.
 *
 * @example
 * ```ts
 * const encoder = new FrameEncoder();
 * conn.write(encoder.httpReqCallResponse({ id: 7, action: stop(403) }));
 * ```
 */
export class FrameEncoder {
  #builder: FlatBuilder | undefined;
  #busy = false;
  #slab = new Uint8Array(0);
  #slabUsed = 0;
  #templates = new ReplyTemplates((size) => this.memory(size));

  /** `PrepareConf.Resp { conf_token }` (frame type 1). */
  prepareConfResponse(confToken: number): Uint8Array {
    return this.frame(FrameType.PrepareConf, { confToken }, buildPrepareConfResponse);
  }

  /**
   * `HTTPReqCall.Resp` (frame type 2). A {@linkcode PreparedStop} seen before
   * is copied from its memoised frame with the id patched in, as is the reply
   * without action.
   *
   * @throws {FrameTooLargeError} when the reply does not fit a frame.
   */
  httpReqCallResponse(msg: HttpReqCallResponse): Uint8Array {
    const action = msg.action;
    if (action === undefined) {
      return this.#templates.idOnlyFrame(FrameType.HttpReqCall, msg.id, this.#noAction);
    }
    if (action.type === "stop" && (action as PreparedStop).prepared === true && msg.id !== 0) {
      const frame = this.#templates.stopFrame(action as PreparedStop, msg.id, this.#stopFrame);
      if (frame !== undefined) return frame;
    }
    return this.frame(FrameType.HttpReqCall, msg, buildHttpReqCallResponse, action.body?.length);
  }

  /**
   * `HTTPRespCall.Resp` (frame type 4); the reply without change is memoised.
   *
   * @throws {FrameTooLargeError} when the reply does not fit a frame.
   */
  httpRespCallResponse(msg: HttpRespCallResponse): Uint8Array {
    if (msg.status === undefined && msg.headers === undefined && msg.body === undefined) {
      return this.#templates.idOnlyFrame(FrameType.HttpRespCall, msg.id, this.#noChange);
    }
    return this.frame(FrameType.HttpRespCall, msg, buildHttpRespCallResponse, msg.body?.length);
  }

  /** `ExtraInfo.Req` (frame type 3): a question to APISIX in the middle of a call. */
  extraInfoRequest(question: ExtraInfoRequest): Uint8Array {
    return this.frame(FrameType.ExtraInfo, question, buildExtraInfoRequest);
  }

  /** `Err.Resp { code }` (frame type 0). */
  errorResponse(code: ErrorCodeValue): Uint8Array {
    return this.frame(FrameType.Error, { code }, buildErrorResponse);
  }

  /**
   * The whole frame of type `type` whose payload `build` writes. `sizeHint` is
   * the size of the bytes the message carries (a body): a frame expected
   * larger than 8 KiB is built in memory of about that size and handed out as
   * is, so a body is copied once, into the frame.
   *
   * @throws {FrameTooLargeError} when the payload exceeds {@linkcode MAX_PAYLOAD_SIZE}.
   */
  frame<T>(type: number, msg: T, build: BuildTable<T>, sizeHint = 0): Uint8Array {
    if (sizeHint > _MAX_SLAB_FRAME) {
      const own = new FlatBuilder(sizeHint + _HINT_SLACK);
      own.finish(build(own, msg));
      const length = _checked(own);
      // The builder's memory becomes the frame: the body was copied once, in.
      const frame = own.detach(FRAME_HEADER_SIZE) ?? this.#copied(own, length);
      writeFrameHeader(frame, 0, type, length);
      return frame;
    }
    if (this.#busy) return this.#encodeWith(new FlatBuilder(256), type, msg, build);
    this.#busy = true;
    const b = this.#builder ??= new FlatBuilder(1024);
    try {
      b.clear();
      return this.#encodeWith(b, type, msg, build);
    } finally {
      if (b.capacity > _MAX_KEPT_CAPACITY) this.#builder = undefined;
      this.#busy = false;
    }
  }

  /**
   * Memory for one frame. Small frames are consecutive parts of a slab that is
   * never written twice (a full slab is dropped, not recycled), so a frame still
   * queued for a socket never changes: `new Uint8Array(150)` costs ~0.7 µs on
   * Deno and ~1 µs on Node, a view of a slab ~40 ns.
   */
  memory(size: number): Uint8Array {
    if (size > _MAX_SLAB_FRAME) return new Uint8Array(size);
    if (this.#slabUsed + size > this.#slab.length) {
      this.#slab = new Uint8Array(_SLAB_SIZE);
      this.#slabUsed = 0;
    }
    const start = this.#slabUsed;
    // Keep frames 8-byte aligned within the slab.
    this.#slabUsed = (start + size + 7) & ~7;
    return this.#slab.subarray(start, start + size);
  }

  #encodeWith<T>(b: FlatBuilder, type: number, msg: T, build: BuildTable<T>): Uint8Array {
    b.finish(build(b, msg));
    const length = _checked(b);
    const frame = this.#copied(b, length);
    writeFrameHeader(frame, 0, type, length);
    return frame;
  }

  #copied(b: FlatBuilder, length: number): Uint8Array {
    const frame = this.memory(FRAME_HEADER_SIZE + length);
    b.copyInto(frame, FRAME_HEADER_SIZE);
    return frame;
  }

  #noAction = (_: void, id: number): Uint8Array =>
    this.frame(FrameType.HttpReqCall, { id }, buildHttpReqCallResponse);

  #noChange = (_: void, id: number): Uint8Array =>
    this.frame(FrameType.HttpRespCall, { id }, buildHttpRespCallResponse);

  #stopFrame = (action: PreparedStop, id: number): Uint8Array =>
    this.frame(FrameType.HttpReqCall, { id, action }, buildHttpReqCallResponse);
}

/** The finished payload's length, checked against the 24-bit frame limit. */
function _checked(b: FlatBuilder): number {
  const length = b.offset();
  if (length > MAX_PAYLOAD_SIZE) throw new FrameTooLargeError(length);
  return length;
}
