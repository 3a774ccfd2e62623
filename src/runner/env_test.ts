// Tests of the APISIX environment variable parsing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfTtlMs, parseListenAddress } from "./env.ts";
import { ConfigError } from "./errors.ts";

test("parseListenAddress() returns the path of a unix: address", () => {
  assert.equal(parseListenAddress("unix:/tmp/runner.sock"), "/tmp/runner.sock");
  assert.equal(parseListenAddress("unix:conf/apisix-1.sock"), "conf/apisix-1.sock");
});

test("parseListenAddress() names the variable when it is missing", () => {
  assert.throws(() => parseListenAddress(undefined), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /APISIX_LISTEN_ADDRESS is not set/);
    return true;
  });
});

test("parseListenAddress() names the variable and the value when it is malformed", () => {
  for (const value of ["/tmp/x.sock", "tcp://127.0.0.1:1", "unix:", "unix"]) {
    assert.throws(
      () => parseListenAddress(value),
      new RegExp(`APISIX_LISTEN_ADDRESS must be "unix:<socket path>", got "${value}"`),
    );
  }
});

test("parseConfTtlMs() is 1.2 × APISIX_CONF_EXPIRE_TIME, 3600 s by default", () => {
  assert.equal(parseConfTtlMs(undefined), 4_320_000);
  assert.equal(parseConfTtlMs("3600"), 4_320_000);
  assert.equal(parseConfTtlMs("10"), 12_000);
});

test("parseConfTtlMs() rejects values that are not positive whole seconds", () => {
  for (const value of ["0", "-5", "1.5", "abc", "1e3"]) {
    assert.throws(() => parseConfTtlMs(value), /APISIX_CONF_EXPIRE_TIME must be a positive/);
  }
});
