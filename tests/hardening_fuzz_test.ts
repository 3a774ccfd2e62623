// Hardening: property-based fuzzing of every decoder, the frame reader and the server's frame loop.

import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import process from "node:process";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import type { ApisixConnection } from "../src/dev/client/mod.ts";
import { definePlugin } from "../src/plugin/define_plugin.ts";
import { stop } from "../src/plugin/stop.ts";
import {
  decodeExtraInfoRequest,
  decodeExtraInfoResponse,
  decodeHttpReqCallRequest,
  decodeHttpReqCallResponse,
  decodeHttpRespCallRequest,
  decodeHttpRespCallResponse,
  decodePrepareConfRequest,
  decodePrepareConfResponse,
  encodeFrameHeader,
  MalformedPayloadError,
} from "../src/protocol/mod.ts";
import { decodeErrorResponse } from "../src/protocol/error_response.ts";
import { FRAME_HEADER_SIZE, FrameType, type TextEntry } from "../src/protocol/types.ts";
import { createMemoryPipe, createMemoryRuntime } from "../src/runtime/memory.ts";
import { UnexpectedEofError } from "../src/protocol/errors.ts";
import { DEFAULT_MAX_KINDS } from "../src/server/repeated_log.ts";
import { FrameConnection } from "./support/frame_connection.ts";
import {
  assertHealthyCall,
  type CapturedLogs,
  captureLogs,
  conf,
  type InProcessRunner,
  startInProcess,
  withTimeout,
} from "./support/hardening.ts";

const FRAMES_DIR = new URL("../../shared/testdata/apisix-frames/", import.meta.url);

/** Whole frames (header + payload) APISIX and the Go runner really sent. */
async function loadRecordedFrames(): Promise<Uint8Array[]> {
  const names = (await readdir(FRAMES_DIR)).filter((name) => name.endsWith(".bin")).sort();
  return await Promise.all(
    names.map(async (name) => new Uint8Array(await readFile(new URL(name, FRAMES_DIR)))),
  );
}

const recorded = await loadRecordedFrames();
const recordedPayloads = recorded.map((frame) => frame.subarray(FRAME_HEADER_SIZE));

function textBytes(entries: readonly TextEntry[]): number {
  let total = 0;
  for (const entry of entries) total += entry.name.length + (entry.value?.length ?? 0);
  return total;
}

/** Every decoder; each returns the bytes of text it produced (lazy getters included). */
const DECODERS: Record<string, (payload: Uint8Array) => number> = {
  prepareConfRequest: (p) => {
    const r = decodePrepareConfRequest(p);
    return (r.key?.length ?? 0) + textBytes(r.conf ?? []);
  },
  prepareConfResponse: (p) => (decodePrepareConfResponse(p), 0),
  httpReqCallRequest: (p) => {
    const r = decodeHttpReqCallRequest(p);
    return (r.path?.length ?? 0) + textBytes(r.headers) + textBytes(r.args);
  },
  httpReqCallResponse: (p) => (decodeHttpReqCallResponse(p), 0),
  httpRespCallRequest: (p) => {
    const r = decodeHttpRespCallRequest(p);
    return textBytes(r.headers);
  },
  httpRespCallResponse: (p) => (decodeHttpRespCallResponse(p), 0),
  extraInfoRequest: (p) => (decodeExtraInfoRequest(p), 0),
  extraInfoResponse: (p) => (decodeExtraInfoResponse(p), 0),
  errorResponse: (p) => (decodeErrorResponse(p), 0),
};

/** A recorded payload with byte edits, maybe truncated or extended. */
const mutatedPayload = fc.record({
  index: fc.nat({ max: recordedPayloads.length - 1 }),
  edits: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 8 }),
  cut: fc.option(fc.nat(), { nil: undefined }),
  tail: fc.uint8Array({ maxLength: 16 }),
}).map(({ index, edits, cut, tail }) => {
  const base = recordedPayloads[index];
  const bytes = new Uint8Array(base.length + tail.length);
  bytes.set(base);
  bytes.set(tail, base.length);
  for (const [at, value] of edits) bytes[at % bytes.length] = value;
  return cut === undefined ? bytes : bytes.subarray(0, cut % (bytes.length + 1));
});

/** Random bytes, often with a root offset that points inside the buffer. */
const randomPayload = fc.uint8Array({ maxLength: 256 }).map((bytes) => {
  if (bytes.length >= 8) {
    bytes[0] = bytes[0] % bytes.length;
    bytes[1] = bytes[2] = bytes[3] = 0;
  }
  return bytes;
});

const anyPayload = fc.oneof(mutatedPayload, randomPayload);

describe("decoder fuzzing", () => {
  test("every decoder returns or throws MalformedPayloadError, with text bounded by the payload size", () => {
    fc.assert(
      fc.property(anyPayload, (payload) => {
        for (const [name, decode] of Object.entries(DECODERS)) {
          let text: number;
          try {
            text = decode(payload);
          } catch (error) {
            if (error instanceof MalformedPayloadError) continue;
            throw new Error(`${name} threw ${error} for [${Array.from(payload)}]`);
          }
          assert.ok(
            text <= 4 * payload.length + 4096,
            `${name} produced ${text} bytes of text from ${payload.length}`,
          );
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe("frame reader fuzzing", () => {
  test("readFrame() over random streams cut in random chunks ends in frames, null or UnexpectedEofError", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(...recorded)), {
          maxLength: 6,
        }),
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 8 }),
        async (pieces, cuts) => {
          const stream = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
          let at = 0;
          for (const piece of pieces) {
            stream.set(piece, at);
            at += piece.length;
          }
          const [writer, reader] = createMemoryPipe().map((conn) => new FrameConnection(conn));
          for (let offset = 0, i = 0; offset < stream.length; i++) {
            const size = cuts[i % cuts.length];
            await writer.write(stream.subarray(offset, offset + size));
            offset += size;
          }
          writer.close();
          let consumed = 0;
          for (;;) {
            let frame;
            try {
              frame = await withTimeout(reader.readFrame(), "readFrame()", 1000);
            } catch (error) {
              assert.ok(error instanceof UnexpectedEofError, String(error));
              assert.ok(consumed < stream.length);
              return;
            }
            if (frame === null) {
              assert.equal(consumed, stream.length);
              return;
            }
            assert.equal(frame.type, stream[consumed]);
            consumed += FRAME_HEADER_SIZE + frame.payload.length;
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  test("a lying length field allocates nothing up front: 200 readers waiting for 16 MiB each", async () => {
    // `external` counts ArrayBuffers by size, touched or not (rss would miss untouched pages).
    const externalBefore = process.memoryUsage().external;
    const pairs = Array.from(
      { length: 200 },
      () => createMemoryPipe().map((conn) => new FrameConnection(conn)),
    );
    const reads: Promise<unknown>[] = [];
    for (const [writer, reader] of pairs) {
      await writer.write(encodeFrameHeader(FrameType.HttpReqCall, 0xFFFFFF), new Uint8Array(10));
      reads.push(reader.readFrame());
    }
    // One macrotask turn lets every readFrame() reach its 16 MiB payload read.
    await new Promise((resolve) => setTimeout(resolve, 0));
    // 3.2 GB if anything allocated the announced size up front.
    const growth = process.memoryUsage().external - externalBefore;
    assert.ok(growth < 64 * 1024 * 1024, `external memory grew by ${growth} bytes`);
    for (const [writer] of pairs) writer.close();
    for (const read of reads) {
      await assert.rejects(withTimeout(read, "read after close"), UnexpectedEofError);
    }
  });
});

describe("server frame loop fuzzing (memory runtime)", () => {
  let runner: InProcessRunner;
  let logs: CapturedLogs;
  let healthy: ApisixConnection;
  let token: number;

  before(async () => {
    logs = await captureLogs();
    runner = await startInProcess({
      runtime: createMemoryRuntime(),
      socketPath: "/run/hardening-fuzz.sock",
      plugins: [
        definePlugin({
          name: "hx-say",
          parseConf: (raw) => stop(200, { body: raw }),
          requestFilter: async (req, response) => {
            // Reads a var, so fuzzed calls on live tokens reach the ExtraInfo path too.
            await req.var("remote_addr");
            return response;
          },
        }),
      ],
      firstToken: 1,
      // One summary window for the whole test: at most DEFAULT_MAX_KINDS close lines.
      logSummaryIntervalMs: 600_000,
    });
    healthy = await runner.connect();
    token = await healthy.prepareConf([conf("hx-say", "alive")], "route#healthy");
  });

  after(async () => {
    healthy.close();
    await runner.stop();
    await logs.stop();
  });

  test("random and mutated frames get an answer or a close, each logged or counted; other connections keep working", async () => {
    let closes = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constantFrom(1, 2, 3, 4), fc.nat({ max: 255 })),
        anyPayload,
        fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 0xFFFFFF })),
        async (type, payload, lie) => {
          const bad = await FrameConnection.connect(runner.runtime, runner.socketPath);
          try {
            // A lying length field promises more bytes than ever come; APISIX then gives up.
            const length = lie === 0 ? payload.length : Math.min(0xFFFFFF, payload.length + lie);
            await bad.write(encodeFrameHeader(type, length), payload).catch(() => {});
            if (length !== payload.length) bad.close();
            let answered = false;
            try {
              for (;;) {
                const frame = await withTimeout(bad.readFrame(), "answer or close", 2000);
                if (frame === null) break;
                if (frame.type === FrameType.ExtraInfo) {
                  // Answer the runner's question with the fuzzed payload too.
                  await bad.write(encodeFrameHeader(3, payload.length), payload).catch(() => {});
                  continue;
                }
                assert.ok(
                  frame.type === type || frame.type === FrameType.Error,
                  `reply ${frame.type}`,
                );
                answered = true;
                break;
              }
            } catch (error) {
              if (!(error instanceof UnexpectedEofError)) throw error;
            }
            if (!answered) closes++;
          } finally {
            bad.close();
          }
          await assertHealthyCall(healthy, token, "alive");
        },
      ),
      { numRuns: 1500 },
    );
    assert.ok(closes > 0, "no fuzzed frame ever made the runner close a connection");
    // Every close is in the log, bounded: a line per kind, the repeats counted (flushed at stop).
    await runner.stop();
    const lines = logs.matching(/^Closing connection/).length;
    const repeats = logs.matching(/^Connections closed .*: repeated/).reduce(
      (sum, record) => sum + Number(String(record.properties.repeats).replaceAll(",", "")),
      0,
    );
    assert.ok(lines + repeats >= closes, `${lines} lines + ${repeats} repeats < ${closes} closes`);
    assert.ok(lines <= DEFAULT_MAX_KINDS, `${lines} close lines`);
  });
});
