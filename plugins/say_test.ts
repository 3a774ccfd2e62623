// Tests of the bundled "say" plugin through the test kit.

import { test } from "node:test";
import assert from "node:assert/strict";
import { runRequestPlugin } from "../testing.ts";
import { say } from "./say.ts";

test("say stops with 200, the body and an X-Resp-A6-Runner header", async () => {
  const result = await runRequestPlugin(say, { conf: { body: "hello" } });
  assert.equal(result.stop?.status, 200);
  assert.equal(result.bodyText, "hello");
  assert.deepEqual(result.stop?.headers, [{ name: "X-Resp-A6-Runner", value: "TypeScript" }]);
  assert.deepEqual(result.asked, []);
});

test("say passes the request when the body is empty or missing", async () => {
  assert.equal((await runRequestPlugin(say, { conf: { body: "" } })).action, undefined);
  assert.equal((await runRequestPlugin(say, { conf: {} })).action, undefined);
});

test("say.parseConf() rejects a body that is not a string", () => {
  assert.throws(() => say.parseConf('{"body":1}'), /"body" must be a string/);
  assert.throws(() => say.parseConf("{"), /conf is not valid JSON/);
});
