// Tests of the bundled "request-body-rewrite" plugin.

import { test } from "node:test";
import assert from "node:assert/strict";
import { runRequestPlugin } from "../testing.ts";
import { requestBodyRewrite } from "./request_body_rewrite.ts";

test("request-body-rewrite sends a Rewrite with only the new body", async () => {
  const result = await runRequestPlugin(requestBodyRewrite, {
    conf: { new_body: "replaced" },
    request: { method: "POST", body: "original" },
  });
  assert.equal(result.rewrite?.type, "rewrite");
  assert.equal(result.bodyText, "replaced");
  assert.equal(result.rewrite?.path, undefined);
  assert.equal(result.rewrite?.headers, undefined);
  assert.equal(result.bodyAsked, false);
});

test("request-body-rewrite.parseConf() requires a non-empty new_body", () => {
  assert.throws(() => requestBodyRewrite.parseConf("{}"), /"new_body" must be a non-empty string/);
  assert.throws(
    () => requestBodyRewrite.parseConf('{"new_body":3}'),
    /"new_body" must be a string/,
  );
});
