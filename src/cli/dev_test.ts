// Tests of the dev command's flags and of its refusals before anything starts.

import assert from "node:assert/strict";
import { test } from "node:test";
import { bundledPlugins } from "../../plugins/mod.ts";
import { PluginRegistry } from "../plugin/registry.ts";
import { createMemoryRuntime } from "../runtime/memory.ts";
import { parseCliArgs } from "./args.ts";
import { runDev } from "./dev.ts";

test("parseCliArgs() reads the dev flags with their defaults", () => {
  const defaults = parseCliArgs(["dev"]);
  assert.equal(defaults.command, "dev");
  assert.equal(defaults.port, 9080);
  assert.equal(defaults.upstreamPort, 9081);
  assert.equal(defaults.routesFile, undefined);
  assert.equal(defaults.runnerSocket, undefined);
  const given = parseCliArgs([
    "dev",
    "--port",
    "0",
    "--upstream-port",
    "8081",
    "--routes",
    "r.json",
    "--runner-socket",
    "/tmp/r.sock",
  ]);
  assert.equal(given.port, 0);
  assert.equal(given.upstreamPort, 8081);
  assert.equal(given.routesFile, "r.json");
  assert.equal(given.runnerSocket, "/tmp/r.sock");
});

test("parseCliArgs() refuses a port that is not 0 to 65535", () => {
  assert.throws(
    () => parseCliArgs(["dev", "--port", "65536"]),
    /--port must be a port number from 0 to 65535, got "65536"/,
  );
  assert.throws(() => parseCliArgs(["dev", "--upstream-port", "x"]), /--upstream-port must be/);
});

test("runDev() exits 2 without starting anything when the routes cannot be used", async () => {
  const runtime = createMemoryRuntime();
  const options = {
    registry: new PluginRegistry(bundledPlugins),
    runtime,
    program: "runner",
  };
  const errors: string[] = [];
  const original = console.error;
  console.error = (message: string) => errors.push(message);
  try {
    assert.equal(
      await runDev({ ...options, args: parseCliArgs(["dev"]), defaultRoutes: undefined }),
      2,
    );
    assert.equal(
      await runDev({
        ...options,
        args: parseCliArgs(["dev", "--routes", "/nonexistent/routes.json"]),
        defaultRoutes: undefined,
      }),
      2,
    );
    assert.equal(
      await runDev({ ...options, args: parseCliArgs(["dev"]), defaultRoutes: { routes: {} } }),
      2,
    );
  } finally {
    console.error = original;
  }
  assert.match(errors[0]!, /"runner dev" needs a routes file: pass --routes <file>/);
  assert.match(errors[1]!, /^Cannot read routes file \/nonexistent\/routes\.json: /);
  assert.match(errors[2]!, /^Invalid routes in the default routes: expected an object/);
});
