// Tests of the node:http HttpRuntime over real TCP sockets on 127.0.0.1.

import assert from "node:assert/strict";
import { test } from "node:test";
import { createNodeHttpRuntime } from "./http_node.ts";
import {
  type HttpClientRequest,
  HttpListenError,
  type HttpServerRequest,
  UpstreamTimeoutError,
} from "./http_types.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function request(port: number, init: Partial<HttpClientRequest> = {}): HttpClientRequest {
  return {
    scheme: "http",
    hostname: "127.0.0.1",
    port,
    method: "GET",
    target: "/",
    // The client adds nothing, and an HTTP/1.1 server refuses a request without Host.
    headers: [{ name: "Host", value: `127.0.0.1:${port}` }],
    timeoutMs: 5_000,
    ...init,
  };
}

test("serve() and request() keep header lines, Host, target and body as sent", async () => {
  const http = createNodeHttpRuntime();
  const seen: HttpServerRequest[] = [];
  const server = await http.serve({ hostname: "127.0.0.1", port: 0 }, (req) => {
    seen.push(req);
    return Promise.resolve({
      status: 201,
      headers: [
        { name: "X-Multi", value: "a" },
        { name: "x-multi", value: "b" },
        { name: "Set-Cookie", value: "c=1" },
        { name: "Set-Cookie", value: "d=2" },
      ],
      body: encoder.encode("created"),
    });
  });
  try {
    const response = await http.request(request(server.port, {
      method: "POST",
      target: "/p%20q//r?a=1&a=2&flag",
      headers: [
        { name: "Host", value: "virtual.example" },
        { name: "X-Dup", value: "1" },
        { name: "x-dup", value: "2" },
        { name: "Content-Length", value: "4" },
      ],
      body: encoder.encode("data"),
    }));
    assert.equal(response.status, 201);
    assert.equal(decoder.decode(response.body), "created");
    const lower = response.headers.map(({ name, value }) => [name.toLowerCase(), value]);
    assert.deepEqual(lower.filter(([name]) => name === "x-multi"), [["x-multi", "a"], [
      "x-multi",
      "b",
    ]]);
    assert.deepEqual(lower.filter(([name]) => name === "set-cookie").length, 2);
    assert.deepEqual(lower.filter(([name]) => name === "content-length"), [[
      "content-length",
      "7",
    ]]);
    const got = seen[0]!;
    assert.equal(got.method, "POST");
    assert.equal(got.target, "/p%20q//r?a=1&a=2&flag");
    assert.equal(got.httpVersion, "1.1");
    assert.deepEqual(got.headers.slice(0, 3), [
      { name: "Host", value: "virtual.example" },
      { name: "X-Dup", value: "1" },
      { name: "x-dup", value: "2" },
    ]);
    assert.equal(decoder.decode(got.body), "data");
    assert.equal(got.remoteAddress, "127.0.0.1");
    assert.ok(got.remotePort > 0);
    assert.equal(got.localAddress, "127.0.0.1");
    assert.equal(got.localPort, server.port);
  } finally {
    await server.close();
    http.close();
  }
});

test("serve() answers 500 when the handler rejects and sends no body to HEAD", async () => {
  const http = createNodeHttpRuntime();
  const server = await http.serve(
    { hostname: "127.0.0.1", port: 0 },
    (req) =>
      req.target === "/fail"
        ? Promise.reject(new Error("handler failed"))
        : Promise.resolve({ status: 200, headers: [], body: encoder.encode("body") }),
  );
  try {
    const failed = await http.request(request(server.port, { target: "/fail" }));
    assert.equal(failed.status, 500);
    const head = await http.request(request(server.port, { method: "HEAD" }));
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
  } finally {
    await server.close();
    http.close();
  }
});

test("request() rejects with UpstreamTimeoutError when the upstream stays silent", async () => {
  const http = createNodeHttpRuntime();
  const server = await http.serve(
    { hostname: "127.0.0.1", port: 0 },
    () => new Promise(() => {}),
  );
  try {
    await assert.rejects(
      http.request(request(server.port, { timeoutMs: 50 })),
      (error: unknown) => {
        assert.ok(error instanceof UpstreamTimeoutError);
        assert.match(error.message, /^Upstream 127\.0\.0\.1:\d+ did not answer within 50 ms$/);
        return true;
      },
    );
  } finally {
    await server.close();
    http.close();
  }
});

test("serve() rejects with HttpListenError naming the address when the port is taken", async () => {
  const http = createNodeHttpRuntime();
  const server = await http.serve(
    { hostname: "127.0.0.1", port: 0 },
    () => Promise.resolve({ status: 204, headers: [] }),
  );
  try {
    await assert.rejects(
      http.serve(
        { hostname: "127.0.0.1", port: server.port },
        () => Promise.resolve({ status: 204, headers: [] }),
      ),
      (error: unknown) => {
        assert.ok(error instanceof HttpListenError);
        assert.match(
          error.message,
          new RegExp(`^Cannot listen on 127\\.0\\.0\\.1:${server.port}: `),
        );
        return true;
      },
    );
  } finally {
    await server.close();
    http.close();
  }
});

test("close() ends keepalive connections so the port is free again", async () => {
  const http = createNodeHttpRuntime();
  const server = await http.serve(
    { hostname: "127.0.0.1", port: 0 },
    () => Promise.resolve({ status: 204, headers: [] }),
  );
  const port = server.port;
  assert.equal((await http.request(request(port))).status, 204);
  await server.close();
  await server.close();
  await assert.rejects(http.request(request(port)));
  const again = await http.serve(
    { hostname: "127.0.0.1", port },
    () => Promise.resolve({ status: 204, headers: [] }),
  );
  await again.close();
  http.close();
});
