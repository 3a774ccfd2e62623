// Unit tests of FrameReader: frames however the stream is cut, zero-copy payloads, end/fail, backpressure.

import assert from "node:assert/strict";
import { test } from "node:test";
import { UnexpectedEofError } from "./errors.ts";
import { FrameReader } from "./frame_reader.ts";

/** A frame: type byte, 24-bit big-endian length, payload. */
function frame(type: number, payload: number[]): Uint8Array {
  const n = payload.length;
  return new Uint8Array([type, n >>> 16, (n >>> 8) & 0xff, n & 0xff, ...payload]);
}

function push(reader: FrameReader, bytes: Uint8Array): void {
  reader.push(bytes, 0, bytes.length);
}

test("FrameReader.next() returns a view of the pushed chunk when one chunk holds the payload", async () => {
  const reader = new FrameReader();
  const chunk = new Uint8Array([...frame(2, [1, 2]), ...frame(3, [3, 4, 5])]);
  push(reader, chunk);
  const first = await reader.next();
  const second = await reader.next();
  assert.equal(first?.payload.buffer, chunk.buffer);
  assert.deepEqual(first, { type: 2, payload: new Uint8Array([1, 2]) });
  assert.deepEqual(second, { type: 3, payload: new Uint8Array([3, 4, 5]) });
  assert.equal(reader.buffered, 0);
});

test("FrameReader.next() returns a buffered frame and waits for one pushed later in pieces", async () => {
  const reader = new FrameReader();
  push(reader, new Uint8Array([4, 0, 0, 2, 7, 8, 9]));
  assert.deepEqual(await reader.next(), { type: 4, payload: new Uint8Array([7, 8]) });
  const read = reader.next();
  push(reader, new Uint8Array([0, 0]));
  push(reader, new Uint8Array([3, 1, 2]));
  push(reader, new Uint8Array([3, 5]));
  assert.deepEqual(await read, { type: 9, payload: new Uint8Array([1, 2, 3]) });
  assert.equal(reader.buffered, 1);
  push(reader, new Uint8Array([0, 0, 0]));
  assert.deepEqual(await reader.next(), { type: 5, payload: new Uint8Array(0) });
});

test("FrameReader.next() resolves null at a clean end and rejects a frame cut in its header or payload", async () => {
  const clean = new FrameReader();
  const pending = clean.next();
  clean.end();
  assert.equal(await pending, null);
  for (const partial of [[4, 0], [4, 0, 0, 3], [4, 0, 0, 3, 1]]) {
    const reader = new FrameReader();
    push(reader, new Uint8Array(partial));
    reader.end();
    await assert.rejects(reader.next(), UnexpectedEofError, String(partial));
  }
  const waiting = new FrameReader();
  const cut = waiting.next();
  push(waiting, new Uint8Array([4, 0, 0, 3, 1]));
  waiting.end();
  await assert.rejects(cut, /after 5 of 7 bytes/);
});

test("FrameReader.fail() keeps buffered frames readable, then rejects with the error", async () => {
  const reader = new FrameReader();
  push(reader, frame(1, [7]));
  const error = new Error("reset");
  reader.fail(error);
  assert.deepEqual(await reader.next(), { type: 1, payload: new Uint8Array([7]) });
  await assert.rejects(reader.next(), (e) => e === error);
});

test("FrameReader.next() rejects a second read while one is pending", async () => {
  const reader = new FrameReader();
  const first = reader.next();
  await assert.rejects(reader.next(), /already waiting/);
  push(reader, frame(1, []));
  assert.deepEqual(await first, { type: 1, payload: new Uint8Array(0) });
});

test("FrameReader asks to pause past the high-water mark beyond the frame being read and to resume when drained", async () => {
  const calls: string[] = [];
  const reader = new FrameReader({
    highWaterMark: 4,
    onPause: () => calls.push("pause"),
    onResume: () => calls.push("resume"),
  });
  push(reader, frame(1, [1, 2, 3]));
  assert.deepEqual(calls, ["pause"]);
  await reader.next();
  assert.deepEqual(calls, ["pause", "resume"]);
  // Half of a 10-byte frame, nobody reading yet: past the mark.
  push(reader, frame(2, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]).subarray(0, 9));
  assert.deepEqual(calls, ["pause", "resume", "pause"]);
  // A read of that frame widens the window to the frame plus the mark: resume.
  const big = reader.next();
  assert.deepEqual(calls, ["pause", "resume", "pause", "resume"]);
  push(reader, new Uint8Array([5, 6, 7, 8, 9]));
  assert.equal((await big)?.payload.length, 10);
});

test("FrameReader stays correct across thousands of one-byte chunks", async () => {
  const reader = new FrameReader();
  const bytes: number[] = [];
  for (let i = 0; i < 1000; i++) bytes.push(...frame(i & 0x7f, [i & 0xff, (i + 1) & 0xff]));
  for (const byte of bytes) push(reader, new Uint8Array([byte]));
  for (let i = 0; i < 1000; i++) {
    assert.deepEqual(await reader.next(), {
      type: i & 0x7f,
      payload: new Uint8Array([i & 0xff, (i + 1) & 0xff]),
    });
  }
});

test("FrameReader.serve() calls the handler synchronously inside push() and writes its reply", async () => {
  const reader = new FrameReader();
  const seen: string[] = [];
  const written: number[][] = [];
  const served = reader.serve((type, payload) => {
    seen.push(`${type}:${[...payload]}`);
    return new Uint8Array([type + 10]);
  }, (reply) => {
    written.push([...reply]);
    return undefined;
  });
  push(reader, new Uint8Array([...frame(2, [1, 2]), ...frame(4, [])]));
  assert.deepEqual(seen, ["2:1,2", "4:"]);
  assert.deepEqual(written, [[12], [14]]);
  reader.end();
  await served;
});

test("FrameReader.serve() assembles frames split across chunks, header included", () => {
  const reader = new FrameReader();
  const seen: number[][] = [];
  reader.serve((_type, payload) => {
    seen.push([...payload]);
    return new Uint8Array(0);
  }, () => undefined);
  for (const byte of frame(3, [9, 8, 7, 6, 5])) push(reader, new Uint8Array([byte]));
  assert.deepEqual(seen, [[9, 8, 7, 6, 5]]);
});

test("FrameReader.serve() reads headers cut at any byte, with types up to 0xFF and lengths past 16 bits", () => {
  const big = new Array<number>(0x010203).fill(7);
  const stream = new Uint8Array([...frame(0xff, [1]), ...frame(0x80, big), ...frame(1, [])]);
  // Cuts at every byte around each header, and through the long payload.
  const cuts = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x8000, stream.length - 4, stream.length - 2];
  for (const cut of cuts) {
    const reader = new FrameReader();
    const seen: string[] = [];
    reader.serve((type, payload) => {
      seen.push(`${type}:${payload.length}:${payload[0]}`);
      return new Uint8Array(0);
    }, () => undefined);
    push(reader, stream.subarray(0, cut));
    push(reader, stream.subarray(cut));
    assert.deepEqual(seen, ["255:1:1", `128:${0x010203}:7`, "1:0:undefined"], `cut at ${cut}`);
  }
});

test("FrameReader.serve() holds frames while a handler waits and serves next() meanwhile", async () => {
  const reader = new FrameReader();
  const order: string[] = [];
  let answer!: Promise<Uint8Array | null>;
  const served = reader.serve((type) => {
    order.push(`frame ${type}`);
    if (type !== 2) return new Uint8Array([type]);
    // Like an ExtraInfo round trip: read the answer from the same stream, then reply.
    answer = reader.next().then((read) => {
      order.push(`answer ${[...read!.payload]}`);
      return new Uint8Array([2]);
    });
    return answer;
  }, (reply) => {
    order.push(`reply ${reply[0]}`);
    return undefined;
  });
  push(reader, frame(2, []));
  // The next call arrives right behind the answer: it must wait its turn.
  push(reader, new Uint8Array([...frame(3, [7, 7, 7]), ...frame(1, [])]));
  await answer;
  await Promise.resolve();
  reader.end();
  await served;
  assert.deepEqual(order, ["frame 2", "answer 7,7,7", "reply 2", "frame 1", "reply 1"]);
});

test("FrameReader.serve() waits for a write that asks it to before the next frame", async () => {
  const reader = new FrameReader();
  const seen: number[] = [];
  let release!: () => void;
  reader.serve((type) => {
    seen.push(type);
    return new Uint8Array([type]);
  }, () => new Promise<void>((resolve) => release = resolve));
  push(reader, new Uint8Array([...frame(1, []), ...frame(2, [])]));
  assert.deepEqual(seen, [1]);
  release();
  await Promise.resolve();
  assert.deepEqual(seen, [1, 2]);
});

test("FrameReader.serve() stops on a null reply and on a clean end", async () => {
  const reader = new FrameReader();
  const seen: number[] = [];
  const served = reader.serve((type) => {
    seen.push(type);
    return null;
  }, () => undefined);
  push(reader, new Uint8Array([...frame(1, []), ...frame(2, [])]));
  await served;
  assert.deepEqual(seen, [1]);
  const idle = new FrameReader();
  const ended = idle.serve(() => null, () => undefined);
  idle.end();
  await ended;
});

test("FrameReader.serve() rejects with UnexpectedEofError when the stream ends inside a frame", async () => {
  for (const partial of [[2, 0], [2, 0, 0, 5, 1, 2]]) {
    const reader = new FrameReader();
    const served = reader.serve(() => null, () => undefined);
    push(reader, new Uint8Array(partial));
    reader.end();
    await assert.rejects(served, UnexpectedEofError);
  }
});

test("FrameReader.serve() rejects with the handler's, the writer's or the stream's error", async () => {
  const boom = new Error("boom");
  const thrower = new FrameReader();
  const a = thrower.serve(() => {
    throw boom;
  }, () => undefined);
  push(thrower, frame(1, []));
  await assert.rejects(a, (e) => e === boom);
  const writer = new FrameReader();
  const b = writer.serve(() => new Uint8Array(1), () => {
    throw boom;
  });
  push(writer, frame(1, []));
  await assert.rejects(b, (e) => e === boom);
  const failing = new FrameReader();
  const c = failing.serve(() => new Uint8Array(1), () => undefined);
  failing.fail(boom);
  await assert.rejects(c, (e) => e === boom);
});

test("FrameReader.push() buffers only the given range, across frames", async () => {
  const reader = new FrameReader();
  const slab = new Uint8Array([9, 9, 1, 0, 0, 9, 2, 5, 6, 9]);
  reader.push(slab, 2, 5);
  reader.push(slab, 6, 9);
  assert.equal(reader.buffered, 6);
  const read = await reader.next();
  assert.deepEqual(read, { type: 1, payload: new Uint8Array([5, 6]) });
  assert.equal(read?.payload.buffer, slab.buffer);
});

test("FrameReader.serve() keeps reading a frame larger than the high-water mark", () => {
  const calls: string[] = [];
  const reader = new FrameReader({
    highWaterMark: 8,
    onPause: () => calls.push("pause"),
    onResume: () => calls.push("resume"),
  });
  const sizes: number[] = [];
  reader.serve((_type, payload) => {
    sizes.push(payload.length);
    return new Uint8Array(0);
  }, () => undefined);
  const big = frame(2, Array.from({ length: 100 }, (_, i) => i));
  for (let i = 0; i < big.length; i += 10) push(reader, big.subarray(i, i + 10));
  assert.deepEqual(sizes, [100]);
  assert.deepEqual(calls, []);
  // A second big frame arriving in one piece, beyond the mark, still gets served.
  push(reader, new Uint8Array([...big, ...big]));
  assert.deepEqual(sizes, [100, 100, 100]);
  assert.equal(reader.paused, false);
});
