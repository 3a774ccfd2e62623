// Tests of the built-in echo upstream.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { HttpServerRequest } from "../http/http_types.ts";
import { type EchoBody, echoUpstream } from "./echo.ts";

function request(init: Partial<HttpServerRequest>): HttpServerRequest {
  return {
    method: "GET",
    target: "/",
    headers: [],
    body: new Uint8Array(0),
    httpVersion: "1.1",
    remoteAddress: "127.0.0.1",
    remotePort: 1,
    localAddress: "127.0.0.1",
    localPort: 2,
    ...init,
  };
}

function echoed(init: Partial<HttpServerRequest>): EchoBody {
  const response = echoUpstream(request(init));
  assert.equal(response.status, 200);
  assert.deepEqual(response.headers, [{ name: "Content-Type", value: "application/json" }]);
  return JSON.parse(new TextDecoder().decode(response.body));
}

test("echoUpstream() returns method, raw uri, decoded args and headers as JSON", () => {
  const body = echoed({
    method: "POST",
    target: "/p%20q?a=1&a=2&flag&__proto__=x",
    headers: [
      { name: "X-Dup", value: "1" },
      { name: "x-dup", value: "2" },
      { name: "Host", value: "h" },
    ],
    body: new TextEncoder().encode("héllo"),
  });
  assert.deepEqual(body, {
    upstream: "echo",
    method: "POST",
    uri: "/p%20q?a=1&a=2&flag&__proto__=x",
    args: { a: ["1", "2"], flag: true, ["__proto__"]: "x" },
    headers: { "x-dup": ["1", "2"], host: "h" },
    body: "héllo",
  });
});

test("echoUpstream() returns a non-UTF-8 body as base64 and omits an empty one", () => {
  assert.equal(echoed({ body: new Uint8Array([0xff, 0x00]) }).body_base64, "/wA=");
  const empty = echoed({});
  assert.equal("body" in empty, false);
  assert.equal("body_base64" in empty, false);
});
