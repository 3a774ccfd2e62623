// Tests of RequestState: what HTTPReqCall carries and how a Rewrite changes the upstream request.

import assert from "node:assert/strict";
import { test } from "node:test";
import { RequestState, type RequestStateInit } from "./request_state.ts";
import { normalizeUri, splitTarget } from "./uri.ts";

const encoder = new TextEncoder();

function state(target: string, init: Partial<RequestStateInit> = {}): RequestState {
  return new RequestState({
    method: "GET",
    target,
    uri: normalizeUri(splitTarget(target).path)!,
    headers: [{ name: "Host", value: "client.example:9080" }, { name: "X-A", value: "1" }],
    body: new Uint8Array(0),
    remoteAddress: "127.0.0.1",
    remotePort: 4000,
    serverAddress: "127.0.0.1",
    serverPort: 9080,
    serverProtocol: "HTTP/1.1",
    routeId: "r",
    routeName: undefined,
    ...init,
  });
}

test("RequestState sends the normalized uri, decoded args and host = upstream host", () => {
  const s = state("/a%20b//c?x=1&flag&e=");
  assert.deepEqual(s.callTarget(), {
    path: "/a b/c",
    args: [{ name: "x", value: "1" }, { name: "flag" }, { name: "e", value: "" }],
  });
  assert.deepEqual(s.callHeaders(), [
    { name: "host", value: "client.example:9080" },
    { name: "x-a", value: "1" },
  ]);
  // Untouched: the raw target goes upstream as the client sent it.
  assert.equal(s.upstreamTarget(), "/a%20b//c?x=1&flag&e=");
});

test("RequestState.applyRewrite() escapes the path and keeps the args on a path-only rewrite", () => {
  const s = state("/old?keep=1");
  s.applyRewrite({ type: "rewrite", path: "/new path?not=args" });
  assert.equal(s.upstreamTarget(), "/new%20path%3Fnot=args?keep=1");
  assert.equal(s.upstreamUri, "/new%20path%3Fnot=args?keep=1");
});

test("RequestState.applyRewrite() processes args in order and re-encodes them", () => {
  const s = state("/p?a=1&b=2&a=3");
  s.applyRewrite({
    type: "rewrite",
    args: [{ name: "a", value: "x y" }, { name: "b" }, { name: "c", value: "" }],
  });
  assert.equal(s.args, "a=x%20y&c=");
  // Args changed, path not: the escaped $uri plus the new args.
  assert.equal(s.upstreamTarget(), "/p?a=x%20y&c=");
});

test("RequestState.applyRewrite() with path and args joins them, deleting the last arg drops the ?", () => {
  const s = state("/p?a=1");
  s.applyRewrite({ type: "rewrite", path: "/q", args: [{ name: "a" }] });
  assert.equal(s.args, undefined);
  assert.equal(s.upstreamTarget(), "/q");
});

test("RequestState.callTarget() after a path rewrite sends the escaped path and its args", () => {
  const s = state("/p?a=1");
  s.applyRewrite({ type: "rewrite", path: "/n m", args: [{ name: "b", value: "2" }] });
  assert.deepEqual(s.callTarget(), {
    path: "/n%20m",
    args: [{ name: "a", value: "1" }, { name: "b", value: "2" }],
  });
});

test("RequestState.applyRewrite() sets headers, the upstream host, resp_headers and a body", () => {
  const s = state("/");
  s.applyRewrite({
    type: "rewrite",
    headers: [{ name: "X-A" }, { name: "HOST", value: "up.example" }, { name: "x-b", value: "2" }],
    respHeaders: [
      { name: "X-Resp", value: "1" },
      { name: "x-resp", value: "2" },
      { name: "Content-Type", value: "ignored" },
    ],
    body: encoder.encode("new body"),
  });
  assert.equal(s.upstreamHost, "up.example");
  assert.deepEqual(s.callHeaders(), [
    { name: "host", value: "up.example" },
    { name: "x-b", value: "2" },
  ]);
  assert.deepEqual(s.respHeaders, [{ name: "x-resp", value: "1" }, { name: "x-resp", value: "2" }]);
  assert.equal(new TextDecoder().decode(s.body), "new body");
});

test("RequestState.applyRewrite() ignores an empty body", () => {
  const s = state("/", { body: encoder.encode("original") });
  s.applyRewrite({ type: "rewrite", body: new Uint8Array(0) });
  assert.equal(new TextDecoder().decode(s.body), "original");
});
