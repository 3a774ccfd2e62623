// Unit tests of the in-memory runtime's test hooks: signals, exit, env, fake files.

import assert from "node:assert/strict";
import { test } from "node:test";
import { createMemoryRuntime, MemoryExitError } from "./memory.ts";

test("MemoryRuntime.raise() calls the onSignal() handlers until they are removed", () => {
  const runtime = createMemoryRuntime();
  let calls = 0;
  const remove = runtime.onSignal("SIGTERM", () => calls++);
  runtime.raise("SIGINT");
  runtime.raise("SIGTERM");
  remove();
  runtime.raise("SIGTERM");
  assert.equal(calls, 1);
});

test("MemoryRuntime.exit() records the code and throws MemoryExitError", () => {
  const runtime = createMemoryRuntime({ env: { APISIX_LISTEN_ADDRESS: "unix:/tmp/a.sock" } });
  assert.throws(() => runtime.exit(3), (e) => e instanceof MemoryExitError && e.code === 3);
  assert.equal(runtime.exitCode, 3);
  assert.equal(runtime.env("APISIX_LISTEN_ADDRESS"), "unix:/tmp/a.sock");
});

test("MemoryRuntime keeps a closed listener's socket file, like a stale socket on disk", async () => {
  const runtime = createMemoryRuntime();
  const listener = await runtime.listenUnix("/tmp/r.sock", { mode: 0o766 });
  await listener.close();
  assert.equal((await runtime.lstat("/tmp/r.sock"))?.isSocket, true);
  await assert.rejects(runtime.connectUnix("/tmp/r.sock"), { code: "ECONNREFUSED" });
  await runtime.removeFile("/tmp/r.sock");
  const again = await runtime.listenUnix("/tmp/r.sock", { mode: 0o700 });
  assert.equal((await runtime.lstat("/tmp/r.sock"))?.mode, 0o700);
  await again.close();
});
