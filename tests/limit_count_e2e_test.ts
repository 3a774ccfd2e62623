// Plugins users deploy, end to end: limit-count shared through a real Redis by runners on Deno, Bun and Node;
// plugin lifecycle hooks in a real runner process.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ApisixClient, formatPrepareConfKey } from "../src/dev/client/mod.ts";
import type { TextEntry } from "../src/protocol/types.ts";
import { createNodeRuntime } from "../src/runtime/node.ts";
import { runnerSkipReason } from "./support/e2e_helpers.ts";
import { redisMissing, type RedisServer, startRedis } from "./support/redis_server.ts";
import { type RunnerProcess, type RunnerRuntime, spawnRunner } from "./support/runner_process.ts";

const net = createNodeRuntime();
const decoder = new TextDecoder();
const RUNTIMES = (["deno", "bun", "node"] as const).filter((runtime) =>
  runnerSkipReason(runtime) === undefined
);
// A runtime left out is said, not silently dropped: one skipped test each, with the reason.
for (const runtime of ["deno", "bun", "node"] as const) {
  const reason = runnerSkipReason(runtime);
  if (reason !== undefined) {
    test(`limit-count through Redis on ${runtime} skipped: ${reason}`, { skip: reason }, () => {});
  }
}

interface Runner {
  readonly process: RunnerProcess;
  readonly client: ApisixClient;
}

async function call(runner: Runner, conf: TextEntry[], version: number) {
  const outcome = await runner.client.call({
    type: "req",
    key: formatPrepareConfKey({ confId: 7, plugin: "ext-plugin-pre-req", version }),
    conf,
    request: { srcIp: new Uint8Array([192, 0, 2, 9]), method: 0, path: "/", args: [], headers: [] },
  });
  assert.equal(outcome.kind, "reply", JSON.stringify(outcome));
  const action = outcome.kind === "reply" ? outcome.response.action : undefined;
  return { stop: action?.type === "stop" ? action : undefined };
}

function limitConf(redis: RedisServer, extra: Record<string, unknown> = {}): TextEntry[] {
  return [{
    name: "limit-count",
    value: JSON.stringify({
      count: 10,
      time_window: 60,
      policy: "redis",
      redis_host: "127.0.0.1",
      redis_port: redis.port,
      redis_timeout: 300,
      ...extra,
    }),
  }];
}

describe("limit-count shared through Redis", {
  skip: redisMissing() ?? (RUNTIMES.length < 2 ? "fewer than two runtimes here" : undefined),
}, () => {
  let redis: RedisServer;
  const runners: Runner[] = [];

  before(async () => {
    redis = await startRedis();
    for (const runtime of RUNTIMES) {
      const process = await spawnRunner({ runtime });
      runners.push({
        process,
        client: new ApisixClient({ runtime: net, socketPath: process.socketPath }),
      });
    }
  });

  after(async () => {
    for (const runner of runners) {
      await runner.client.close();
      await runner.process.dispose();
    }
    await redis?.stop();
  });

  test(`count 10: 30 calls alternated between runners on ${RUNTIMES.join(", ")} let exactly 10 through`, async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 30; i++) {
      const runner = runners[i % runners.length]!;
      const { stop } = await call(runner, limitConf(redis, { rejected_code: 429 }), 1);
      outcomes.push(stop === undefined ? "passed" : `${stop.status} ${decoder.decode(stop.body)}`);
    }
    const count = (what: string) => outcomes.filter((outcome) => outcome === what).length;
    // 429 is the count's own rejection: a Redis failure (503) would not be told apart otherwise.
    assert.deepEqual(
      { passed: count("passed"), limited: count("429 ") },
      { passed: 10, limited: 20 },
      outcomes.join("\n"),
    );
  });

  test("Redis stopped: the conf's choice answers at once (503, or through with allow_degradation)", async () => {
    await redis.stop();
    for (const runner of runners) {
      const started = performance.now();
      const closed = await call(runner, limitConf(redis), 2);
      assert.equal(closed.stop?.status, 503);
      assert.deepEqual(JSON.parse(decoder.decode(closed.stop?.body)), {
        error_msg: "rate limit counter unavailable",
      });
      const open = await call(runner, limitConf(redis, { allow_degradation: true }), 3);
      assert.equal(open.stop, undefined);
      const took = performance.now() - started;
      // Bounded by redis_timeout (300 ms) per call, never the 55 s call deadline.
      assert.ok(took < 5_000, `two calls took ${Math.round(took)} ms`);
    }
  });

  test("SIGTERM with a Redis client open: every runner exits 0", async () => {
    redis = await startRedis();
    for (const runner of runners) {
      // A live connection to the new Redis in every runner, then the stop.
      const { stop } = await call(runner, limitConf(redis), 4);
      assert.equal(stop, undefined, `${decoder.decode(stop?.body)}\n${runner.process.output()}`);
      await runner.client.close();
      runner.process.kill("SIGTERM");
      const exit = await runner.process.exited;
      assert.equal(exit.code, 0, runner.process.output());
      console.log(`${runner.process.argv[0]}: SIGTERM to exit ${Math.round(exit.ms)} ms`);
    }
  });
});

for (const runtime of (["deno", "bun"] as const satisfies readonly RunnerRuntime[])) {
  describe(`plugin lifecycle in a ${runtime} runner`, { skip: runnerSkipReason(runtime) }, () => {
    test("setup() state reaches the filter; dispose() runs at SIGTERM with the signal fired", async () => {
      const runner = await spawnRunner({
        runtime,
        entry: "tests/support/fixtures/lifecycle_plugins_entry.ts",
      });
      const client = new ApisixClient({ runtime: net, socketPath: runner.socketPath });
      try {
        assert.match(runner.output(), /lifecycle-counter set up/);
        const conf = [{ name: "lifecycle-counter", value: "{}" }];
        for (const expected of ["1", "2"]) {
          const { stop } = await call({ process: runner, client }, conf, 1);
          assert.equal(decoder.decode(stop?.body), expected);
        }
        await client.close();
        runner.kill("SIGTERM");
        assert.equal((await runner.exited).code, 0);
        assert.match(runner.output(), /lifecycle-counter disposed after 2 calls, stopping=true/);
      } finally {
        await client.close();
        await runner.dispose();
      }
    });

    test("a setup() that throws stops the start: exit 1, one line naming the plugin", async () => {
      const runner = await spawnRunner({
        runtime,
        entry: "tests/support/fixtures/lifecycle_fail_entry.ts",
        waitForSocket: false,
      });
      try {
        const exit = await runner.exited;
        assert.equal(exit.code, 1, runner.output());
        const lines = runner.output().split("\n").filter((line) => line.trim() !== "");
        assert.deepEqual(lines, [
          'Cannot start: Plugin "lifecycle-failing" setup failed: cannot reach the database',
        ]);
      } finally {
        await runner.dispose();
      }
    });
  });
}
