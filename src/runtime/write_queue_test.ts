// Unit tests of WriteQueue and SinkSlot: order, partial and asynchronous sends, backpressure, close.

import assert from "node:assert/strict";
import { test } from "node:test";
import { SinkSlot } from "./sink_slot.ts";
import { SocketClosedError } from "./errors.ts";
import { WriteQueue } from "./write_queue.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

test("WriteQueue.write() sends at once and returns undefined under the high-water mark", () => {
  const sent: number[][] = [];
  const queue = new WriteQueue((chunk) => (sent.push([...chunk]), chunk.byteLength), 4);
  assert.equal(queue.write(bytes(1, 2)), undefined);
  assert.equal(queue.write(bytes(3)), undefined);
  assert.deepEqual(sent, [[1, 2], [3]]);
  assert.equal(queue.queued, 0);
});

test("WriteQueue keeps what a socket did not take and sends it, with later writes, on drain()", async () => {
  const sent: number[][] = [];
  let room = 3;
  const queue = new WriteQueue((chunk) => {
    const n = Math.min(room, chunk.byteLength);
    room -= n;
    sent.push([...chunk.subarray(0, n)]);
    return n;
  }, 4);
  assert.equal(queue.write(bytes(1, 2, 3, 4, 5)), undefined);
  const waiting = queue.write(bytes(6, 7, 8));
  assert.ok(waiting instanceof Promise, "5 queued bytes, over the mark of 4: wait");
  assert.equal(queue.queued, 5);
  room = 100;
  queue.drain();
  await waiting;
  // The rest of the first write and the second went out together, in order.
  assert.deepEqual(sent, [[1, 2, 3], [4, 5, 6, 7, 8]]);
  assert.equal(queue.queued, 0);
});

test("WriteQueue runs one asynchronous send at a time and continues a partial one", async () => {
  const sent: number[][] = [];
  const pending: ((n: number) => void)[] = [];
  const queue = new WriteQueue((chunk) => {
    sent.push([...chunk]);
    return new Promise<number>((resolve) => pending.push(resolve));
  }, 100);
  queue.write(bytes(1, 2, 3));
  queue.write(bytes(4));
  queue.write(bytes(5));
  assert.deepEqual(sent, [[1, 2, 3]]);
  pending.shift()!(2); // took 1 and 2: 3 is sent again, with what waited
  await Promise.resolve();
  assert.deepEqual(sent, [[1, 2, 3], [3, 4, 5]]);
  pending.shift()!(3);
  await Promise.resolve();
  assert.equal(queue.queued, 0);
});

test("WriteQueue keeps the order of a write made from inside a send (a peer answering at once)", async () => {
  /** The values sent, one per run of equal bytes. */
  const runs: number[] = [];
  let release: (() => void) | undefined;
  const queue: WriteQueue = new WriteQueue((chunk) => {
    if (release === undefined) {
      // The first send stays in flight while two large writes queue behind it.
      return new Promise<number>((resolve) => release = () => resolve(chunk.byteLength));
    }
    for (const value of chunk) if (runs.at(-1) !== value) runs.push(value);
    // The peer answers the first large chunk at once, and the answer makes us write again.
    if (chunk[0] === 1) queue.write(bytes(3));
    return chunk.byteLength;
  }, 1 << 20);
  queue.write(bytes(0));
  // Two chunks over the coalescing limit together: they go out one send each.
  queue.write(new Uint8Array(40_000).fill(1));
  queue.write(new Uint8Array(40_000).fill(2));
  release!();
  await queue.flushed();
  assert.deepEqual(runs, [1, 2, 3]);
});

test("WriteQueue.close() drops what is queued, rejects waiting writers and refuses later writes", async () => {
  const queue = new WriteQueue(() => 0, 1);
  const waiting = queue.write(bytes(1, 2, 3));
  const error = new Error("reset");
  queue.close(error);
  await assert.rejects(waiting!, (e) => e === error);
  assert.throws(() => queue.write(bytes(4)), SocketClosedError);
  assert.equal(queue.queued, 0);
});

test("WriteQueue closes itself when the socket's send throws or rejects", async () => {
  const throwing = new WriteQueue(() => {
    throw new Error("EPIPE");
  }, 0);
  assert.throws(() => throwing.write(bytes(1)), /EPIPE/);
  assert.throws(() => throwing.write(bytes(2)), SocketClosedError);
  const rejecting = new WriteQueue(() => Promise.reject(new Error("EPIPE")), 0);
  const waiting = rejecting.write(bytes(1));
  await assert.rejects(waiting!, /EPIPE/);
});

test("SinkSlot keeps what arrives before attach() and replays it in order", () => {
  const slot = new SinkSlot();
  const seen: string[] = [];
  slot.push(bytes(9, 1, 2, 9), 1, 3);
  slot.end();
  slot.attach({
    push: (chunk, start, end) => seen.push(`push ${[...chunk.subarray(start, end)]}`),
    end: () => seen.push("end"),
    fail: (error) => seen.push(`fail ${error}`),
  });
  slot.fail("late");
  assert.deepEqual(seen, ["push 1,2", "end", "fail late"]);
  assert.throws(() => slot.attach({ push() {}, end() {}, fail() {} }), /already has a receiver/);
});
