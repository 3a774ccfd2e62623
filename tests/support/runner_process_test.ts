// Tests of the runner process harness against a stand-in runner script, on every runtime that runs it.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, test } from "node:test";
import {
  type RunnerRuntime,
  RunnerStartError,
  runnerUnavailable,
  RunnerUnavailableError,
  spawnRunner,
  tempSocketPath,
} from "./runner_process.ts";

const FAKE_RUNNER = "tests/support/fixtures/fake_runner.mjs";

function envKeysOf(output: string): string[] {
  const match = /^env (.*)$/m.exec(output);
  assert.ok(match, `no env line in output:\n${output}`);
  return JSON.parse(match[1]!);
}

for (const runtime of ["deno", "bun", "node"] as const satisfies readonly RunnerRuntime[]) {
  describe(`spawnRunner() with runtime ${runtime}`, () => {
    const skip = runnerUnavailable(runtime, { entry: FAKE_RUNNER });

    test("starts the process with only the APISIX variables and waits for the socket", {
      skip,
    }, async () => {
      const runner = await spawnRunner({ runtime, entry: FAKE_RUNNER });
      try {
        assert.deepEqual(Object.keys(runner.env).sort(), [
          "APISIX_CONF_EXPIRE_TIME",
          "APISIX_LISTEN_ADDRESS",
        ]);
        assert.equal(runner.env.APISIX_LISTEN_ADDRESS, `unix:${runner.socketPath}`);
        assert.equal(runner.env.APISIX_CONF_EXPIRE_TIME, "3600");
        const output = await runner.waitForOutput(/^listening on /m, 5_000);
        const keys = envKeysOf(output);
        assert.ok(keys.includes("APISIX_LISTEN_ADDRESS"));
        assert.ok(keys.includes("APISIX_CONF_EXPIRE_TIME"));
        // deno adds PATH (and a shim marker) to its own environment; nothing else may appear.
        const added = keys.filter((key) => !key.startsWith("APISIX_"));
        const allowed = runtime === "deno" ? ["DENO_NODE_SHIM_ACTIVE", "PATH"] : [];
        assert.deepEqual(added.filter((key) => !allowed.includes(key)), []);
        assert.ok(existsSync(runner.socketPath));
      } finally {
        await runner.dispose();
      }
    });

    test("merges stderr into the kept output and reports the exit after SIGTERM", {
      skip,
    }, async () => {
      const runner = await spawnRunner({ runtime, entry: FAKE_RUNNER, extraArgs: ["x"] });
      try {
        runner.kill("SIGTERM");
        const exit = await runner.exited;
        assert.equal(exit.code, 0);
        assert.equal(exit.signal, null);
        assert.ok(exit.ms >= 0 && exit.ms < 5_000, `exit took ${exit.ms} ms`);
        assert.equal(runner.alive, false);
        assert.match(runner.output(), /^argv \["run","x"\]$/m); // written to stderr
        assert.match(runner.output(), /^got SIGTERM$/m); // written to stdout
      } finally {
        await runner.dispose();
      }
    });
  });
}

describe("spawnRunner()", () => {
  const skip = runnerUnavailable("node", { entry: FAKE_RUNNER });

  test("rejects with the collected output when the runner exits before listening", {
    skip,
  }, async () => {
    const error = await spawnRunner({ runtime: "node", entry: FAKE_RUNNER, args: ["fail"] })
      .then(() => undefined, (error: unknown) => error);
    assert.ok(error instanceof RunnerStartError, `got ${error}`);
    assert.match(error.message, /exited \(code 3/);
    assert.match(error.output, /fatal: asked to fail/);
  });

  test("rejects with the output when the runner exits on a bad listen address", {
    skip,
  }, async () => {
    const error = await spawnRunner({
      runtime: "node",
      entry: FAKE_RUNNER,
      listenAddress: "tcp:nowhere",
      startTimeoutMs: 200,
    }).then(() => undefined, (error: unknown) => error);
    assert.ok(error instanceof RunnerStartError, `got ${error}`);
    assert.match(error.output, /bad APISIX_LISTEN_ADDRESS tcp:nowhere/);
  });

  test("rejects and kills the runner when the socket never accepts within startTimeoutMs", {
    skip,
  }, async () => {
    const error = await spawnRunner({
      runtime: "node",
      entry: FAKE_RUNNER,
      args: ["hang"],
      startTimeoutMs: 100,
    }).then(() => undefined, (error: unknown) => error);
    assert.ok(error instanceof RunnerStartError, `got ${error}`);
    assert.match(error.message, /did not accept a connection within 100 ms \(last error: ENOENT\)/);
    assert.match(error.output, /^argv \["hang"\]$/m);
  });

  test("leaves APISIX_CONF_EXPIRE_TIME out when confExpireTime is null", { skip }, async () => {
    const runner = await spawnRunner({ runtime: "node", entry: FAKE_RUNNER, confExpireTime: null });
    try {
      assert.deepEqual(Object.keys(runner.env), ["APISIX_LISTEN_ADDRESS"]);
      assert.ok(!envKeysOf(runner.output()).includes("APISIX_CONF_EXPIRE_TIME"));
    } finally {
      await runner.dispose();
    }
  });

  test("dispose() kills a live runner and removes its temp directory", { skip }, async () => {
    const runner = await spawnRunner({ runtime: "node", entry: FAKE_RUNNER });
    await runner.dispose();
    const exit = await runner.exited;
    assert.equal(exit.signal, "SIGKILL");
    assert.ok(runner.dir !== undefined && !existsSync(runner.dir));
  });

  test("waitForOutput() rejects after its timeout with the output so far", { skip }, async () => {
    const runner = await spawnRunner({ runtime: "node", entry: FAKE_RUNNER });
    try {
      await assert.rejects(runner.waitForOutput(/never printed/, 50), (error: unknown) => {
        assert.ok(error instanceof RunnerStartError);
        assert.match(error.message, /within 50 ms/);
        assert.match(error.output, /^env /m);
        return true;
      });
    } finally {
      await runner.dispose();
    }
  });

  test("throws RunnerUnavailableError when the entry file is missing", async () => {
    await assert.rejects(
      spawnRunner({ runtime: "bun", entry: "tests/support/fixtures/missing.ts" }),
      RunnerUnavailableError,
    );
  });
});

test("tempSocketPath() gives a fresh directory per call", async () => {
  const a = await tempSocketPath();
  const b = await tempSocketPath();
  try {
    assert.notEqual(a.dir, b.dir);
    assert.ok(existsSync(a.dir));
    assert.ok(!existsSync(a.path));
    assert.ok(a.path.startsWith(a.dir));
  } finally {
    await a.remove();
    await b.remove();
  }
  assert.ok(!existsSync(a.dir));
});
