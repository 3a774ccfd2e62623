// Tests of the bundled "forward-vars" plugin.

import { test } from "node:test";
import assert from "node:assert/strict";
import { runRequestPlugin } from "../testing.ts";
import { forwardVars } from "./forward_vars.ts";

test("forward-vars sets a header per known var and skips unknown ones", async () => {
  const result = await runRequestPlugin(forwardVars, {
    conf: { vars: ["route_id", "nope", "remote_addr"], prefix: "x-apisix-" },
    request: { vars: { route_id: "r1", remote_addr: "10.0.0.1" } },
  });
  assert.deepEqual(result.rewrite?.headers, [
    { name: "x-apisix-route_id", value: "r1" },
    { name: "x-apisix-remote_addr", value: "10.0.0.1" },
  ]);
  assert.deepEqual(result.varsAsked, ["route_id", "nope", "remote_addr"]);
});

test("forward-vars sends no action when no var is known", async () => {
  const result = await runRequestPlugin(forwardVars, { conf: { vars: ["nope"] } });
  assert.equal(result.action, undefined);
});

test("forward-vars.parseConf() requires vars", () => {
  assert.throws(() => forwardVars.parseConf("{}"), /"vars" must list at least one/);
  assert.throws(() => forwardVars.parseConf('{"vars":["a b"]}'), /not a valid header name/);
});
