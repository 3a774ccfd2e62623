// Tests of the frame header and readFrame/writeFrame over a minimal fake Connection.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Connection } from "../runtime/types.ts";
import { UnexpectedEofError } from "../runtime/types.ts";
import {
  decodeFrameHeader,
  encodeFrameHeader,
  FrameTooLargeError,
  MAX_PAYLOAD_SIZE,
  readFrame,
  writeFrame,
} from "./mod.ts";

/** A Connection reading from fixed bytes and recording writes. */
function fakeConn(input: Uint8Array): Connection & { writes: Uint8Array[][] } {
  let pos = 0;
  const writes: Uint8Array[][] = [];
  return {
    writes,
    readExactly(size: number): Promise<Uint8Array | null> {
      if (size === 0) return Promise.resolve(new Uint8Array(0));
      if (pos >= input.length) return Promise.resolve(null);
      if (pos + size > input.length) {
        const got = input.length - pos;
        pos = input.length;
        return Promise.reject(new UnexpectedEofError(size, got));
      }
      const out = input.slice(pos, pos + size);
      pos += size;
      return Promise.resolve(out);
    },
    write(chunks: readonly Uint8Array[]): Promise<void> {
      writes.push([...chunks]);
      return Promise.resolve();
    },
    serveFrames(): Promise<void> {
      return Promise.reject(new Error("fakeConn does not serve frames"));
    },
    readFrame(): Promise<never> {
      return Promise.reject(new Error("fakeConn does not read whole frames"));
    },
    close() {},
    closed: Promise.resolve(),
  };
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

describe("readFrame()", () => {
  test("readFrame() reads consecutive frames then null at a clean EOF", async () => {
    const conn = fakeConn(new Uint8Array([1, 0, 0, 2, 9, 8, 2, 0, 0, 0, 3, 0, 0, 1, 7]));
    assert.deepEqual(await readFrame(conn), { type: 1, payload: new Uint8Array([9, 8]) });
    assert.deepEqual(await readFrame(conn), { type: 2, payload: new Uint8Array(0) });
    assert.deepEqual(await readFrame(conn), { type: 3, payload: new Uint8Array([7]) });
    assert.equal(await readFrame(conn), null);
  });

  test("readFrame() rejects with UnexpectedEofError when the payload is cut short", async () => {
    const conn = fakeConn(new Uint8Array([2, 0, 0, 10, 1, 2, 3]));
    await assert.rejects(readFrame(conn), UnexpectedEofError);
  });

  test("readFrame() rejects with UnexpectedEofError when the peer closes after the header", async () => {
    const conn = fakeConn(new Uint8Array([2, 0, 0, 10]));
    await assert.rejects(readFrame(conn), UnexpectedEofError);
  });

  test("readFrame() rejects with UnexpectedEofError when the header is cut short", async () => {
    const conn = fakeConn(new Uint8Array([2, 0]));
    await assert.rejects(readFrame(conn), UnexpectedEofError);
  });
});

describe("writeFrame()", () => {
  test("writeFrame() writes header and payload as one write", async () => {
    const conn = fakeConn(new Uint8Array(0));
    const payload = new Uint8Array([5, 6, 7]);
    await writeFrame(conn, 2, payload);
    assert.equal(conn.writes.length, 1);
    assert.deepEqual(conn.writes[0], [new Uint8Array([2, 0, 0, 3]), payload]);
  });

  test("writeFrame() rejects with FrameTooLargeError and writes nothing above 0xFFFFFF", async () => {
    const conn = fakeConn(new Uint8Array(0));
    await assert.rejects(writeFrame(conn, 2, new Uint8Array(0x1000000)), FrameTooLargeError);
    assert.equal(conn.writes.length, 0);
  });

  test("writeFrame() accepts a payload of exactly 0xFFFFFF bytes", async () => {
    const conn = fakeConn(new Uint8Array(0));
    await writeFrame(conn, 4, new Uint8Array(MAX_PAYLOAD_SIZE));
    assert.deepEqual(conn.writes[0]![0], new Uint8Array([4, 0xff, 0xff, 0xff]));
  });
});
