// Tests of the bundled "limit-req" plugin with a fake clock.

import { test } from "node:test";
import assert from "node:assert/strict";
import { runRequestChain } from "../testing.ts";
import { runRequestFilters } from "../src/plugin/phase.ts";
import { prepareConfs } from "../src/plugin/prepare.ts";
import { PluginRegistry } from "../src/plugin/registry.ts";
import { FakeExtraInfoChannel, fakeHttpReqCall } from "../src/testing/fake.ts";
import { createLimitReq } from "./limit_req.ts";

/** One limit-req plugin (one clock) with each of `confs` prepared as its own route conf. */
function setupMany(...confs: string[]) {
  let now = 0;
  const plugin = createLimitReq({ now: () => now });
  const registry = new PluginRegistry([plugin]);
  const calls = confs.map((conf) => {
    const chain = prepareConfs(registry, [{ name: "limit-req", value: conf }], {
      skipInvalid: false,
    });
    return async () => {
      const action = await runRequestFilters(chain, fakeHttpReqCall(), {
        extraInfo: new FakeExtraInfoChannel(),
        signal: new AbortController().signal,
      });
      return action?.type === "stop" ? action.status : "pass";
    };
  });
  return { calls, advance: (ms: number) => (now += ms) };
}

function setup(conf: string) {
  const { calls, advance } = setupMany(conf);
  return { call: calls[0]!, advance };
}

test("limit-req lets the burst through, then answers 503", async () => {
  const { call } = setup('{"rate":1,"burst":2}');
  assert.deepEqual([await call(), await call(), await call()], ["pass", "pass", 503]);
});

test("limit-req refills at the configured rate", async () => {
  const { call, advance } = setup('{"rate":2,"burst":1}');
  assert.equal(await call(), "pass");
  assert.equal(await call(), 503);
  advance(499);
  assert.equal(await call(), 503);
  advance(1);
  assert.equal(await call(), "pass");
  advance(10_000);
  assert.equal(await call(), "pass");
  assert.equal(await call(), 503);
});

test("limit-req keeps separate state per prepared conf", async () => {
  // Two route confs of the same plugin value: each has its own bucket.
  const { calls: [first, second] } = setupMany('{"rate":1,"burst":1}', '{"rate":1,"burst":1}');
  assert.equal(await first!(), "pass");
  assert.equal(await second!(), "pass");
  assert.equal(await first!(), 503);
  assert.equal(await second!(), 503);
});

test("limit-req.parseConf() rejects a missing rate and a burst below 1", async () => {
  const plugin = createLimitReq({ now: () => 0 });
  assert.throws(() => plugin.parseConf('{"burst":1}'), /"rate" must be/);
  assert.throws(() => plugin.parseConf('{"rate":1,"burst":0}'), /"burst" must be/);
  await assert.rejects(
    runRequestChain([{ plugin, conf: { rate: -1, burst: 1 } }]),
    /Cannot parse conf of plugin "limit-req"/,
  );
});
