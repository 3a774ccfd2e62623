// Tests of the bundled "request-validation" plugin.

import { test } from "node:test";
import assert from "node:assert/strict";
import { runRequestPlugin } from "../testing.ts";
import { requestValidation } from "./request_validation.ts";

const conf = { required: ["name", "age"] };

test("request-validation passes a valid JSON body unchanged", async () => {
  const result = await runRequestPlugin(requestValidation, {
    conf,
    request: { method: "POST", body: '{"name":"a","age":1}' },
  });
  assert.equal(result.action, undefined);
  assert.equal(result.bodyAsked, true);
});

test("request-validation stops with 400 naming the missing field", async () => {
  const result = await runRequestPlugin(requestValidation, {
    conf,
    request: { method: "POST", body: '{"name":"a"}' },
  });
  assert.equal(result.stop?.status, 400);
  assert.deepEqual(JSON.parse(result.bodyText!), {
    error: 'missing required field "age"',
    field: "age",
  });
  assert.deepEqual(result.stop?.headers, [{ name: "content-type", value: "application/json" }]);
});

test("request-validation stops with 400 for a body that is not a JSON object", async () => {
  for (const body of ["not json", "[1]", undefined]) {
    const result = await runRequestPlugin(requestValidation, { conf, request: { body } });
    assert.equal(result.stop?.status, 400, String(body));
    assert.match(result.bodyText!, /must be a JSON object/);
  }
});
