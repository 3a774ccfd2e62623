// Tests of DevGateway with a real RunnerServer over the memory runtime and a recording fake upstream.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { bundledPlugins } from "../../../plugins/mod.ts";
import {
  gatewayTestPlugins,
  type Inspected,
} from "../../../tests/support/fixtures/gateway_plugins.ts";
import { ApisixClient } from "../client/client.ts";
import { PluginRegistry } from "../../plugin/registry.ts";
import type {
  HttpClientRequest,
  HttpClientResponse,
  HttpHeader,
  HttpServerRequest,
  HttpServerResponse,
} from "../http/http_types.ts";
import { createMemoryRuntime, type MemoryRuntime } from "../../runtime/memory.ts";
import { RunnerServer } from "../../server/server.ts";
import { DevGateway, SERVER_HEADER } from "./gateway.ts";
import { parseRoutes } from "./routes.ts";

const SOCKET = "/run/gateway-test.sock";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Records upstream requests and answers with `reply` (default: JSON naming the target). */
class FakeUpstream {
  readonly requests: HttpClientRequest[] = [];
  reply: (req: HttpClientRequest) => HttpClientResponse | Error = (req) => ({
    status: 200,
    headers: [
      { name: "Content-Type", value: "application/json" },
      { name: "X-Up", value: "1" },
      { name: "Server", value: "upstream" },
      { name: "Content-Length", value: "99" },
      { name: "Connection", value: "keep-alive" },
    ],
    body: req.method === "HEAD"
      ? new Uint8Array(0)
      : encoder.encode(JSON.stringify({ target: req.target })),
  });

  request(req: HttpClientRequest): Promise<HttpClientResponse> {
    this.requests.push(req);
    const reply = this.reply(req);
    return reply instanceof Error ? Promise.reject(reply) : Promise.resolve(reply);
  }
}

interface Harness {
  runtime: MemoryRuntime;
  client: ApisixClient;
  upstream: FakeUpstream;
  gateway: DevGateway;
  send(init: Partial<HttpServerRequest>): Promise<HttpServerResponse>;
  restartRunner(): Promise<void>;
  close(): Promise<void>;
}

function startRunner(runtime: MemoryRuntime): Promise<RunnerServer> {
  const server = new RunnerServer({
    runtime,
    registry: new PluginRegistry([...bundledPlugins, ...gatewayTestPlugins]),
    socketPath: SOCKET,
    confTtlMs: 60_000,
  });
  return server.start().then(() => server);
}

async function setup(routes: unknown[], options: { runner?: boolean } = {}): Promise<Harness> {
  const runtime = createMemoryRuntime();
  let server = options.runner === false ? undefined : await startRunner(runtime);
  const client = new ApisixClient({ runtime, socketPath: SOCKET });
  const upstream = new FakeUpstream();
  const gateway = new DevGateway({
    client,
    http: upstream,
    routes: parseRoutes({ routes }, "test"),
    echo: { hostname: "127.0.0.1", port: 9081 },
  });
  return {
    runtime,
    client,
    upstream,
    gateway,
    send: (init) =>
      gateway.handle({
        method: "GET",
        target: "/",
        headers: [{ name: "Host", value: "gw.test:9080" }],
        body: new Uint8Array(0),
        httpVersion: "1.1",
        remoteAddress: "10.1.2.3",
        remotePort: 5555,
        localAddress: "127.0.0.1",
        localPort: 9080,
        ...init,
      }),
    async restartRunner() {
      await server?.shutdown(50);
      server = await startRunner(runtime);
    },
    async close() {
      await client.close();
      await server?.shutdown(50);
    },
  };
}

function route(uri: string, plugins: Record<string, unknown>, extra: object = {}) {
  return { id: uri.replace(/\W/g, "") || "root", uri, plugins, ...extra };
}

function phase(name: string, conf: unknown, allowDegradation = false) {
  return {
    conf: [{ name, value: typeof conf === "string" ? conf : JSON.stringify(conf) }],
    allow_degradation: allowDegradation,
  };
}

function text(response: HttpServerResponse): string {
  return decoder.decode(response.body ?? new Uint8Array(0));
}

function headerValues(headers: readonly HttpHeader[], name: string): string[] {
  return headers.filter((h) => h.name.toLowerCase() === name).map((h) => h.value);
}

async function withGateway(
  routes: unknown[],
  body: (h: Harness) => Promise<void>,
  options?: { runner?: boolean },
): Promise<void> {
  const h = await setup(routes, options);
  try {
    await body(h);
  } finally {
    await h.close();
  }
}

describe("DevGateway", () => {
  test("a pre-req Stop answers the client and the upstream is not called", async () => {
    await withGateway([
      route("/say", { "ext-plugin-pre-req": phase("say", { body: "hi" }) }),
    ], async (h) => {
      const response = await h.send({ target: "/say" });
      assert.equal(response.status, 200);
      assert.equal(text(response), "hi");
      assert.deepEqual(headerValues(response.headers, "x-resp-a6-runner"), ["TypeScript"]);
      assert.deepEqual(headerValues(response.headers, "server"), [SERVER_HEADER]);
      assert.equal(h.upstream.requests.length, 0);
    });
  });

  test("a Stop with status 0 answers 200, headers set then appended, an empty body is no body", async () => {
    await withGateway([
      route("/s", {
        "ext-plugin-pre-req": phase("gateway-raw-stop", {
          status: 0,
          headers: [["X-A", "1"], ["x-a", "2"], ["X-Gone", null]],
          body: "",
        }),
      }),
    ], async (h) => {
      const response = await h.send({ target: "/s" });
      assert.equal(response.status, 200);
      assert.equal(response.body, undefined);
      assert.deepEqual(response.headers.filter((x) => x.name !== "Server"), [
        { name: "x-a", value: "1" },
        { name: "x-a", value: "2" },
      ]);
    });
  });

  test("a pre-req Rewrite reaches the upstream with APISIX's semantics", async () => {
    await withGateway([
      route("/r*", {
        "ext-plugin-pre-req": phase("gateway-edit", {
          path: "/new path?x",
          headers: [["X-Set", "s"], ["x-del", null], ["Host", "up.example"]],
          args: [["a", "x"], ["a", "y", "append"], ["drop", null], ["n", "é &"]],
          resp: [["X-Resp", "1"], ["x-resp", "2"], ["Content-Type", "text/ignored"], [
            "X-Up",
            "mine",
          ]],
          body: "new body",
        }),
      }),
    ], async (h) => {
      const response = await h.send({
        target: "/r?a=1&drop=2&keep&e=",
        headers: [
          { name: "Host", value: "gw.test:9080" },
          { name: "X-Del", value: "d" },
          { name: "Content-Length", value: "3" },
        ],
        method: "POST",
        body: encoder.encode("old"),
      });
      assert.equal(response.status, 200);
      const [sent] = h.upstream.requests;
      assert.equal(sent!.target, "/new%20path%3Fx?a=x&a=y&keep&e=&n=%C3%A9%20%26");
      assert.equal(decoder.decode(sent!.body), "new body");
      assert.deepEqual(headerValues(sent!.headers, "host"), ["up.example"]);
      assert.deepEqual(headerValues(sent!.headers, "x-set"), ["s"]);
      assert.deepEqual(headerValues(sent!.headers, "x-del"), []);
      assert.deepEqual(headerValues(sent!.headers, "content-length"), ["8"]);
      assert.deepEqual(headerValues(sent!.headers, "x-real-ip"), ["10.1.2.3"]);
      assert.deepEqual(headerValues(sent!.headers, "x-forwarded-for"), ["10.1.2.3"]);
      // resp_headers: set then append, the ignored content-type dropped, upstream X-Up overridden.
      assert.deepEqual(headerValues(response.headers, "x-resp"), ["1", "2"]);
      assert.deepEqual(headerValues(response.headers, "content-type"), ["application/json"]);
      assert.deepEqual(headerValues(response.headers, "x-up"), ["mine"]);
      // Hop-by-hop and the upstream's own Server / Content-Length do not pass.
      assert.deepEqual(headerValues(response.headers, "connection"), []);
      assert.deepEqual(headerValues(response.headers, "content-length"), []);
      assert.deepEqual(headerValues(response.headers, "server"), [SERVER_HEADER]);
    });
  });

  test("HTTPReqCall carries lower-case headers, host = upstream host, args as APISIX decodes them", async () => {
    await withGateway([
      route("/i*", { "ext-plugin-pre-req": phase("gateway-inspect", { vars: [] }) }),
    ], async (h) => {
      const response = await h.send({
        method: "DELETE",
        target: "/i/a%20b//c/../d?flag&e=&k=v+w&k=2",
        headers: [
          { name: "Host", value: "gw.test:9080" },
          { name: "X-Dup", value: "1" },
          { name: "x-dup", value: "2" },
        ],
      });
      const seen = JSON.parse(text(response)) as Inspected;
      assert.equal(seen.method, "DELETE");
      assert.equal(seen.path, "/i/a b/d");
      assert.deepEqual(seen.args, [["flag", null], ["e", ""], ["k", "v w"], ["k", "2"]]);
      assert.deepEqual(seen.headers, [["host", "gw.test:9080"], ["x-dup", "1"], ["x-dup", "2"]]);
      assert.equal(seen.srcIp, "10.1.2.3");
    });
  });

  test("post-req sees the path and args pre-req rewrote, and the new host", async () => {
    await withGateway([
      route("/p", {
        "ext-plugin-pre-req": phase("gateway-edit", {
          path: "/re written",
          args: [["b", "2"]],
          headers: [["host", "h2.example"]],
        }),
        "ext-plugin-post-req": phase("gateway-inspect", { vars: ["upstream_uri", "uri"] }),
      }),
    ], async (h) => {
      const seen = JSON.parse(text(await h.send({ target: "/p?a=1" }))) as Inspected;
      assert.equal(seen.path, "/re%20written");
      assert.deepEqual(seen.args, [["a", "1"], ["b", "2"]]);
      assert.deepEqual(seen.headers, [["host", "h2.example"]]);
      assert.deepEqual(seen.vars, { upstream_uri: "/re%20written?a=1&b=2", uri: "/p" });
    });
  });

  test("ExtraInfo answers vars, absent for unknown ones, and the request body", async () => {
    const vars = [
      "route_id",
      "remote_addr",
      "remote_port",
      "server_port",
      "request_method",
      "request_uri",
      "arg_q",
      "http_x_dup",
      "host",
      "no_such_var",
    ];
    await withGateway([
      route("/v", { "ext-plugin-post-req": phase("gateway-inspect", { vars }) }),
    ], async (h) => {
      const get = JSON.parse(text(
        await h.send({
          target: "/v?q=a%20b",
          headers: [
            { name: "Host", value: "Gw.Test:9080" },
            { name: "X-Dup", value: "1" },
            { name: "X-Dup", value: "2" },
          ],
        }),
      )) as Inspected;
      assert.deepEqual(get.vars, {
        route_id: "v",
        remote_addr: "10.1.2.3",
        remote_port: "5555",
        server_port: "9080",
        request_method: "GET",
        request_uri: "/v?q=a%20b",
        arg_q: "a%20b",
        http_x_dup: "1, 2",
        host: "gw.test",
        no_such_var: null,
      });
      assert.equal(get.body, null);
      const post = JSON.parse(text(
        await h.send({ method: "POST", target: "/v", body: encoder.encode('{"a":1}') }),
      )) as Inspected;
      assert.equal(post.body, '{"a":1}');
    });
  });

  test("post-req validates the body read through ExtraInfo ReqBody", async () => {
    await withGateway([
      route("/validate", {
        "ext-plugin-post-req": phase("request-validation", { required: ["name"] }),
      }),
    ], async (h) => {
      const bad = await h.send({ method: "POST", target: "/validate", body: encoder.encode("{}") });
      assert.equal(bad.status, 400);
      assert.match(text(bad), /missing required field \\"name\\"/);
      assert.equal(h.upstream.requests.length, 0);
      const good = await h.send({
        method: "POST",
        target: "/validate",
        body: encoder.encode('{"name":"x"}'),
      });
      assert.equal(good.status, 200);
      assert.equal(decoder.decode(h.upstream.requests[0]!.body), '{"name":"x"}');
    });
  });

  test("post-resp with headers: the runner's set is what the client gets", async () => {
    await withGateway([
      route("/rr", {
        "ext-plugin-post-resp": phase("response-rewrite", {
          headers: { "X-Rewritten": "yes" },
          filters: [{ regex: "target", scope: "once", replace: "TARGET" }],
        }),
      }),
    ], async (h) => {
      const response = await h.send({ target: "/rr" });
      assert.equal(response.status, 200);
      assert.equal(text(response), '{"TARGET":"/rr"}');
      assert.deepEqual(headerValues(response.headers, "x-rewritten"), ["yes"]);
      assert.deepEqual(headerValues(response.headers, "content-type"), ["application/json"]);
      assert.deepEqual(headerValues(response.headers, "x-up"), ["1"]);
    });
  });

  test("post-resp without headers: upstream headers are copied minus APISIX's exclusion list", async () => {
    await withGateway([
      route("/up", { "ext-plugin-post-resp": phase("gateway-resp", { upper: true }) }),
      route("/st", { "ext-plugin-post-resp": phase("gateway-resp", { status: 201 }) }),
    ], async (h) => {
      const upper = await h.send({ target: "/up" });
      assert.equal(upper.status, 200);
      assert.equal(text(upper), '{"TARGET":"/UP"}');
      assert.deepEqual(headerValues(upper.headers, "x-up"), ["1"]);
      assert.deepEqual(headerValues(upper.headers, "content-type"), []);
      const status = await h.send({ target: "/st" });
      assert.equal(status.status, 201);
      assert.equal(text(status), '{"target":"/st"}');
    });
  });

  test("post-resp answers vars in the response phase", async () => {
    await withGateway([
      route("/pv", {
        "ext-plugin-post-resp": phase("gateway-inspect", { vars: ["uri", "arg_a"] }),
      }),
    ], async (h) => {
      const response = await h.send({ target: "/pv?a=1" });
      assert.deepEqual(headerValues(response.headers, "x-inspect-vars"), [
        '{"uri":"/pv","arg_a":"1"}',
      ]);
    });
  });

  test("a throwing plugin gives 503, or passes through with allow_degradation", async () => {
    await withGateway([
      route("/strict", { "ext-plugin-pre-req": phase("gateway-throws", {}) }),
      route("/lenient", { "ext-plugin-pre-req": phase("gateway-throws", {}, true) }),
      route("/resp-strict", { "ext-plugin-post-resp": phase("gateway-throws", {}) }),
      route("/resp-lenient", { "ext-plugin-post-resp": phase("gateway-throws", {}, true) }),
    ], async (h) => {
      const strict = await h.send({ target: "/strict" });
      assert.equal(strict.status, 503);
      assert.match(text(strict), /503 Service Temporarily Unavailable/);
      assert.equal(h.upstream.requests.length, 0);
      const lenient = await h.send({ target: "/lenient" });
      assert.equal(lenient.status, 200);
      assert.equal(text(lenient), '{"target":"/lenient"}');
      assert.equal((await h.send({ target: "/resp-strict" })).status, 503);
      const respLenient = await h.send({ target: "/resp-lenient" });
      assert.equal(respLenient.status, 200);
      assert.equal(text(respLenient), '{"target":"/resp-lenient"}');
      assert.deepEqual(headerValues(respLenient.headers, "content-type"), ["application/json"]);
    });
  });

  test("an unreachable runner gives 503, or passes through with allow_degradation", async () => {
    await withGateway([
      route("/strict", { "ext-plugin-pre-req": phase("say", { body: "x" }) }),
      route("/lenient", { "ext-plugin-post-req": phase("say", { body: "x" }, true) }),
    ], async (h) => {
      assert.equal((await h.send({ target: "/strict" })).status, 503);
      const lenient = await h.send({ target: "/lenient" });
      assert.equal(lenient.status, 200);
      assert.equal(h.upstream.requests.length, 1);
    }, { runner: false });
  });

  test("after a runner restart the gateway re-prepares its confs transparently", async () => {
    await withGateway([
      route("/say", { "ext-plugin-pre-req": phase("say", { body: "hi" }) }),
    ], async (h) => {
      assert.equal(text(await h.send({ target: "/say" })), "hi");
      await h.restartRunner();
      const response = await h.send({ target: "/say" });
      assert.equal(response.status, 200);
      assert.equal(text(response), "hi");
      assert.equal(h.client.stats.tokenFlushes, 1);
      assert.equal(h.client.stats.prepareConfs, 2);
    });
  });

  test("no route is a 404, a path nginx refuses a 400, an upstream failure a 502", async () => {
    await withGateway([route("/up", {})], async (h) => {
      const missing = await h.send({ target: "/nothing" });
      assert.equal(missing.status, 404);
      assert.equal(text(missing), '{"error_msg":"404 Route Not Found"}\n');
      assert.equal((await h.send({ target: "/../up" })).status, 400);
      h.upstream.reply = () => new Error("connect ECONNREFUSED");
      assert.equal((await h.send({ target: "/up" })).status, 502);
    });
  });

  test("framing headers are the server's: dropped, except Content-Length of a HEAD answer", async () => {
    await withGateway([
      route("/up", {}),
      route("/stop", {
        "ext-plugin-pre-req": phase("gateway-raw-stop", {
          status: 200,
          headers: [["Content-Length", "1"], ["Transfer-Encoding", "chunked"], ["Server", "x"]],
          body: "stopped",
        }),
      }),
    ], async (h) => {
      const head = await h.send({ method: "HEAD", target: "/up" });
      assert.deepEqual(headerValues(head.headers, "content-length"), ["99"]);
      const stopped = await h.send({ target: "/stop" });
      assert.equal(text(stopped), "stopped");
      assert.deepEqual(headerValues(stopped.headers, "content-length"), []);
      assert.deepEqual(headerValues(stopped.headers, "transfer-encoding"), []);
      assert.deepEqual(headerValues(stopped.headers, "server"), [SERVER_HEADER]);
    });
  });

  test("a request in absolute form is routed by its path", async () => {
    await withGateway([route("/up", {})], async (h) => {
      const response = await h.send({ target: "http://gw.test:9080/up?a=1" });
      assert.equal(response.status, 200);
      assert.equal(h.upstream.requests[0]!.target, "/up?a=1");
    });
  });
});
