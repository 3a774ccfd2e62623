// Tests of limit-count through the test kit: local counts, headers, rejections and conf errors (Redis: tests/limit_count_e2e_test.ts).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runRequestPlugin, setupPlugin } from "../src/testing/mod.ts";
import { limitCount, parseLimitCountConf } from "./limit_count.ts";

describe("limit-count", () => {
  test("local: count requests per key and window, then the rejection with the quota headers", async () => {
    const conf = parseLimitCountConf(
      JSON.stringify({ count: 2, time_window: 60, rejected_code: 429, rejected_msg: "slow down" }),
    );
    const { state, dispose } = await setupPlugin(limitCount);
    const plugin = { ...limitCount, parseConf: () => conf };
    const call = (ip: string) => runRequestPlugin(plugin, { state, request: { srcIp: ip } });
    try {
      const first = await call("10.0.0.1");
      const quota = Object.fromEntries(first.rewrite!.respHeaders!.map((h) => [h.name, h.value]));
      assert.equal(quota["X-RateLimit-Limit"], "2");
      assert.equal(quota["X-RateLimit-Remaining"], "1");
      assert.equal(quota["X-RateLimit-Reset"], "60");
      assert.equal((await call("10.0.0.1")).stop, undefined);
      const third = await call("10.0.0.1");
      assert.equal(third.stop?.status, 429);
      assert.deepEqual(JSON.parse(third.bodyText!), { error_msg: "slow down" });
      assert.equal(third.varsAsked.length, 0, "remote_addr is the client address: no round trip");
      assert.equal((await call("10.0.0.2")).stop, undefined, "another key has its own count");
    } finally {
      await dispose();
    }
  });

  test("a rejection is made once per reset second and names that second", () => {
    const { rejection } = parseLimitCountConf(JSON.stringify({ count: 1, time_window: 60 }));
    const reset = (resetMs: number) =>
      rejection(resetMs).headers?.find((h) => h.name === "X-RateLimit-Reset")?.value;
    assert.equal(reset(1_500), "2");
    assert.equal(rejection(1_900), rejection(1_500), "the same second: the same stop, reused");
    assert.equal(reset(30_000), "30");
    assert.equal(reset(1_500), "2");
  });

  test("a key variable other than remote_addr is read with one ExtraInfo question", async () => {
    const result = await runRequestPlugin(limitCount, {
      conf: { count: 1, time_window: 1, key: "http_x_api_key", show_limit_quota_header: false },
      request: { vars: { http_x_api_key: "team-a" } },
    });
    assert.deepEqual(result.varsAsked, ["http_x_api_key"]);
    assert.equal(result.action, undefined, "no quota headers asked for: no change");
  });

  test("a bad conf is refused naming the field", () => {
    for (
      const [conf, message] of [
        [{ time_window: 1 }, /"count" is required/],
        [{ count: 1, time_window: 0 }, /"time_window" must be a whole number of at least 1/],
        [{ count: 1, time_window: 1, policy: "cluster" }, /"policy" must be "local" or "redis"/],
        [{ count: 1, time_window: 1, policy: "redis" }, /"redis_host" is required/],
        [{ count: 1, time_window: 1, rejected_code: 700 }, /"rejected_code" must be 200 to 599/],
        [{ count: 1, time_window: 1, allow_degradation: "yes" }, /"allow_degradation"/],
      ] as const
    ) {
      assert.throws(() => parseLimitCountConf(JSON.stringify(conf)), message, JSON.stringify(conf));
    }
  });
});
