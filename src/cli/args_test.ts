// Tests of the CLI's command lines: plugin flags and the flags of dev.

import assert from "node:assert/strict";
import { test } from "node:test";
import { parseDevArgs, runnerFlags, splitPluginFlags } from "./args.ts";

test("splitPluginFlags() takes --plugins and --with-bundled out, in both spellings", () => {
  assert.deepEqual(
    splitPluginFlags([
      "--plugins",
      "./a",
      "--log-level",
      "debug",
      "--plugins=./b",
      "--with-bundled",
    ]),
    { flags: { plugins: ["./a", "./b"], withBundled: true }, rest: ["--log-level", "debug"] },
  );
  assert.throws(() => splitPluginFlags(["--plugins"]), /--plugins <file\|dir>' argument missing/);
});

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

test("parseDevArgs() refuses --metrics-listen with --watch, and the watched runner gets --otel", () => {
  assert.throws(
    () => parseDevArgs(["--watch", "--metrics-listen", "127.0.0.1:9091"]),
    /dev --watch cannot serve --metrics-listen/,
  );
  assert.equal(parseDevArgs(["--metrics-listen", "127.0.0.1:9091"]).metricsListen?.port, 9091);
  assert.ok(runnerFlags(parseDevArgs(["--watch", "--otel"])).includes("--otel"));
  assert.ok(!runnerFlags(parseDevArgs(["--watch"])).includes("--otel"));
});
