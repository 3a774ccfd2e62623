// Tests of the bundled "fault-injection" plugin with an injected random source.

import { test } from "node:test";
import assert from "node:assert/strict";
import { runRequestPlugin } from "../testing.ts";
import { createFaultInjection } from "./fault_injection.ts";

test("fault-injection stops with http_status and body when the sample hits", async () => {
  const plugin = createFaultInjection({ random: () => 0.49 });
  const result = await runRequestPlugin(plugin, {
    conf: { http_status: 500, body: "injected", percentage: 50 },
  });
  assert.equal(result.stop?.status, 500);
  assert.equal(result.bodyText, "injected");
});

test("fault-injection passes when the sample misses", async () => {
  const plugin = createFaultInjection({ random: () => 0.5 });
  const result = await runRequestPlugin(plugin, { conf: { http_status: 500, percentage: 50 } });
  assert.equal(result.action, undefined);
});

test("fault-injection defaults percentage to 100 and percentage 0 never hits", async () => {
  const plugin = createFaultInjection({ random: () => 0.999 });
  assert.equal((await runRequestPlugin(plugin, { conf: { http_status: 503 } })).stop?.status, 503);
  const never = createFaultInjection({ random: () => 0 });
  const result = await runRequestPlugin(never, { conf: { http_status: 503, percentage: 0 } });
  assert.equal(result.action, undefined);
});

test("fault-injection.parseConf() rejects bad http_status and percentage", () => {
  const plugin = createFaultInjection();
  assert.throws(() => plugin.parseConf('{"http_status":199}'), /"http_status" must be/);
  assert.throws(() => plugin.parseConf("{}"), /"http_status" must be/);
  assert.throws(() => plugin.parseConf('{"http_status":200,"percentage":101}'), /"percentage"/);
});
