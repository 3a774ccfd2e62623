// Tests of the bundled "request-rewrite" plugin.

import { test } from "node:test";
import assert from "node:assert/strict";
import { runRequestPlugin } from "../testing.ts";
import { requestRewrite } from "./request_rewrite.ts";

test("request-rewrite sends one Rewrite with exactly the configured changes", async () => {
  const result = await runRequestPlugin(requestRewrite, {
    conf: {
      path: "/v2/items",
      headers: { set: { "X-Api": "2" }, remove: ["x-debug"] },
      args: { set: { page: "1" }, remove: ["flag"] },
      resp_headers: { set: { "X-Rewritten": "yes" } },
    },
    request: {
      path: "/v1/items",
      headers: { "x-debug": "1", host: "example.com" },
      args: { flag: null, page: ["3", "4"], q: "x" },
    },
  });
  assert.deepEqual(result.rewrite, {
    type: "rewrite",
    path: "/v2/items",
    headers: [{ name: "x-debug" }, { name: "x-api", value: "2" }],
    args: [{ name: "flag" }, { name: "page", value: "1" }],
    respHeaders: [{ name: "X-Rewritten", value: "yes" }],
    body: undefined,
  });
});

test("request-rewrite sends no action when the request already matches", async () => {
  const result = await runRequestPlugin(requestRewrite, {
    conf: { path: "/same", headers: { set: { "x-a": "1" }, remove: ["x-absent"] } },
    request: { path: "/same", headers: { "x-a": "1" } },
  });
  assert.equal(result.action, undefined);
});

test("request-rewrite.parseConf() names the bad field", () => {
  assert.throws(() => requestRewrite.parseConf('{"path":"v2"}'), /"path" must start with/);
  assert.throws(
    () => requestRewrite.parseConf('{"headers":{"set":{"a":1}}}'),
    /"headers"\."set" must be an object of string values/,
  );
  assert.throws(
    () => requestRewrite.parseConf('{"args":{"remove":"a"}}'),
    /"args"\."remove" must be an array of strings/,
  );
});
