// Hardening: an in-process soak of many calls over rotating conf tokens with a short TTL on an injected clock.

import assert from "node:assert/strict";
import process from "node:process";
import v8 from "node:v8";
import vm from "node:vm";
import { test } from "node:test";
import { definePlugin } from "../src/plugin/define_plugin.ts";
import { stop } from "../src/plugin/stop.ts";
import { encodeFrame, encodeHttpReqCallRequest } from "../src/protocol/mod.ts";
import { ErrorCode, FrameType } from "../src/protocol/types.ts";
import { createMemoryRuntime } from "../src/runtime/memory.ts";
import { FrameConnection } from "./support/frame_connection.ts";
import { conf, reqCall, startInProcess } from "./support/hardening.ts";

/** Total calls of the soak; 2M take about 6-7 s on Deno and 3.5-4 s on Bun here. */
const CALLS = 2_000_000;
/** Connections calling at the same time. */
const CONNECTIONS = 16;
/** Calls between two conf rotations. */
const CALLS_PER_ROTATION = 20_000;
/** Routes (PrepareConf keys) of one rotation: the live set the cache must hold. */
const ROUTES = 50;
/** Conf TTL on the injected clock. */
const TTL_MS = 1_000;
/** Injected time that passes per rotation: a token unused for 4 rotations has expired. */
const ROTATION_MS = 300;

function collectGarbage(): void {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  if (bun !== undefined) return bun.gc(true);
  try {
    v8.setFlagsFromString("--expose-gc");
    (vm.runInNewContext("gc") as () => void)();
  } catch {
    // Cannot force a collection: the heap bound is loose enough for that.
  }
}

function heapUsed(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/** One call with a pre-encoded frame; resolves the reply's frame type. */
async function rawCall(conn: FrameConnection, frame: Uint8Array): Promise<number> {
  await conn.write(frame);
  const reply = await conn.readFrame();
  if (reply === null) throw new Error("runner closed the connection during the soak");
  return reply.type;
}

test(`soak: ${CALLS} calls over rotating conf tokens keep the cache and the heap bounded`, async () => {
  let now = 0;
  const runtime = createMemoryRuntime();
  const runner = await startInProcess({
    runtime,
    socketPath: "/run/hardening-soak.sock",
    confTtlMs: TTL_MS,
    clock: { now: () => now },
    plugins: [
      definePlugin({
        name: "hx-say",
        parseConf: (raw) => stop(200, { body: raw }),
        requestFilter: (_req, response) => response,
      }),
    ],
  });
  const admin = await runner.connect();
  const conns = await Promise.all(
    Array.from({ length: CONNECTIONS }, () => FrameConnection.connect(runtime, runner.socketPath)),
  );
  try {
    let generation = 0;
    let frames: Uint8Array[] = [];
    const retired: number[] = [];
    const rotate = async () => {
      generation++;
      now += ROTATION_MS;
      const tokens: number[] = [];
      for (let route = 0; route < ROUTES; route++) {
        tokens.push(
          await admin.prepareConf(
            [conf("hx-say", `g${generation}`)],
            `route#${route}#${generation}`,
          ),
        );
      }
      retired.push(tokens[0]);
      frames = tokens.map((token, i) => {
        const payload = encodeHttpReqCallRequest(reqCall(token, { id: i }));
        return encodeFrame(FrameType.HttpReqCall, payload);
      });
    };

    let done = 0;
    let maxConfs = 0;
    let heapAfterWarmup = 0;
    while (done < CALLS) {
      await rotate();
      const batch = Math.min(CALLS_PER_ROTATION, CALLS - done);
      await Promise.all(conns.map(async (conn, c) => {
        for (let i = c; i < batch; i += CONNECTIONS) {
          const type = await rawCall(conn, frames[i % ROUTES]);
          if (type !== FrameType.HttpReqCall) {
            assert.fail(`call ${done + i} got frame type ${type}`);
          }
        }
      }));
      done += batch;
      maxConfs = Math.max(maxConfs, runner.server.confCount);
      if (generation === 10) heapAfterWarmup = heapUsed();
    }

    // A token from 5 rotations ago was last used 1500 injected ms ago: expired.
    const old = retired[retired.length - 6];
    const outcome = await admin.httpReqCall(reqCall(old));
    assert.equal(outcome.kind, "error");
    assert.equal((outcome as { code: number }).code, ErrorCode.ConfTokenNotFound);
    // The live routes still answer, with the current generation's conf.
    const live = await admin.httpReqCall(reqCall(retired[retired.length - 1]));
    assert.equal(live.kind, "reply");

    // Live set: ROUTES per rotation for TTL / ROTATION_MS rotations, plus up to 1.1 TTL of sweep lag.
    const bound = ROUTES * Math.ceil((TTL_MS * 1.1) / ROTATION_MS + 1);
    assert.ok(maxConfs <= bound, `conf cache held ${maxConfs} confs, bound ${bound}`);
    const heapGrowth = heapUsed() - heapAfterWarmup;
    assert.ok(heapGrowth < 16 * 1024 * 1024, `heap grew by ${heapGrowth} bytes after warm-up`);
  } finally {
    for (const conn of conns) conn.close();
    admin.close();
    await runner.stop();
  }
});
