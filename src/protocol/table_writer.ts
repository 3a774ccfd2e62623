// Shared FlatBuffer building for the encoders: one reused Builder, TextEntry vectors, size limit.

import { Builder } from "flatbuffers";
import { FrameTooLargeError } from "./errors.ts";
import { MAX_PAYLOAD_SIZE, type TextEntry } from "./types.ts";

// A reply larger than this does not stay cached in the shared builder.
const _MAX_KEPT_CAPACITY = 1 << 20;

let _shared: Builder | undefined;
let _busy = false;
// Stack of table offsets for TextEntry vectors; reentrant by remembering its base.
const _offsets: number[] = [];

/**
 * Runs `build` on a cleared Builder, finishes the buffer with the returned root
 * table and returns a copy of the bytes that the caller owns. Encoding is
 * synchronous, so one Builder is reused; a nested call gets a fresh one.
 *
 * @throws {FrameTooLargeError} when the payload exceeds {@linkcode MAX_PAYLOAD_SIZE}.
 */
export function encodePayload<T>(msg: T, build: (b: Builder, msg: T) => number): Uint8Array {
  if (_busy) return _encodeWith(new Builder(256), msg, build);
  _busy = true;
  const b = _shared ??= new Builder(1024);
  try {
    b.clear();
    return _encodeWith(b, msg, build);
  } finally {
    if (b.dataBuffer().capacity() > _MAX_KEPT_CAPACITY) _shared = undefined;
    _busy = false;
  }
}

function _encodeWith<T>(b: Builder, msg: T, build: (b: Builder, msg: T) => number): Uint8Array {
  b.finish(build(b, msg));
  const bytes = b.asUint8Array();
  if (bytes.length > MAX_PAYLOAD_SIZE) throw new FrameTooLargeError(bytes.length);
  return bytes.slice();
}

/** Writes a `[ubyte]` vector (bulk copy); fails fast when it alone cannot fit a frame. */
export function createBytes(b: Builder, bytes: Uint8Array): number {
  const size = b.offset() + bytes.length;
  if (size > MAX_PAYLOAD_SIZE) throw new FrameTooLargeError(size);
  return b.createByteVector(bytes);
}

/**
 * Writes an `[A6.TextEntry]` vector: `name` always, `value` only when not
 * `undefined` (absent ≠ empty).
 */
export function createTextEntries(b: Builder, entries: readonly TextEntry[]): number {
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
