// Tests of the lazily decoded request headers: same names and values as the eager decode.

import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeHttpReqCallRequest, encodeHttpReqCallRequest } from "./http_req_call.ts";
import { NameCache, textEntryHasValue, textEntryLowerName } from "./lazy_text_entries.ts";
import type { TextEntry } from "./types.ts";

const names = new NameCache();

function decoded(headers: TextEntry[]) {
  const payload = encodeHttpReqCallRequest({
    id: 1,
    srcIp: undefined,
    method: 0,
    path: "/",
    args: [],
    headers,
    confToken: 1,
  });
  return decodeHttpReqCallRequest(payload, names);
}

test("decodeHttpReqCallRequest().lazyHeaders gives the names, lower-case names, presence and values of headers", () => {
  const headers: TextEntry[] = [
    { name: "Host", value: "example.com" },
    { name: "x-empty", value: "" },
    { name: "x-flag" },
    { name: "", value: "no name" },
    { name: "X-Ünïcode", value: "välue ✓" },
    { name: "x-" + "long-".repeat(10), value: "v".repeat(100) },
    // Same length, first, middle and last byte as "x-aaa-b": may share a cache slot.
    { name: "x-aaa-b", value: "1" },
    { name: "x-aba-b", value: "2" },
    { name: "X-AAA-B", value: "3" },
  ];
  // Twice: the second decode finds the names in the cache.
  for (let round = 0; round < 2; round++) {
    const lazy = decoded(headers).lazyHeaders!;
    assert.equal(lazy.length, headers.length);
    for (let i = 0; i < headers.length; i++) {
      const entry = lazy[i]!;
      assert.equal(entry.name, headers[i]!.name);
      assert.equal(textEntryLowerName(entry), headers[i]!.name.toLowerCase());
      assert.equal(textEntryHasValue(entry), headers[i]!.value !== undefined);
      assert.equal(entry.value, headers[i]!.value);
    }
  }
});

test("decodeHttpReqCallRequest().lazyHeaders is one array per request and leaves .headers plain objects", () => {
  const req = decoded([{ name: "host", value: "h" }]);
  assert.equal(req.lazyHeaders, req.lazyHeaders);
  assert.deepEqual(req.headers, [{ name: "host", value: "h" }]);
  assert.deepEqual(JSON.parse(JSON.stringify(req.lazyHeaders)), [{ name: "host", value: "h" }]);
  // Decoded without a name cache, the entries are the same.
  const uncached = decodeHttpReqCallRequest(
    encodeHttpReqCallRequest({
      id: 1,
      srcIp: undefined,
      method: 0,
      path: "/",
      args: [],
      headers: [{ name: "host", value: "h" }],
      confToken: 1,
    }),
  );
  assert.deepEqual(JSON.parse(JSON.stringify(uncached.lazyHeaders)), [
    { name: "host", value: "h" },
  ]);
});
