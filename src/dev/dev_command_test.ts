// Tests of the dev command's flags and of its refusals before anything starts.

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseDevArgs, runDevCommand } from "./dev_command.ts";

test("parseDevArgs() reads the dev flags with their defaults", () => {
  const defaults = parseDevArgs([]);
  assert.equal(defaults.port, 9080);
  assert.equal(defaults.upstreamPort, 9081);
  assert.equal(defaults.routesFile, undefined);
  assert.equal(defaults.runnerSocket, undefined);
  assert.equal(defaults.watch, false);
  assert.deepEqual([defaults.demo, defaults.withBundled], [true, true]);
  const given = parseDevArgs([
    "--port",
    "0",
    "--upstream-port",
    "8081",
    "--routes",
    "r.json",
    "--plugins",
    "./plugins",
    "--watch",
    "--log-level",
    "debug",
  ]);
  assert.equal(given.port, 0);
  assert.equal(given.upstreamPort, 8081);
  assert.equal(given.routesFile, "r.json");
  assert.deepEqual(given.plugins, ["./plugins"]);
  assert.deepEqual([given.demo, given.withBundled, given.watch], [false, false, true]);
  assert.equal(given.logLevel, "debug");
  assert.equal(parseDevArgs(["--runner-socket", "/tmp/r.sock"]).demo, false);
});

test("parseDevArgs() refuses a port that is not 0 to 65535", () => {
  assert.throws(
    () => parseDevArgs(["--port", "65536"]),
    /--port must be a port number from 0 to 65535, got "65536"/,
  );
  assert.throws(() => parseDevArgs(["--upstream-port", "x"]), /--upstream-port must be/);
  assert.throws(() => parseDevArgs(["--bogus"]), /Unknown option '--bogus'/);
});

test("runDevCommand() exits 2 without starting anything when the routes cannot be used", async () => {
  const cwd = await mkdtemp(join(tmpdir(), "dev-command-test-"));
  const errors: string[] = [];
  const original = console.error;
  console.error = (message: string) => errors.push(message);
  try {
    const options = { program: "runner", cwd };
    assert.equal(await runDevCommand(["--plugins", "./plugins"], options), 2);
    assert.equal(await runDevCommand(["--routes", "/nonexistent/routes.json"], options), 2);
  } finally {
    console.error = original;
    await rm(cwd, { recursive: true, force: true });
  }
  assert.match(errors[0]!, /"runner dev" needs a routes file: pass --routes <file> or put a/);
  assert.match(errors[1]!, /^Cannot read routes file \/nonexistent\/routes\.json: /);
});
