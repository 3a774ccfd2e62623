// Unit tests of the bench's own parts: frame splitting by counting, the latency histogram, workloads.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FrameSplitter } from "./frames.ts";
import { Histogram } from "./histogram.ts";
import { bundledPlugins } from "../../plugins/mod.ts";
import { PluginRegistry } from "../../src/plugin/registry.ts";
import { decodePrepareConfResponse, FrameType } from "../../src/protocol/mod.ts";
import { createMemoryRuntime } from "../../src/runtime/memory.ts";
import type { Frame } from "../../src/protocol/mod.ts";
import { RunnerServer } from "../../src/server/server.ts";
import { FrameConnection } from "../../tests/support/frame_connection.ts";
import {
  ceilingScript,
  checkReply,
  frame,
  loadScript,
  prepareConfFrame,
  WORKLOADS,
} from "./workloads.ts";

describe("FrameSplitter", () => {
  test("FrameSplitter reports whole frames however the stream is cut", () => {
    const stream = new Uint8Array([
      ...frame(2, new Uint8Array([1, 2, 3])),
      ...frame(3, new Uint8Array(0)),
      ...frame(4, new Uint8Array(300)),
    ]);
    for (const step of [1, 3, 5, 7, stream.length]) {
      const seen: number[] = [];
      const splitter = new FrameSplitter((type) => seen.push(type));
      for (let i = 0; i < stream.length; i += step) splitter.push(stream.subarray(i, i + step));
      assert.deepEqual(seen, [2, 3, 4], `chunks of ${step}`);
    }
  });

  test("FrameSplitter with capture hands over each payload whole", () => {
    const payloads: number[][] = [];
    const splitter = new FrameSplitter((_type, payload) => payloads.push([...payload!]), true);
    const stream = new Uint8Array([
      ...frame(1, new Uint8Array([7, 8])),
      ...frame(1, new Uint8Array([9])),
    ]);
    splitter.push(stream.subarray(0, 5));
    splitter.push(stream.subarray(5));
    assert.deepEqual(payloads, [[7, 8], [9]]);
  });
});

describe("Histogram", () => {
  test("Histogram.quantile() finds ranks in the linear part and among slow samples", () => {
    const h = new Histogram();
    for (let us = 1; us <= 100; us++) h.record(us);
    assert.equal(h.quantile(0.5), 50);
    assert.equal(h.quantile(0.99), 99);
    h.record(250_000);
    assert.equal(h.summary().maxUs, 250_000);
    assert.equal(h.quantile(1), 250_000);
    h.reset();
    assert.equal(h.count, 0);
    assert.equal(h.quantile(0.5), 0);
  });
});

describe("workloads", () => {
  test("every workload's ceiling sends the bytes the runner sends", async () => {
    // The runner itself, in process over the memory runtime, answers each workload's frames.
    const runtime = createMemoryRuntime();
    const server = new RunnerServer({
      runtime,
      registry: new PluginRegistry(bundledPlugins),
      socketPath: "/bench.sock",
      confTtlMs: 60_000,
    });
    await server.start();
    const conn = await FrameConnection.connect(runtime, "/bench.sock");
    try {
      for (const workload of WORKLOADS) {
        const ceiling = ceilingScript(workload);
        await conn.write(prepareConfFrame(workload));
        const prepared = await conn.readFrame();
        assert.equal(prepared?.type, FrameType.PrepareConf, workload.name);
        const { confToken } = decodePrepareConfResponse(prepared!.payload!);
        const script = loadScript(workload, confToken);
        await conn.write(script.call);
        for (let i = 0; i < workload.questions.length; i++) {
          const question = await conn.readFrame();
          assert.deepEqual(
            wholeFrame(question),
            ceiling.questions[i],
            `${workload.name} question ${i}`,
          );
          await conn.write(script.answers[i]!);
        }
        const reply = await conn.readFrame();
        assert.deepEqual(wholeFrame(reply), ceiling.reply, `${workload.name} reply`);
        assert.equal(checkReply(workload, reply!.type, reply!.payload), undefined, workload.name);
      }
    } finally {
      conn.close();
      await server.shutdown(0);
    }
  });
});

function wholeFrame(read: Frame | null): Uint8Array {
  assert.ok(read !== null, "the runner closed the connection");
  return frame(read.type, read.payload);
}
