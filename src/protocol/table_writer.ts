// Shared FlatBuffer building for the encoders: one reused builder, TextEntry vectors, size limit.

import { FrameTooLargeError } from "./errors.ts";
import { FlatBuilder } from "./flat_builder.ts";
import { FRAME_HEADER_SIZE, MAX_PAYLOAD_SIZE, type TextEntry } from "./types.ts";

// A reply larger than this does not stay cached in the shared builder.
const _MAX_KEPT_CAPACITY = 1 << 20;
/** Frames are carved out of slabs of this size: V8 allocates a fresh small Uint8Array slowly. */
const _SLAB_SIZE = 64 * 1024;
/** Frames larger than this get their own array. */
const _MAX_SLAB_FRAME = 8 * 1024;

let _slab = new Uint8Array(0);
let _slabUsed = 0;

let _shared: FlatBuilder | undefined;
let _busy = false;
// Stack of table offsets for TextEntry vectors; reentrant by remembering its base.
const _offsets: number[] = [];

/**
 * Runs `build` on a cleared builder, finishes the buffer with the returned root
 * table and returns a copy of the bytes that the caller owns. Encoding is
 * synchronous, so one builder is reused; a nested call gets a fresh one.
 *
 * @throws {FrameTooLargeError} when the payload exceeds {@linkcode MAX_PAYLOAD_SIZE}.
 */
export function encodePayload<T>(msg: T, build: (b: FlatBuilder, msg: T) => number): Uint8Array {
  return _encode(msg, build, -1);
}

/**
 * Like {@linkcode encodePayload}, but returns the whole frame: the 4-byte
 * header of frame type `type` followed by the payload, in one array (one write
 * for the socket). `sizeHint` is the size of the bytes the message carries
 * (a body): a frame expected larger than 8 KiB is built in memory of about
 * that size and handed out as is, so a body is copied once, into the frame,
 * with no growing of the builder.
 *
 * @throws {FrameTooLargeError} when the payload exceeds {@linkcode MAX_PAYLOAD_SIZE}.
 */
export function encodeFrame<T>(
  type: number,
  msg: T,
  build: (b: FlatBuilder, msg: T) => number,
  sizeHint = 0,
): Uint8Array {
  if (sizeHint > _MAX_SLAB_FRAME) {
    return _encodeWith(new FlatBuilder(sizeHint + _HINT_SLACK), msg, build, type, true);
  }
  return _encode(msg, build, type);
}

/** Room a size-hinted builder gets beyond the hint: headers, tables, alignment. */
const _HINT_SLACK = 1024;

function _encode<T>(msg: T, build: (b: FlatBuilder, msg: T) => number, type: number): Uint8Array {
  if (_busy) return _encodeWith(new FlatBuilder(256), msg, build, type);
  _busy = true;
  const b = _shared ??= new FlatBuilder(1024);
  try {
    b.clear();
    return _encodeWith(b, msg, build, type);
  } finally {
    if (b.capacity > _MAX_KEPT_CAPACITY) _shared = undefined;
    _busy = false;
  }
}

function _encodeWith<T>(
  b: FlatBuilder,
  msg: T,
  build: (b: FlatBuilder, msg: T) => number,
  type: number,
  own = false,
): Uint8Array {
  b.finish(build(b, msg));
  const length = b.offset();
  if (length > MAX_PAYLOAD_SIZE) throw new FrameTooLargeError(length);
  if (type < 0) return b.copyOut(0);
  // A builder of our own leaves its memory to the frame: the body was copied once, in.
  const frame = (own ? b.detach(FRAME_HEADER_SIZE) : undefined) ?? _copiedFrame(b, length);
  frame[0] = type;
  frame[1] = length >>> 16;
  frame[2] = length >>> 8;
  frame[3] = length;
  return frame;
}

function _copiedFrame(b: FlatBuilder, length: number): Uint8Array {
  const frame = frameMemory(FRAME_HEADER_SIZE + length);
  b.copyInto(frame, FRAME_HEADER_SIZE);
  return frame;
}

/**
 * Memory for one frame. Small frames are consecutive parts of a shared slab
 * that is never written twice (a full slab is dropped, not recycled), so a
 * frame still queued in a socket's write buffer never changes: `new
 * Uint8Array(150)` costs ~0.7 µs on Deno and ~1 µs on Node, a view of a slab
 * ~40 ns.
 */
export function frameMemory(size: number): Uint8Array {
  if (size > _MAX_SLAB_FRAME) return new Uint8Array(size);
  if (_slabUsed + size > _slab.length) {
    _slab = new Uint8Array(_SLAB_SIZE);
    _slabUsed = 0;
  }
  const start = _slabUsed;
  // Keep frames 8-byte aligned within the slab.
  _slabUsed = (start + size + 7) & ~7;
  return _slab.subarray(start, start + size);
}

/** Writes a `[ubyte]` vector (bulk copy); fails fast when it alone cannot fit a frame. */
export function createBytes(b: FlatBuilder, bytes: Uint8Array): number {
  const size = b.offset() + bytes.length;
  if (size > MAX_PAYLOAD_SIZE) throw new FrameTooLargeError(size);
  return b.createByteVector(bytes);
}

/**
 * Writes an `[A6.TextEntry]` vector: `name` always, `value` only when not
 * `undefined` (absent ≠ empty).
 */
export function createTextEntries(b: FlatBuilder, entries: readonly TextEntry[]): number {
  const base = _offsets.length;
  const n = entries.length;
  try {
    for (let i = 0; i < n; i++) {
      const entry = entries[i]!;
      const name = b.createString(entry.name);
      const value = entry.value == null ? 0 : b.createString(entry.value);
      b.startObject(2);
      // TextEntry.value (id 1), TextEntry.name (id 0)
      if (value !== 0) b.addFieldOffset(1, value, 0);
      b.addFieldOffset(0, name, 0);
      _offsets.push(b.endObject());
    }
    b.startVector(4, n, 4);
    for (let i = base + n - 1; i >= base; i--) b.addOffset(_offsets[i]!);
    return b.endVector();
  } finally {
    _offsets.length = base;
  }
}
