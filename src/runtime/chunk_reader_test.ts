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

/** A frame: type byte, 24-bit big-endian length, payload. */
function frame(type: number, payload: number[]): Uint8Array {
  const n = payload.length;
  return new Uint8Array([type, n >>> 16, (n >>> 8) & 0xff, n & 0xff, ...payload]);
}

test("ChunkReader.serveFrames() calls the handler synchronously inside push() and writes its reply", async () => {
  const reader = new ChunkReader();
  const seen: string[] = [];
  const written: number[][] = [];
  const served = reader.serveFrames((type, payload) => {
    seen.push(`${type}:${[...payload]}`);
    return new Uint8Array([type + 10]);
  }, (reply) => {
    written.push([...reply]);
    return undefined;
  });
  const both = new Uint8Array([...frame(2, [1, 2]), ...frame(4, [])]);
  reader.push(both);
  assert.deepEqual(seen, ["2:1,2", "4:"]);
  assert.deepEqual(written, [[12], [14]]);
  reader.end();
  await served;
});

test("ChunkReader.serveFrames() assembles frames split across chunks, header included", () => {
  const reader = new ChunkReader();
  const seen: number[][] = [];
  reader.serveFrames((_type, payload) => {
    seen.push([...payload]);
    return new Uint8Array(0);
  }, () => undefined);
  const bytes = frame(3, [9, 8, 7, 6, 5]);
  for (const byte of bytes) reader.push(new Uint8Array([byte]));
  assert.deepEqual(seen, [[9, 8, 7, 6, 5]]);
});

test("ChunkReader.serveFrames() holds frames while a handler waits and serves readExactly() meanwhile", async () => {
  const reader = new ChunkReader();
  const order: string[] = [];
  let answer!: Promise<Uint8Array | null>;
  const served = reader.serveFrames((type) => {
    order.push(`frame ${type}`);
    if (type !== 2) return new Uint8Array([type]);
    // Like an ExtraInfo round trip: read the answer from the same stream, then reply.
    answer = reader.readExactly(3).then((bytes) => {
      order.push(`answer ${[...bytes!]}`);
      return new Uint8Array([2]);
    });
    return answer;
  }, (reply) => {
    order.push(`reply ${reply[0]}`);
    return undefined;
  });
  reader.push(frame(2, []));
  // The next frame arrives before the answer has been read: it must wait its turn.
  reader.push(new Uint8Array([7, 7, 7, ...frame(1, [])]));
  await answer;
  await Promise.resolve();
  reader.end();
  await served;
  assert.deepEqual(order, ["frame 2", "answer 7,7,7", "reply 2", "frame 1", "reply 1"]);
});

test("ChunkReader.serveFrames() waits for a write that asks it to before the next frame", async () => {
  const reader = new ChunkReader();
  const seen: number[] = [];
  let release!: () => void;
  reader.serveFrames((type) => {
    seen.push(type);
    return new Uint8Array([type]);
  }, () => new Promise<void>((resolve) => release = resolve));
  reader.push(new Uint8Array([...frame(1, []), ...frame(2, [])]));
  assert.deepEqual(seen, [1]);
  release();
  await Promise.resolve();
  assert.deepEqual(seen, [1, 2]);
});

test("ChunkReader.serveFrames() stops on a null reply and on a clean end", async () => {
  const reader = new ChunkReader();
  const seen: number[] = [];
  const served = reader.serveFrames((type) => {
    seen.push(type);
    return null;
  }, () => undefined);
  reader.push(new Uint8Array([...frame(1, []), ...frame(2, [])]));
  await served;
  assert.deepEqual(seen, [1]);
  const idle = new ChunkReader();
  const ended = idle.serveFrames(() => null, () => undefined);
  idle.end();
  await ended;
});

test("ChunkReader.serveFrames() rejects with UnexpectedEofError when the stream ends inside a frame", async () => {
  for (const partial of [[2, 0], [2, 0, 0, 5, 1, 2]]) {
    const reader = new ChunkReader();
    const served = reader.serveFrames(() => null, () => undefined);
    reader.push(new Uint8Array(partial));
    reader.end();
    await assert.rejects(served, UnexpectedEofError);
  }
});

test("ChunkReader.serveFrames() rejects with the handler's, the writer's or the stream's error", async () => {
  const boom = new Error("boom");
  const thrower = new ChunkReader();
  const a = thrower.serveFrames(() => {
    throw boom;
  }, () => undefined);
  thrower.push(frame(1, []));
  await assert.rejects(a, (e) => e === boom);
  const writer = new ChunkReader();
  const b = writer.serveFrames(() => new Uint8Array(1), () => {
    throw boom;
  });
  writer.push(frame(1, []));
  await assert.rejects(b, (e) => e === boom);
  const failing = new ChunkReader();
  const c = failing.serveFrames(() => new Uint8Array(1), () => undefined);
  failing.fail(boom);
  await assert.rejects(c, (e) => e === boom);
});

test("ChunkReader.pushRange() buffers only the given range, across reads and frames", async () => {
  const reader = new ChunkReader();
  const slab = new Uint8Array([9, 9, 1, 2, 3, 9, 4, 5, 9]);
  reader.pushRange(slab, 2, 5);
  reader.pushRange(slab, 6, 8);
  assert.equal(reader.buffered, 5);
  const two = await reader.readExactly(2);
  assert.deepEqual(two, new Uint8Array([1, 2]));
  assert.equal(two?.buffer, slab.buffer);
  assert.deepEqual(await reader.readExactly(3), new Uint8Array([3, 4, 5]));
  const frames = new ChunkReader();
  const seen: number[][] = [];
  frames.serveFrames((type, payload) => {
    seen.push([type, ...payload]);
    return new Uint8Array(0);
  }, () => undefined);
  const bytes = new Uint8Array([7, 2, 0, 0, 2, 8, 9, 7]);
  frames.pushRange(bytes, 1, 4);
  frames.pushRange(bytes, 4, 7);
  assert.deepEqual(seen, [[2, 8, 9]]);
});

test("ChunkReader.serveFrames() keeps reading a frame larger than the high-water mark", () => {
  const calls: string[] = [];
  const reader = new ChunkReader({
    highWaterMark: 8,
    onPause: () => calls.push("pause"),
    onResume: () => calls.push("resume"),
  });
  const sizes: number[] = [];
  reader.serveFrames((_type, payload) => {
    sizes.push(payload.length);
    return new Uint8Array(0);
  }, () => undefined);
  const big = frame(2, Array.from({ length: 100 }, (_, i) => i));
  for (let i = 0; i < big.length; i += 10) reader.push(big.subarray(i, i + 10));
  assert.deepEqual(sizes, [100]);
  assert.deepEqual(calls, []);
  // A second big frame arriving in one piece, beyond the mark, still gets served.
  reader.push(new Uint8Array([...big, ...big]));
  assert.deepEqual(sizes, [100, 100, 100]);
  assert.equal(reader.paused, false);
});

test("ChunkReader.readFrame() returns a buffered frame and waits for one pushed later in pieces", async () => {
  const reader = new ChunkReader();
  reader.push(new Uint8Array([4, 0, 0, 2, 7, 8, 9]));
  assert.deepEqual(await reader.readFrame(), { type: 4, payload: new Uint8Array([7, 8]) });
  const read = reader.readFrame();
  reader.push(new Uint8Array([0, 0]));
  reader.push(new Uint8Array([3, 1, 2]));
  reader.push(new Uint8Array([3, 5]));
  assert.deepEqual(await read, { type: 9, payload: new Uint8Array([1, 2, 3]) });
  assert.equal(reader.buffered, 1);
  reader.push(new Uint8Array([0, 0, 0]));
  assert.deepEqual(await reader.readFrame(), { type: 5, payload: new Uint8Array(0) });
});

test("ChunkReader.readFrame() ends like readExactly(4) then readExactly(length)", async () => {
  const clean = new ChunkReader();
  const pending = clean.readFrame();
  clean.end();
  assert.equal(await pending, null);

  const inHeader = new ChunkReader();
  inHeader.push(new Uint8Array([4, 0]));
  inHeader.end();
  await assert.rejects(inHeader.readFrame(), (e) => e instanceof UnexpectedEofError);

  const afterHeader = new ChunkReader();
  const waiting = afterHeader.readFrame();
  afterHeader.push(new Uint8Array([4, 0, 0, 3]));
  afterHeader.end();
  assert.deepEqual(await waiting, { type: 4, payload: null });

  const inPayload = new ChunkReader();
  inPayload.push(new Uint8Array([4, 0, 0, 3, 1]));
  inPayload.end();
  const twoReads = new ChunkReader();
  twoReads.push(new Uint8Array([4, 0, 0, 3, 1]));
  twoReads.end();
  await twoReads.readExactly(4);
  const expected = await twoReads.readExactly(3).catch((e: Error) => e.message);
  const got = await inPayload.readFrame().catch((e: Error) => e.message);
  assert.equal(got, expected);

  const failed = new ChunkReader();
  const failing = failed.readFrame();
  failed.fail(new Error("socket reset"));
  await assert.rejects(failing, /socket reset/);
});

test("ChunkReader.readFrame() rejects while another read is pending", async () => {
  const reader = new ChunkReader();
  const first = reader.readExactly(2);
  await assert.rejects(reader.readFrame(), ConcurrentReadError);
  reader.push(new Uint8Array([1, 2]));
  assert.deepEqual(await first, new Uint8Array([1, 2]));
});
