// Tests of the bundled "response-rewrite" plugin.

import { test } from "node:test";
import assert from "node:assert/strict";
import { runResponsePlugin } from "../testing.ts";
import { responseRewrite } from "./response_rewrite.ts";

test("response-rewrite applies the configured status", async () => {
  const result = await runResponsePlugin(responseRewrite, {
    conf: { status: 418 },
    response: { status: 200 },
  });
  assert.deepEqual(result.result, { status: 418, headers: undefined, body: undefined });
});

test("response-rewrite returns the full header set with its changes", async () => {
  const result = await runResponsePlugin(responseRewrite, {
    conf: { headers: { "X-Server": "runner", "Content-Type": "text/html" } },
    response: {
      headers: [["Content-Type", "text/plain"], ["Content-Length", "3"], ["Set-Cookie", "a=1"], [
        "Set-Cookie",
        "b=2",
      ]],
    },
  });
  assert.deepEqual(result.headers, [
    { name: "Set-Cookie", value: "a=1" },
    { name: "Set-Cookie", value: "b=2" },
    { name: "X-Server", value: "runner" },
    { name: "Content-Type", value: "text/html" },
  ]);
  assert.equal(result.bodyAsked, false);
});

test("response-rewrite replaces the body with the conf body", async () => {
  const result = await runResponsePlugin(responseRewrite, { conf: { body: "new" } });
  assert.equal(result.bodyText, "new");
  assert.equal(result.bodyAsked, false);
});

test("response-rewrite filters rewrite the upstream body once or globally", async () => {
  const result = await runResponsePlugin(responseRewrite, {
    conf: {
      body: "ignored",
      filters: [
        { regex: "a+", scope: "once", replace: "$1" },
        { regex: "o", scope: "global", replace: "0" },
      ],
    },
    response: { body: "aa boo aa foo" },
  });
  assert.equal(result.bodyText, "$1 b00 aa f00");
  assert.deepEqual(result.asked, [{ type: "respBody" }]);
});

test("response-rewrite keeps the upstream body when no filter matches", async () => {
  const result = await runResponsePlugin(responseRewrite, {
    conf: { body: "ignored", filters: [{ regex: "x", replace: "y" }] },
    response: { body: "abc" },
  });
  assert.deepEqual(result.result, {});
  assert.equal(result.bodyAsked, true);
});

test("response-rewrite.parseConf() rejects a bad regex, scope or status", () => {
  assert.throws(
    () => responseRewrite.parseConf('{"filters":[{"regex":"("}]}'),
    /"filters\[0\]"\.regex "\(" does not compile/,
  );
  assert.throws(
    () => responseRewrite.parseConf('{"filters":[{"regex":"a","scope":"all"}]}'),
    /scope must be "once" or "global"/,
  );
  assert.throws(() => responseRewrite.parseConf('{"status":42}'), /"status" must be/);
});
