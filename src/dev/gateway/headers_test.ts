// Tests of APISIX's header tables: request header rewrites, Stop/resp_headers/post-resp rules.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  applyRequestHeaderRewrite,
  applyResponseHeaders,
  headerValue,
  HIDDEN_UPSTREAM_HEADERS,
  IGNORED_RESPONSE_HEADERS,
  lowerCaseHeaders,
  overlayHeaders,
  withoutHeaders,
} from "./headers.ts";

test("lowerCaseHeaders() lower-cases names and keeps one entry per line", () => {
  assert.deepEqual(
    lowerCaseHeaders([{ name: "X-Dup", value: "1" }, { name: "x-dup", value: "2" }]),
    [{ name: "x-dup", value: "1" }, { name: "x-dup", value: "2" }],
  );
});

test("applyRequestHeaderRewrite() sets over every line, deletes on no value, last duplicate wins", () => {
  const result = applyRequestHeaderRewrite(
    [
      { name: "a", value: "1" },
      { name: "a", value: "2" },
      { name: "b", value: "3" },
      { name: "c", value: "4" },
    ],
    [
      { name: "A", value: "x" },
      { name: "b" },
      { name: "c", value: "" },
      { name: "d", value: "first" },
      { name: "d", value: "last" },
    ],
  );
  assert.deepEqual(result.headers, [{ name: "a", value: "x" }, { name: "d", value: "last" }]);
  assert.equal(result.upstreamHost, undefined);
});

test("applyRequestHeaderRewrite() makes a host entry (any case) the upstream host", () => {
  const result = applyRequestHeaderRewrite([{ name: "host", value: "old" }], [
    { name: "Host", value: "new.example" },
  ]);
  assert.deepEqual(result.headers, [{ name: "host", value: "new.example" }]);
  assert.equal(result.upstreamHost, "new.example");
});

test("applyResponseHeaders() sets on the first entry of a name, appends later, deletes on no value", () => {
  const target = [
    { name: "X-Old", value: "o" },
    { name: "x-a", value: "before" },
    { name: "x-gone", value: "g" },
  ];
  applyResponseHeaders(target, [
    { name: "X-A", value: "1" },
    { name: "x-a", value: "2" },
    { name: "X-Gone" },
  ]);
  assert.deepEqual(target, [
    { name: "X-Old", value: "o" },
    { name: "x-a", value: "1" },
    { name: "x-a", value: "2" },
  ]);
});

test("applyResponseHeaders() skips ignored names (the resp_headers rule)", () => {
  const target: { name: string; value: string }[] = [];
  applyResponseHeaders(target, [
    { name: "Content-Type", value: "text/x" },
    { name: "Location", value: "/x" },
    { name: "x-kept", value: "1" },
  ], { ignore: IGNORED_RESPONSE_HEADERS });
  assert.deepEqual(target, [{ name: "x-kept", value: "1" }]);
});

test("IGNORED_RESPONSE_HEADERS holds exactly APISIX's ten names", () => {
  assert.deepEqual([...IGNORED_RESPONSE_HEADERS].sort(), [
    "connection",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-type",
    "location",
    "server",
    "transfer-encoding",
    "www-authenticate",
  ]);
});

test("withoutHeaders() drops names case-insensitively and keeps the original case of others", () => {
  assert.deepEqual(
    withoutHeaders([
      { name: "Content-Type", value: "a" },
      { name: "Transfer-Encoding", value: "chunked" },
      { name: "X-Up", value: "1" },
    ], HIDDEN_UPSTREAM_HEADERS),
    [{ name: "Content-Type", value: "a" }, { name: "X-Up", value: "1" }],
  );
});

test("overlayHeaders() replaces every line of a name present on top", () => {
  assert.deepEqual(
    overlayHeaders(
      [{ name: "X", value: "1" }, { name: "x", value: "2" }, { name: "Y", value: "3" }],
      [{ name: "x", value: "new" }],
    ),
    [{ name: "Y", value: "3" }, { name: "x", value: "new" }],
  );
});

test("headerValue() finds the first line case-insensitively", () => {
  assert.equal(headerValue([{ name: "A", value: "1" }, { name: "a", value: "2" }], "a"), "1");
  assert.equal(headerValue([], "a"), undefined);
});
