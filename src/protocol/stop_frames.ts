// Memoised reply frames: the Stop actions plugins build once, and the replies that carry only an id.

import { frameMemory } from "./table_writer.ts";
import type { StopAction, TextEntry } from "./types.ts";

/** Bodies up to this size are memoised (checking the body on each use must stay cheap). */
const MAX_BODY = 512;
/** Stops with more headers than this are not memoised. */
const MAX_HEADERS = 16;

/** A finished reply frame for one Stop action, with the request id to patch in. */
interface _Template {
  readonly frame: Uint8Array;
  /** Where the 4 bytes of `HTTPReqCall.Resp.id` are in `frame`. */
  readonly idAt: number;
  readonly status: number;
  readonly headers: readonly TextEntry[] | undefined;
  /** Names and values of `headers` when memoised: a later change is seen. */
  readonly snapshot: readonly (string | undefined)[];
  readonly body: Uint8Array | undefined;
  /** Copy of `body` when memoised: a later change of its bytes is seen. */
  readonly bodyCopy: Uint8Array | undefined;
}

/** `null`: seen once, not memoised yet (a stop built per call never gets a template). */
const _templates = new WeakMap<StopAction, _Template | null>();

/**
 * The reply frame `HTTPReqCall.Resp { id, action: stop }` from a memoised
 * template, or `undefined` when the caller must encode it. Only frozen
 * actions (what `stop()` returns, typically built once in `parseConf`) with
 * a small body are memoised, from their second use on; each use checks that
 * status, headers and body bytes are still those of the template, so a
 * mutated action is simply encoded again. `id` must not be 0 (an id of 0 is
 * left out of the table, the template has it).
 *
 * `encode` encodes the frame for `id` (the normal path); it is called to make
 * the template.
 */
export function stopFrameFromTemplate(
  action: StopAction,
  id: number,
  encode: (action: StopAction, id: number) => Uint8Array,
): Uint8Array | undefined {
  if (!Object.isFrozen(action)) return undefined;
  const template = _templates.get(action);
  if (template === undefined) {
    _templates.set(action, null);
    return undefined;
  }
  if (template === null) {
    const made = _makeTemplate(action, encode);
    if (made === undefined) return undefined;
    _templates.set(action, made);
    return _fromTemplate(made, id);
  }
  if (!_stillValid(template, action)) {
    _templates.delete(action);
    return undefined;
  }
  return _fromTemplate(template, id);
}

function _makeTemplate(
  action: StopAction,
  encode: (action: StopAction, id: number) => Uint8Array,
): _Template | undefined {
  const body = action.body;
  const headers = action.headers;
  if (body !== undefined && body.length > MAX_BODY) return undefined;
  if (headers !== undefined && headers.length > MAX_HEADERS) return undefined;
  const frame = encode(action, 1).slice();
  // HTTPReqCall.Resp.id is field 0 of the root table.
  const idAt = _idPosition(frame);
  const snapshot: (string | undefined)[] = [];
  if (headers !== undefined) {
    for (const entry of headers) snapshot.push(entry.name, entry.value);
  }
  return {
    frame,
    idAt,
    status: action.status,
    headers,
    snapshot,
    body,
    bodyCopy: body?.slice(),
  };
}

function _stillValid(template: _Template, action: StopAction): boolean {
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

function _fromTemplate(template: _Template, id: number): Uint8Array {
  return _patched(template.frame, template.idAt, id);
}

/** A copy of `source` (in frame memory) with `id` written little-endian at `at`. */
function _patched(source: Uint8Array, at: number, id: number): Uint8Array {
  const frame = frameMemory(source.length);
  frame.set(source);
  frame[at] = id;
  frame[at + 1] = id >>> 8;
  frame[at + 2] = id >>> 16;
  frame[at + 3] = id >>> 24;
  return frame;
}

/** Where field 0 (the id) of the root table of `frame` is (the field must be present). */
function _idPosition(frame: Uint8Array): number {
  const root = 4 + _u32(frame, 4);
  const vtable = root - (_u32(frame, root) | 0);
  return root + (frame[vtable + 4]! | (frame[vtable + 5]! << 8));
}

/**
 * Makes `(id) => frame` for a reply that carries nothing but its id (no action,
 * no change): the frame is encoded once by `encode` with id 1, later ones are
 * that frame with the id patched in. An id of 0 is left out of the table, so
 * `encode` is used for it.
 */
export function idOnlyReplies(encode: (id: number) => Uint8Array): (id: number) => Uint8Array {
  let template: Uint8Array | undefined;
  let idAt = 0;
  return (id) => {
    if (id === 0) return encode(0);
    if (template === undefined) {
      template = encode(1).slice();
      idAt = _idPosition(template);
    }
    return _patched(template, idAt, id);
  };
}

function _u32(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}
