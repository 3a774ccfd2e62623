// Unit tests of ChunkReader: exact reads, zero-copy fast path, end/fail, backpressure signals.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ChunkReader, ConcurrentReadError } from "./chunk_reader.ts";
import { UnexpectedEofError } from "./types.ts";

test("ChunkReader.readExactly() returns a view of the pushed chunk when one chunk holds the read", async () => {
  const reader = new ChunkReader();
  const chunk = new Uint8Array([1, 2, 3, 4, 5]);
  reader.push(chunk);
  const head = await reader.readExactly(2);
  const rest = await reader.readExactly(3);
  assert.equal(head?.buffer, chunk.buffer);
  assert.deepEqual(head, new Uint8Array([1, 2]));
  assert.deepEqual(rest, new Uint8Array([3, 4, 5]));
  assert.equal(reader.buffered, 0);
});

test("ChunkReader.readExactly() waits for and assembles bytes pushed later in pieces", async () => {
  const reader = new ChunkReader();
  const read = reader.readExactly(4);
  reader.push(new Uint8Array([1]));
  reader.push(new Uint8Array([2, 3]));
  reader.push(new Uint8Array([4, 5]));
  assert.deepEqual(await read, new Uint8Array([1, 2, 3, 4]));
  assert.equal(reader.buffered, 1);
});

test("ChunkReader.readExactly() resolves null at a clean end and rejects a partial read", async () => {
  const reader = new ChunkReader();
  const pending = reader.readExactly(2);
  reader.end();
  assert.equal(await pending, null);
  const partial = new ChunkReader();
  partial.push(new Uint8Array([1]));
  partial.end();
  await assert.rejects(partial.readExactly(2), UnexpectedEofError);
});

test("ChunkReader.fail() keeps buffered bytes readable, then rejects with the error", async () => {
  const reader = new ChunkReader();
  reader.push(new Uint8Array([7]));
  const error = new Error("reset");
  reader.fail(error);
  assert.deepEqual(await reader.readExactly(1), new Uint8Array([7]));
  await assert.rejects(reader.readExactly(1), (e) => e === error);
});

test("ChunkReader.readExactly() rejects a second read while one is pending", async () => {
  const reader = new ChunkReader();
  const first = reader.readExactly(1);
  await assert.rejects(reader.readExactly(1), ConcurrentReadError);
  reader.push(new Uint8Array([1]));
  assert.deepEqual(await first, new Uint8Array([1]));
});

test("ChunkReader asks to pause past the high-water mark beyond the pending read and to resume when drained", async () => {
  const calls: string[] = [];
  const reader = new ChunkReader({
    highWaterMark: 4,
    onPause: () => calls.push("pause"),
    onResume: () => calls.push("resume"),
  });
  reader.push(new Uint8Array(4));
  assert.deepEqual(calls, []);
  reader.push(new Uint8Array(2));
  assert.deepEqual(calls, ["pause"]);
  // A pending read larger than what is buffered widens the window: resume.
  const big = reader.readExactly(10);
  assert.deepEqual(calls, ["pause", "resume"]);
  reader.push(new Uint8Array(4));
  assert.equal((await big)?.byteLength, 10);
  reader.push(new Uint8Array(5));
  assert.deepEqual(calls, ["pause", "resume", "pause"]);
  await reader.readExactly(1);
  assert.deepEqual(calls, ["pause", "resume", "pause", "resume"]);
});

test("ChunkReader.readExactly() stays correct across thousands of one-byte chunks", async () => {
  const reader = new ChunkReader();
  for (let i = 0; i < 5000; i++) reader.push(new Uint8Array([i & 0xff]));
  for (let i = 0; i < 5000; i += 5) {
    const bytes = await reader.readExactly(5);
    assert.deepEqual(bytes, new Uint8Array([i, i + 1, i + 2, i + 3, i + 4].map((v) => v & 0xff)));
  }
});
