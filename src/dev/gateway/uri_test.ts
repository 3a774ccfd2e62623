// Tests of request-target splitting, nginx $uri normalization and APISIX path escaping.

import assert from "node:assert/strict";
import { test } from "node:test";
import { escapeUriPath, normalizeUri, percentDecode, splitTarget } from "./uri.ts";

test("splitTarget() splits at the first ? and tells no query from an empty one", () => {
  assert.deepEqual(splitTarget("/a?b=1?c"), { path: "/a", query: "b=1?c" });
  assert.deepEqual(splitTarget("/a?"), { path: "/a", query: "" });
  assert.deepEqual(splitTarget("/a"), { path: "/a", query: undefined });
});

test("normalizeUri() decodes escapes, merges slashes and resolves dot segments", () => {
  assert.equal(normalizeUri("/a%20b//c/./d/../e"), "/a b/c/e");
  assert.equal(normalizeUri("/a/b/.."), "/a/");
  assert.equal(normalizeUri("/a/."), "/a/");
  assert.equal(normalizeUri("/"), "/");
  assert.equal(normalizeUri("//"), "/");
  assert.equal(normalizeUri("/x%2Fy"), "/x/y");
  assert.equal(normalizeUri("/caf%C3%A9"), "/café");
  assert.equal(normalizeUri("/keep+plus"), "/keep+plus");
  assert.equal(normalizeUri("/trailing/"), "/trailing/");
});

test("normalizeUri() refuses what nginx answers with 400", () => {
  assert.equal(normalizeUri("/../etc"), undefined);
  assert.equal(normalizeUri("/a/../../b"), undefined);
  assert.equal(normalizeUri("/bad%zz"), undefined);
  assert.equal(normalizeUri("/nul%00"), undefined);
  assert.equal(normalizeUri("relative"), undefined);
});

test("escapeUriPath() escapes space, #, %, ?, control and non-ASCII bytes only", () => {
  assert.equal(escapeUriPath("/p?a=2"), "/p%3Fa=2");
  assert.equal(escapeUriPath("/a b#c%d"), "/a%20b%23c%25d");
  assert.equal(escapeUriPath("/é"), "/%C3%A9");
  assert.equal(escapeUriPath("/\u0001\u007f"), "/%01%7F");
  const plain = "/a-b_c.d~e!$&'()*+,;=:@/[x]";
  assert.equal(escapeUriPath(plain), plain);
});

test("percentDecode() keeps invalid escapes and maps + to space only when asked", () => {
  assert.equal(percentDecode("a+b%21%zz%4", true), "a b!%zz%4");
  assert.equal(percentDecode("a+b", false), "a+b");
});
