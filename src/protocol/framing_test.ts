// Tests of the framing: header encode/decode, whole frames, the 0xFFFFFF bound, frames read from bytes.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  decodeFrameHeader,
  encodeFrame,
  encodeFrameHeader,
  FrameReader,
  FrameTooLargeError,
  MAX_PAYLOAD_SIZE,
  UnexpectedEofError,
} from "./mod.ts";

/** A reader holding exactly `bytes`, then the end of the stream. */
function readerOf(bytes: number[]): FrameReader {
  const reader = new FrameReader();
  reader.push(new Uint8Array(bytes), 0, bytes.length);
  reader.end();
  return reader;
}

describe("frame header", () => {
  test("encodeFrameHeader() writes the type and a big-endian 24-bit length", () => {
    assert.deepEqual(encodeFrameHeader(2, 0x0103e8), new Uint8Array([2, 1, 3, 0xe8]));
    assert.deepEqual(encodeFrameHeader(0, 0), new Uint8Array([0, 0, 0, 0]));
  });

  test("encodeFrameHeader() accepts 0xFFFFFF and decodeFrameHeader() reads it back", () => {
    const header = encodeFrameHeader(4, MAX_PAYLOAD_SIZE);
    assert.deepEqual(header, new Uint8Array([4, 0xff, 0xff, 0xff]));
    assert.deepEqual(decodeFrameHeader(header), { type: 4, length: 0xFFFFFF });
  });

  test("encodeFrameHeader() throws FrameTooLargeError at 0x1000000 and carries the size", () => {
    assert.throws(() => encodeFrameHeader(1, 0x1000000), (e: unknown) => {
      assert.ok(e instanceof FrameTooLargeError);
      assert.equal(e.size, 0x1000000);
      assert.match(e.message, /16777216/);
      return true;
    });
  });

  test("decodeFrameHeader() reads type and length", () => {
    assert.deepEqual(decodeFrameHeader(new Uint8Array([3, 0, 1, 0])), { type: 3, length: 256 });
  });
});

describe("FrameReader.next()", () => {
  test("FrameReader.next() reads consecutive frames then null at a clean EOF", async () => {
    const reader = readerOf([1, 0, 0, 2, 9, 8, 2, 0, 0, 0, 3, 0, 0, 1, 7]);
    assert.deepEqual(await reader.next(), { type: 1, payload: new Uint8Array([9, 8]) });
    assert.deepEqual(await reader.next(), { type: 2, payload: new Uint8Array(0) });
    assert.deepEqual(await reader.next(), { type: 3, payload: new Uint8Array([7]) });
    assert.equal(await reader.next(), null);
  });

  test("FrameReader.next() rejects with UnexpectedEofError when the payload is cut short", async () => {
    await assert.rejects(readerOf([2, 0, 0, 10, 1, 2, 3]).next(), UnexpectedEofError);
  });

  test("FrameReader.next() rejects with UnexpectedEofError when the peer closes after the header", async () => {
    await assert.rejects(readerOf([2, 0, 0, 10]).next(), UnexpectedEofError);
  });

  test("FrameReader.next() rejects with UnexpectedEofError when the header is cut short", async () => {
    await assert.rejects(readerOf([2, 0]).next(), UnexpectedEofError);
  });
});

describe("encodeFrame()", () => {
  test("encodeFrame() puts header and payload in one array", () => {
    const payload = new Uint8Array([5, 6, 7]);
    assert.deepEqual(encodeFrame(2, payload), new Uint8Array([2, 0, 0, 3, 5, 6, 7]));
  });

  test("encodeFrame() throws FrameTooLargeError above 0xFFFFFF", () => {
    assert.throws(() => encodeFrame(2, new Uint8Array(0x1000000)), FrameTooLargeError);
  });

  test("encodeFrame() accepts a payload of exactly 0xFFFFFF bytes", () => {
    const frame = encodeFrame(4, new Uint8Array(MAX_PAYLOAD_SIZE));
    assert.deepEqual(frame.subarray(0, 4), new Uint8Array([4, 0xff, 0xff, 0xff]));
    assert.equal(frame.length, 4 + MAX_PAYLOAD_SIZE);
  });
});
