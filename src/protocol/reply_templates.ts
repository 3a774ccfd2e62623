// Memoised reply frames of one encoder: prepared Stops and the replies that carry only an id.

import { field, u32 } from "./table_reader.ts";
import { FRAME_HEADER_SIZE, type PreparedStop, type TextEntry } from "./types.ts";

/** Bodies up to this size are memoised (checking the body on each use must stay cheap). */
const MAX_BODY = 512;
/** Stops with more headers than this are not memoised. */
const MAX_HEADERS = 16;

/** A finished reply frame, with where its id goes. */
interface _IdTemplate {
  readonly frame: Uint8Array;
  /** Where the 4 bytes of the reply's `id` (field 0 of the root table) are in `frame`. */
  readonly idAt: number;
}

/** The template of one prepared Stop, with what it was made from. */
interface _StopTemplate extends _IdTemplate {
  readonly status: number;
  readonly headers: readonly TextEntry[] | undefined;
  /** Names and values of `headers` when memoised: a later change is seen. */
  readonly snapshot: readonly (string | undefined)[];
  readonly body: Uint8Array | undefined;
  /** Copy of `body` when memoised: a later change of its bytes is seen. */
  readonly bodyCopy: Uint8Array | undefined;
}

/** Makes the frame of a reply for `id`, the normal way. */
export type EncodeReply<T> = (value: T, id: number) => Uint8Array;

/** Hands out `size` bytes of frame memory (see `FrameEncoder.memory()`). */
export type FrameMemory = (size: number) => Uint8Array;

/**
 * Reply frames made once and copied with the id patched in: the reply of a
 * {@linkcode PreparedStop} (from its second use on) and, per frame type, the
 * reply that carries nothing but its id. Owned by one encoder.
 *
 * @example
 * ```ts
 * const templates = new ReplyTemplates((size) => new Uint8Array(size));
 * templates.stopFrame(prepared, 7, encodeStop); // undefined the first time: encode it yourself
 * ```
 */
export class ReplyTemplates {
  #memory: FrameMemory;
  /** `null`: seen once, not memoised yet (a stop built per call never gets a template). */
  #stops = new WeakMap<PreparedStop, _StopTemplate | null>();
  #idOnly = new Map<number, _IdTemplate>();

  /** Templates whose copies come from `memory`. */
  constructor(memory: FrameMemory) {
    this.#memory = memory;
  }

  /**
   * The reply frame `{ id, action: stop }` from the stop's template, or
   * `undefined` when the caller must encode it: on its first use, when it is too
   * large, or when its status, headers or body bytes changed since the template
   * was made. `id` must not be 0 (an id of 0 is left out of the table).
   */
  stopFrame(
    action: PreparedStop,
    id: number,
    encode: EncodeReply<PreparedStop>,
  ): Uint8Array | undefined {
    const template = this.#stops.get(action);
    if (template === undefined) {
      this.#stops.set(action, null);
      return undefined;
    }
    if (template === null) {
      const made = _stopTemplate(action, encode);
      if (made === undefined) return undefined;
      this.#stops.set(action, made);
      return this.#patched(made, id);
    }
    if (!_stillValid(template, action)) {
      this.#stops.delete(action);
      return undefined;
    }
    return this.#patched(template, id);
  }

  /**
   * The reply of frame type `type` that carries nothing but `id`: encoded once
   * by `encode` with id 1, later copied with the id patched in (an id of 0 is
   * left out of the table, so it is encoded as usual).
   */
  idOnlyFrame(type: number, id: number, encode: EncodeReply<void>): Uint8Array {
    if (id === 0) return encode(undefined, 0);
    let template = this.#idOnly.get(type);
    if (template === undefined) {
      const frame = encode(undefined, 1).slice();
      template = { frame, idAt: _idPosition(frame) };
      this.#idOnly.set(type, template);
    }
    return this.#patched(template, id);
  }

  /** A copy of the template's frame (in frame memory) with `id` written little-endian. */
  #patched(template: _IdTemplate, id: number): Uint8Array {
    const source = template.frame;
    const at = template.idAt;
    const frame = this.#memory(source.length);
    frame.set(source);
    frame[at] = id;
    frame[at + 1] = id >>> 8;
    frame[at + 2] = id >>> 16;
    frame[at + 3] = id >>> 24;
    return frame;
  }
}

function _stopTemplate(
  action: PreparedStop,
  encode: EncodeReply<PreparedStop>,
): _StopTemplate | undefined {
  const { body, headers } = action;
  if (body !== undefined && body.length > MAX_BODY) return undefined;
  if (headers !== undefined && headers.length > MAX_HEADERS) return undefined;
  const frame = encode(action, 1).slice();
  const snapshot: (string | undefined)[] = [];
  if (headers !== undefined) {
    for (const entry of headers) snapshot.push(entry.name, entry.value);
  }
  return {
    frame,
    idAt: _idPosition(frame),
    status: action.status,
    headers,
    snapshot,
    body,
    bodyCopy: body?.slice(),
  };
}

function _stillValid(template: _StopTemplate, action: PreparedStop): boolean {
  if (
    action.status !== template.status || action.headers !== template.headers ||
    action.body !== template.body
  ) return false;
  const headers = action.headers;
  if (headers !== undefined) {
    const snapshot = template.snapshot;
    if (headers.length * 2 !== snapshot.length) return false;
    for (let i = 0; i < headers.length; i++) {
      const entry = headers[i]!;
      if (entry.name !== snapshot[2 * i] || entry.value !== snapshot[2 * i + 1]) return false;
    }
  }
  const body = action.body;
  if (body !== undefined) {
    const copy = template.bodyCopy!;
    if (body.length !== copy.length) return false;
    for (let i = 0; i < body.length; i++) if (body[i] !== copy[i]) return false;
  }
  return true;
}

/** Where field 0 (the id) of the root table of `frame` is (the field must be present). */
function _idPosition(frame: Uint8Array): number {
  const payload = frame.subarray(FRAME_HEADER_SIZE);
  const root = u32(payload, 0);
  return FRAME_HEADER_SIZE + field(payload, root, root - (u32(payload, root) | 0), 0);
}
