// Building blocks of the encoders: a payload from a build function, byte vectors, TextEntry vectors.

import { FrameTooLargeError } from "./errors.ts";
import { FlatBuilder } from "./flat_builder.ts";
import { MAX_PAYLOAD_SIZE, type TextEntry } from "./types.ts";

/** A schema table's encoder: writes `msg` into `b` and returns its root table's offset. */
export type BuildTable<T> = (b: FlatBuilder, msg: T) => number;

/**
 * Runs `build` on a fresh builder, finishes the buffer with the returned root
 * table and returns the payload bytes. The payload encoders of the APISIX side
 * and of tests use it; the runner's replies go through a `FrameEncoder`.
 *
 * @throws {FrameTooLargeError} when the payload exceeds {@linkcode MAX_PAYLOAD_SIZE}.
 */
export function encodePayload<T>(msg: T, build: BuildTable<T>): Uint8Array {
  const b = new FlatBuilder(256);
  b.finish(build(b, msg));
  const length = b.offset();
  if (length > MAX_PAYLOAD_SIZE) throw new FrameTooLargeError(length);
  return b.copyOut(0);
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
  const offsets = b.offsets;
  const base = offsets.length;
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
      offsets.push(b.endObject());
    }
    b.startVector(4, n, 4);
    for (let i = base + n - 1; i >= base; i--) b.addOffset(offsets[i]!);
    return b.endVector();
  } finally {
    offsets.length = base;
  }
}
