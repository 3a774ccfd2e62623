import { test } from "node:test";
import assert from "node:assert/strict";
import { runRequestPlugin } from "apisix-ts-plugin-runner/testing";
import { addGreeting } from "./add_greeting.ts";

test("add-greeting sets x-greeting and the client address", async () => {
  const result = await runRequestPlugin(addGreeting, {
    conf: { greeting: "hello" },
    request: { headers: { "user-agent": "firefox" }, vars: { remote_addr: "10.0.0.7" } },
  });
  assert.equal(result.stop, undefined);
  assert.deepEqual(result.rewrite?.headers, [
    { name: "x-greeting", value: "hello" },
    { name: "x-client-addr", value: "10.0.0.7" },
  ]);
  assert.deepEqual(result.varsAsked, ["remote_addr"]);
});

test("add-greeting stops blocked agents with 403", async () => {
  const result = await runRequestPlugin(addGreeting, {
    conf: { greeting: "hi", block_agent: "curl" },
    request: { headers: { "user-agent": "curl/8.0" } },
  });
  assert.equal(result.stop?.status, 403);
  assert.equal(result.bodyText, "agent not allowed\n");
});
