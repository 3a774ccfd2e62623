// FlatBuilder writes exactly the bytes of the flatbuffers package's Builder, and frames come out whole.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Builder } from "flatbuffers";
import { FlatBuilder } from "./flat_builder.ts";
import { FrameEncoder } from "./encoder.ts";
import { createBytes, createTextEntries } from "./table_writer.ts";
import { decodeHttpReqCallResponse, encodeHttpReqCallResponse } from "./mod.ts";
import { FrameType, type TextEntry } from "./types.ts";

interface Sample {
  id: number;
  small: number;
  flag: number;
  name: string | undefined;
  entries: TextEntry[];
  body: Uint8Array | undefined;
  tables: number;
}

/** Builds the same table with either builder: every kind of field the codec writes. */
function build(b: FlatBuilder, s: Sample): number {
  const body = s.body === undefined ? 0 : createBytes(b, s.body);
  const entries = createTextEntries(b, s.entries);
  const name = s.name === undefined ? 0 : b.createString(s.name);
  // A few empty tables in a row exercise vtable sharing.
  const inner: number[] = [];
  for (let i = 0; i < s.tables; i++) {
    b.startObject(2);
    b.addFieldInt16(1, i, 0);
    inner.push(b.endObject());
  }
  b.startVector(4, inner.length, 4);
  for (let i = inner.length - 1; i >= 0; i--) b.addOffset(inner[i]!);
  const tables = b.endVector();
  b.startObject(7);
  b.addFieldOffset(6, tables, 0);
  b.addFieldOffset(5, body, 0);
  b.addFieldOffset(4, entries, 0);
  b.addFieldOffset(3, name, 0);
  b.addFieldInt32(0, s.id, 0);
  b.addFieldInt16(1, s.small, 0);
  b.addFieldInt8(2, s.flag, 0);
  return b.endObject();
}

const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: "grapheme", maxLength: 12 }));
const sample: fc.Arbitrary<Sample> = fc.record({
  id: fc.integer({ min: 0, max: 0xFFFFFFFF }),
  small: fc.integer({ min: 0, max: 0xFFFF }),
  flag: fc.integer({ min: 0, max: 255 }),
  name: fc.option(fc.oneof(text, fc.string({ minLength: 250, maxLength: 400 })), {
    nil: undefined,
  }),
  entries: fc.array(
    fc.record({ name: text, value: fc.option(text, { nil: undefined }) }),
    { maxLength: 12 },
  ),
  body: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: undefined }),
  tables: fc.integer({ min: 0, max: 4 }),
});

describe("FlatBuilder", () => {
  test("FlatBuilder writes the same bytes as the flatbuffers Builder", () => {
    const ours = new FlatBuilder(16);
    fc.assert(
      fc.property(sample, (s) => {
        ours.clear();
        ours.finish(build(ours, s));
        // The reference gets the scratch stack our TextEntry vectors use; its bytes are its own.
        const theirs = Object.assign(new Builder(16), { offsets: [] as number[] });
        theirs.finish(build(theirs as unknown as FlatBuilder, s));
        assert.deepEqual(ours.asUint8Array(), theirs.asUint8Array());
      }),
      { numRuns: 300 },
    );
  });

  test("FlatBuilder.clear() keeps no state of the previous buffer", () => {
    const b = new FlatBuilder(8);
    const s: Sample = {
      id: 7,
      small: 1,
      flag: 2,
      name: "x",
      entries: [{ name: "a", value: "1" }],
      body: new Uint8Array([1, 2, 3]),
      tables: 2,
    };
    b.finish(build(b, s));
    const first = b.asUint8Array().slice();
    b.clear();
    b.finish(build(b, s));
    assert.deepEqual(b.asUint8Array(), first);
  });

  test("FrameEncoder returns the frame header followed by the payload", () => {
    const msg = {
      id: 3,
      action: { type: "stop" as const, status: 403, body: new Uint8Array([104, 105]) },
    };
    const frame = new FrameEncoder().httpReqCallResponse(msg);
    const payload = encodeHttpReqCallResponse(msg);
    assert.equal(frame[0], FrameType.HttpReqCall);
    assert.equal((frame[1]! << 16) | (frame[2]! << 8) | frame[3]!, payload.length);
    assert.deepEqual(frame.subarray(4), payload);
    assert.equal(decodeHttpReqCallResponse(frame.subarray(4)).id, 3);
  });

  test("FrameEncoder.frame() never reuses the memory of an earlier frame", () => {
    const encoder = new FrameEncoder();
    const build = (b: FlatBuilder, n: number) => {
      b.startObject(1);
      b.addFieldInt32(0, n, 0);
      return b.endObject();
    };
    const frames: Uint8Array[] = [];
    const copies: Uint8Array[] = [];
    // Enough frames to fill several slabs, plus large ones that get their own memory.
    for (let i = 1; i <= 20_000; i++) {
      // Large frames: copied out (no hint) or built in their own memory (size hint).
      const frame = i % 1000 === 0
        ? encoder.frame(4, new Uint8Array(10_000 + i).fill(i & 0xff), (b, bytes: Uint8Array) => {
          const v = createBytes(b, bytes);
          b.startObject(4);
          b.addFieldOffset(3, v, 0);
          return b.endObject();
        }, i % 2000 === 0 ? 10_000 + i : 0)
        : encoder.frame(1, i, build);
      frames.push(frame);
      copies.push(frame.slice());
    }
    for (let i = 0; i < frames.length; i++) assert.deepEqual(frames[i], copies[i]);
  });
});
