// Tests of the APISIX variables answered to ExtraInfo Var questions.

import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveVar, type VarSource } from "./vars.ts";

function source(init: Partial<VarSource> = {}): VarSource {
  return {
    method: "POST",
    uri: "/a b",
    realRequestUri: "/a%20b?X=1&x=2&flag",
    args: "X=1&x=2&flag",
    headers: [
      { name: "host", value: "Example.COM:9080" },
      { name: "x-dup", value: "1" },
      { name: "x-dup", value: "2" },
      { name: "cookie", value: "a=1; b=2" },
      { name: "cookie", value: "c=3" },
      { name: "content-type", value: "application/json" },
    ],
    remoteAddress: "127.0.0.1",
    remotePort: 5000,
    serverAddress: "127.0.0.1",
    serverPort: 9080,
    serverProtocol: "HTTP/1.1",
    routeId: "r1",
    routeName: undefined,
    upstreamUri: "",
    upstreamHost: "Example.COM:9080",
    ...init,
  };
}

test("resolveVar() answers the request line and connection variables", () => {
  const s = source();
  assert.equal(resolveVar("request_method", s), "POST");
  assert.equal(resolveVar("uri", s), "/a b");
  assert.equal(resolveVar("request_uri", s), "/a b?X=1&x=2&flag");
  assert.equal(resolveVar("real_request_uri", s), "/a%20b?X=1&x=2&flag");
  assert.equal(resolveVar("args", s), "X=1&x=2&flag");
  assert.equal(resolveVar("is_args", s), "?");
  assert.equal(resolveVar("scheme", s), "http");
  assert.equal(resolveVar("host", s), "example.com");
  assert.equal(resolveVar("remote_addr", s), "127.0.0.1");
  assert.equal(resolveVar("remote_port", s), "5000");
  assert.equal(resolveVar("server_addr", s), "127.0.0.1");
  assert.equal(resolveVar("server_port", s), "9080");
  assert.equal(resolveVar("server_protocol", s), "HTTP/1.1");
  assert.equal(resolveVar("content_type", s), "application/json");
  assert.equal(resolveVar("route_id", s), "r1");
  assert.equal(resolveVar("upstream_uri", s), "");
});

test("resolveVar() leaves unknown and unset variables absent", () => {
  const s = source({ args: undefined });
  assert.equal(resolveVar("no_such_var", s), undefined);
  assert.equal(resolveVar("route_name", s), undefined);
  assert.equal(resolveVar("args", s), undefined);
  assert.equal(resolveVar("is_args", s), "");
  assert.equal(resolveVar("request_uri", s), "/a b");
  assert.equal(resolveVar("content_length", s), undefined);
});

test("resolveVar() reads arg_* raw, first match, name case-insensitive, = required", () => {
  const s = source({ args: "X=a%20b&x=2&flag&e=" });
  assert.equal(resolveVar("arg_x", s), "a%20b");
  assert.equal(resolveVar("arg_flag", s), undefined);
  assert.equal(resolveVar("arg_e", s), "");
  assert.equal(resolveVar("arg_missing", s), undefined);
});

test("resolveVar() joins repeated http_* lines, cookies with ; and reads cookie_*", () => {
  const s = source();
  assert.equal(resolveVar("http_x_dup", s), "1, 2");
  assert.equal(resolveVar("http_cookie", s), "a=1; b=2; c=3");
  assert.equal(resolveVar("http_host", s), "Example.COM:9080");
  assert.equal(resolveVar("http_missing", s), undefined);
  assert.equal(resolveVar("cookie_b", s), "2");
  assert.equal(resolveVar("cookie_c", s), "3");
  assert.equal(resolveVar("cookie_z", s), undefined);
});

test("resolveVar() host falls back to the server address and strips an IPv6 port", () => {
  assert.equal(resolveVar("host", source({ headers: [] })), "127.0.0.1");
  assert.equal(
    resolveVar("host", source({ headers: [{ name: "host", value: "[::1]:80" }] })),
    "[::1]",
  );
});
