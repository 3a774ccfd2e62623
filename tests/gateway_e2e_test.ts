// End-to-end tests of the dev gateway: real HTTP through the gateway to real runner processes.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ApisixClient } from "../src/dev/client/client.ts";
import { DevGateway, serveEcho } from "../src/dev/gateway/gateway.ts";
import type { EchoBody } from "../src/dev/gateway/echo.ts";
import { parseRoutes } from "../src/dev/gateway/routes.ts";
import { createNodeHttpRuntime } from "../src/dev/http/http_node.ts";
import type { HttpClientResponse, HttpHeader, HttpServer } from "../src/dev/http/http_types.ts";
import { createNodeRuntime } from "../src/runtime/node.ts";
import type { Inspected } from "./support/fixtures/gateway_plugins.ts";
import {
  type RunnerProcess,
  runnerUnavailable,
  spawnRunner,
  tempSocketPath,
} from "./support/runner_process.ts";

const ENTRY = "tests/support/fixtures/gateway_plugins_entry.ts";
const RUNTIMES = ["deno", "bun"] as const;
const TEST_TIMEOUT_MS = 20_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function phase(name: string, conf: unknown, allowDegradation = false) {
  return { conf: [{ name, value: JSON.stringify(conf) }], allow_degradation: allowDegradation };
}

/** One route per kind the gateway handles; every upstream is the echo upstream. */
const ROUTES = [
  { id: "say", uri: "/say", plugins: { "ext-plugin-pre-req": phase("say", { body: "hi" }) } },
  {
    id: "stop0",
    uri: "/stop0",
    plugins: {
      "ext-plugin-pre-req": phase("gateway-raw-stop", {
        status: 0,
        headers: [["X-A", "1"], ["x-a", "2"]],
      }),
    },
  },
  {
    id: "rewrite",
    uri: "/rewrite*",
    plugins: {
      "ext-plugin-pre-req": phase("gateway-edit", {
        path: "/up stream?x",
        headers: [["X-Set", "s"], ["x-del", null], ["Host", "up.example"]],
        args: [["a", "x"], ["a", "y", "append"], ["drop", null]],
        resp: [["X-Resp", "1"], ["x-resp", "2"], ["Content-Type", "text/ignored"]],
        body: "rewritten body",
      }),
    },
  },
  {
    id: "inspect",
    uri: "/inspect*",
    plugins: {
      "ext-plugin-post-req": phase("gateway-inspect", {
        vars: [
          "remote_addr",
          "remote_port",
          "server_addr",
          "server_port",
          "request_method",
          "uri",
          "request_uri",
          "args",
          "scheme",
          "host",
          "arg_q",
          "http_x_dup",
          "route_id",
          "no_such_var",
        ],
      }),
    },
  },
  {
    id: "forward",
    uri: "/forward",
    plugins: {
      "ext-plugin-post-req": phase("forward-vars", { vars: ["route_id", "arg_name"] }),
    },
  },
  {
    id: "validate",
    uri: "/validate",
    plugins: { "ext-plugin-post-req": phase("request-validation", { required: ["name"] }) },
  },
  {
    id: "resp",
    uri: "/resp",
    plugins: {
      "ext-plugin-post-resp": phase("response-rewrite", {
        headers: { "X-Rewritten": "yes" },
        filters: [{ regex: "echo", scope: "once", replace: "ECHO" }],
      }),
    },
  },
  {
    id: "resp-plain",
    uri: "/resp-plain",
    plugins: { "ext-plugin-post-resp": phase("gateway-resp", { status: 202, upper: true }) },
  },
  { id: "t1", uri: "/throws", plugins: { "ext-plugin-pre-req": phase("gateway-throws", {}) } },
  {
    id: "t2",
    uri: "/throws-degraded",
    plugins: { "ext-plugin-pre-req": phase("gateway-throws", {}, true) },
  },
  {
    id: "t3",
    uri: "/throws-resp",
    plugins: { "ext-plugin-post-resp": phase("gateway-throws", {}) },
  },
  {
    id: "t4",
    uri: "/throws-resp-degraded",
    plugins: { "ext-plugin-post-resp": phase("gateway-throws", {}, true) },
  },
];

/** A gateway in the test process, talking to the runner at `socketPath`. */
interface Gateway {
  readonly port: number;
  readonly client: ApisixClient;
  send(
    path: string,
    init?: { method?: string; headers?: HttpHeader[]; body?: string },
  ): Promise<HttpClientResponse>;
  close(): Promise<void>;
}

async function startGateway(socketPath: string, routes: unknown[] = ROUTES): Promise<Gateway> {
  const http = createNodeHttpRuntime();
  const client = new ApisixClient({ runtime: createNodeRuntime(), socketPath });
  const echo = await serveEcho(http, { hostname: "127.0.0.1", port: 0 });
  const gateway = new DevGateway({
    client,
    http,
    routes: parseRoutes({ routes }, "gateway e2e"),
    echo: { hostname: "127.0.0.1", port: echo.port },
  });
  const server: HttpServer = await http.serve(
    { hostname: "127.0.0.1", port: 0 },
    (request) => gateway.handle(request),
  );
  return {
    port: server.port,
    client,
    // A raw HTTP client: exact targets and repeated header lines (fetch normalizes both).
    send: (path, init = {}) =>
      http.request({
        scheme: "http",
        hostname: "127.0.0.1",
        port: server.port,
        method: init.method ?? (init.body === undefined ? "GET" : "POST"),
        target: path,
        headers: [
          { name: "Host", value: `127.0.0.1:${server.port}` },
          ...(init.headers ?? []),
          ...(init.body === undefined
            ? []
            : [{ name: "Content-Length", value: String(encoder.encode(init.body).length) }]),
        ],
        body: init.body === undefined ? undefined : encoder.encode(init.body),
        timeoutMs: 10_000,
      }),
    async close() {
      await server.close();
      await echo.close();
      await client.close();
      http.close();
    },
  };
}

function values(response: HttpClientResponse, name: string): string[] {
  return response.headers.filter((h) => h.name.toLowerCase() === name).map((h) => h.value);
}

function text(response: HttpClientResponse): string {
  return decoder.decode(response.body);
}

for (const runtime of RUNTIMES) {
  describe(`dev gateway with a ${runtime} runner process`, {
    skip: runnerUnavailable(runtime, { entry: ENTRY }),
  }, () => {
    let runner: RunnerProcess;
    let gateway: Gateway;

    before(async () => {
      runner = await spawnRunner({ runtime, entry: ENTRY });
      gateway = await startGateway(runner.socketPath);
    });

    after(async () => {
      await gateway?.close();
      await runner?.dispose();
    });

    test("a pre-req Stop answers without the upstream; status 0 is 200, headers set then append", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const say = await gateway.send("/say");
      assert.equal(say.status, 200);
      assert.equal(text(say), "hi");
      assert.deepEqual(values(say, "x-resp-a6-runner"), ["TypeScript"]);
      const stop0 = await gateway.send("/stop0");
      assert.equal(stop0.status, 200);
      assert.equal(text(stop0), "");
      assert.deepEqual(values(stop0, "x-a"), ["1", "2"]);
    });

    test("a pre-req Rewrite is seen by the echo upstream with APISIX's semantics", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const response = await gateway.send("/rewrite?a=1&drop=2&keep", {
        method: "PUT",
        headers: [{ name: "X-Del", value: "d" }],
        body: "original",
      });
      assert.equal(response.status, 200);
      const echo = JSON.parse(text(response)) as EchoBody;
      assert.equal(echo.method, "PUT");
      assert.equal(echo.uri, "/up%20stream%3Fx?a=x&a=y&keep");
      assert.equal(echo.headers.host, "up.example");
      assert.equal(echo.headers["x-set"], "s");
      assert.equal(echo.headers["x-del"], undefined);
      assert.equal(echo.headers["content-length"], "14");
      assert.equal(echo.body, "rewritten body");
      assert.deepEqual(values(response, "x-resp"), ["1", "2"]);
      assert.deepEqual(values(response, "content-type"), ["application/json"]);
    });

    test("HTTPReqCall carries the request as APISIX maps it, and ExtraInfo answers vars", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const response = await gateway.send("/inspect/a%20b//c/../d?flag&e=&q=x+y&q=2", {
        method: "DELETE",
        headers: [{ name: "X-Dup", value: "1" }, { name: "x-dup", value: "2" }],
      });
      assert.equal(response.status, 200);
      const seen = JSON.parse(text(response)) as Inspected;
      assert.equal(seen.method, "DELETE");
      assert.equal(seen.path, "/inspect/a b/d");
      assert.deepEqual(seen.args, [["flag", null], ["e", ""], ["q", "x y"], ["q", "2"]]);
      assert.deepEqual(seen.headers, [
        ["host", `127.0.0.1:${gateway.port}`],
        ["x-dup", "1"],
        ["x-dup", "2"],
        // Added by the node:http client's keepalive agent; hop-by-hop headers reach plugins too.
        ["connection", "keep-alive"],
      ]);
      assert.equal(seen.srcIp, "127.0.0.1");
      assert.equal(seen.body, null);
      const { remote_port: remotePort, ...vars } = seen.vars;
      assert.match(remotePort!, /^\d+$/);
      assert.deepEqual(vars, {
        remote_addr: "127.0.0.1",
        server_addr: "127.0.0.1",
        server_port: String(gateway.port),
        request_method: "DELETE",
        uri: "/inspect/a b/d",
        request_uri: "/inspect/a b/d?flag&e=&q=x+y&q=2",
        args: "flag&e=&q=x+y&q=2",
        scheme: "http",
        host: "127.0.0.1",
        arg_q: "x+y",
        http_x_dup: "1, 2",
        route_id: "inspect",
        no_such_var: null,
      });
    });

    test(
      "post-req forwards vars the echo upstream sees",
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const echo = JSON.parse(text(await gateway.send("/forward?name=ts"))) as EchoBody;
        assert.equal(echo.headers["x-var-route_id"], "forward");
        assert.equal(echo.headers["x-var-arg_name"], "ts");
      },
    );

    test("post-req validates the body it reads through ExtraInfo ReqBody", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const bad = await gateway.send("/validate", { body: '{"age":3}' });
      assert.equal(bad.status, 400);
      assert.deepEqual(JSON.parse(text(bad)), {
        error: 'missing required field "name"',
        field: "name",
      });
      const good = await gateway.send("/validate", { body: '{"name":"ts"}' });
      assert.equal(good.status, 200);
      assert.equal((JSON.parse(text(good)) as EchoBody).body, '{"name":"ts"}');
    });

    test(
      "post-resp rewrites the response from RespBody; without headers APISIX's exclusion list applies",
      {
        timeout: TEST_TIMEOUT_MS,
      },
      async () => {
        const rewritten = await gateway.send("/resp");
        assert.equal(rewritten.status, 200);
        assert.match(text(rewritten), /"upstream": "ECHO"/);
        assert.deepEqual(values(rewritten, "x-rewritten"), ["yes"]);
        assert.deepEqual(values(rewritten, "content-type"), ["application/json"]);
        const plain = await gateway.send("/resp-plain");
        assert.equal(plain.status, 202);
        assert.match(text(plain), /"UPSTREAM": "ECHO"/);
        assert.deepEqual(values(plain, "content-type"), []);
      },
    );

    test("a throwing plugin gives 503, or passes through with allow_degradation", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const strict = await gateway.send("/throws");
      assert.equal(strict.status, 503);
      assert.match(text(strict), /503 Service Temporarily Unavailable/);
      const degraded = await gateway.send("/throws-degraded");
      assert.equal(degraded.status, 200);
      assert.equal((JSON.parse(text(degraded)) as EchoBody).uri, "/throws-degraded");
      assert.equal((await gateway.send("/throws-resp")).status, 503);
      const respDegraded = await gateway.send("/throws-resp-degraded");
      assert.equal(respDegraded.status, 200);
      assert.equal((JSON.parse(text(respDegraded)) as EchoBody).uri, "/throws-resp-degraded");
      // The runner survived: the next call on the pool still works.
      assert.equal(text(await gateway.send("/say")), "hi");
    });
  });

  test(
    `the gateway re-prepares transparently after a ${runtime} runner restarts on the same socket`,
    {
      skip: runnerUnavailable(runtime, { entry: ENTRY }),
      timeout: TEST_TIMEOUT_MS,
    },
    async () => {
      const socket = await tempSocketPath();
      let runner = await spawnRunner({ runtime, entry: ENTRY, socketPath: socket.path });
      const gateway = await startGateway(socket.path);
      try {
        assert.equal(text(await gateway.send("/say")), "hi");
        runner.kill("SIGTERM");
        assert.equal((await runner.exited).code, 0);
        runner = await spawnRunner({ runtime, entry: ENTRY, socketPath: socket.path });
        // The gateway still holds the old token; the new runner answers CONF_TOKEN_NOT_FOUND.
        const response = await gateway.send("/say");
        assert.equal(response.status, 200);
        assert.equal(text(response), "hi");
        assert.equal(gateway.client.stats.tokenFlushes, 1);
        assert.equal(gateway.client.stats.prepareConfs, 2);
      } finally {
        await gateway.close();
        await runner.dispose();
        await socket.remove();
      }
    },
  );
}

test("an unreachable runner gives 503, or passes through with allow_degradation", {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const socket = await tempSocketPath();
  const gateway = await startGateway(socket.path, [
    { id: "s", uri: "/strict", plugins: { "ext-plugin-pre-req": phase("say", { body: "x" }) } },
    {
      id: "l",
      uri: "/lenient",
      plugins: { "ext-plugin-post-req": phase("say", { body: "x" }, true) },
    },
  ]);
  try {
    assert.equal((await gateway.send("/strict")).status, 503);
    const lenient = await gateway.send("/lenient");
    assert.equal(lenient.status, 200);
    assert.equal((JSON.parse(text(lenient)) as EchoBody).uri, "/lenient");
  } finally {
    await gateway.close();
    await socket.remove();
  }
});

/** A curl line of the banner as a request: `curl -i [-X M] [-H 'h: v']... [-d 'body'] URL`. */
interface CurlRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
}

function parseCurl(line: string): CurlRequest {
  const words: string[] = [];
  for (const match of line.trim().matchAll(/(?:[^\s']+|'[^']*')+/g)) {
    words.push(match[0].replace(/'([^']*)'/g, "$1"));
  }
  assert.equal(words.shift(), "curl");
  const request: CurlRequest = { method: "", url: "", headers: {}, body: undefined };
  let method: string | undefined;
  while (words.length > 0) {
    const word = words.shift()!;
    if (word === "-i") continue;
    if (word === "-X") method = words.shift();
    else if (word === "-H") {
      const header = words.shift()!;
      const colon = header.indexOf(":");
      request.headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
    } else if (word === "-d") request.body = words.shift();
    else if (!word.startsWith("-")) request.url = word;
    else assert.fail(`Unexpected curl option ${word} in: ${line}`);
  }
  request.method = method ?? (request.body === undefined ? "GET" : "POST");
  // What curl sends with -d unless told otherwise.
  if (request.body !== undefined && !("content-type" in request.headers)) {
    request.headers["content-type"] = "application/x-www-form-urlencoded";
  }
  return request;
}

/** What each demo curl must show; keyed by method and path. */
const DEMO_EXPECTATIONS: Record<string, (response: Response, body: string) => void> = {
  "GET /say": (response, body) => {
    assert.equal(response.status, 200);
    assert.equal(body, "Hello from the TypeScript plugin runner!\n");
    assert.equal(response.headers.get("x-resp-a6-runner"), "TypeScript");
  },
  "GET /rewrite?drop=1&keep=2": (response, body) => {
    assert.equal(response.status, 200);
    const echo = JSON.parse(body) as EchoBody;
    assert.equal(echo.uri, "/v2/echo?keep=2&lang=ts");
    assert.equal(echo.headers["x-rewritten-by"], "request-rewrite");
    assert.equal(echo.headers["user-agent"], undefined);
    assert.equal(response.headers.get("x-runner-said"), "rewritten");
  },
  "GET /vars?name=ts": (response, body) => {
    assert.equal(response.status, 200);
    const echo = JSON.parse(body) as EchoBody;
    assert.equal(echo.headers["x-var-remote_addr"], "127.0.0.1");
    assert.equal(echo.headers["x-var-route_id"], "vars");
    assert.equal(echo.headers["x-var-request_uri"], "/vars?name=ts");
    assert.equal(echo.headers["x-var-arg_name"], "ts");
  },
  'POST /validate {"age": 3}': (response, body) => {
    assert.equal(response.status, 400);
    assert.deepEqual(JSON.parse(body), { error: 'missing required field "name"', field: "name" });
  },
  'POST /validate {"name": "ts"}': (response, body) => {
    assert.equal(response.status, 200);
    assert.equal((JSON.parse(body) as EchoBody).body, '{"name": "ts"}');
  },
  "GET /response": (response, body) => {
    assert.equal(response.status, 200);
    assert.match(body, /"upstream": "echo, rewritten by response-rewrite"/);
    assert.equal(response.headers.get("x-response-rewritten"), "true");
  },
};

for (const runtime of RUNTIMES) {
  test(`"dev" on ${runtime}: the printed curls show each demo, SIGINT stops gateway and runner`, {
    skip: runnerUnavailable(runtime),
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const dev = await spawnRunner({
      runtime,
      args: ["dev", "--port", "0", "--upstream-port", "0"],
      waitForSocket: false,
    });
    let socketPath: string | undefined;
    try {
      const output = await dev.waitForOutput(/Ctrl-C stops the gateway and the runner\./, 10_000);
      socketPath = /Runner: in-process on \w+, unix:([^,\s]+),/.exec(output)?.[1];
      assert.ok(socketPath !== undefined && existsSync(socketPath), output);
      const curls = output.split("\n").filter((line) => /^\s+curl /.test(line));
      assert.equal(curls.length, Object.keys(DEMO_EXPECTATIONS).length, output);
      const seen = new Set<string>();
      for (const line of curls) {
        const curl = parseCurl(line);
        const url = new URL(curl.url);
        const key = `${curl.method} ${url.pathname}${url.search}${
          curl.body === undefined ? "" : " " + curl.body
        }`;
        const expect = DEMO_EXPECTATIONS[key];
        assert.ok(expect !== undefined, `No expectation for the printed curl: ${line}`);
        const response = await fetch(url, {
          method: curl.method,
          headers: curl.headers,
          body: curl.body,
        });
        expect(response, await response.text());
        seen.add(key);
      }
      assert.equal(seen.size, curls.length);
      dev.kill("SIGINT");
      const exit = await dev.exited;
      assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
      assert.ok(exit.ms < 3_000, `stopping took ${exit.ms} ms`);
      assert.match(dev.output(), /Stopped\.\n?$/);
      assert.equal(existsSync(socketPath), false, "the runner socket was removed");
    } finally {
      await dev.dispose();
      // After a failure the process was killed before it could clean up its temp directory.
      if (socketPath !== undefined) await rm(dirname(socketPath), { recursive: true, force: true });
    }
  });
}

/**
 * Starts `dev` on Deno with one route whose request phase runs `plugin`, on any
 * free ports; `extraArgs` says where the runner is. Resolves once the banner is out.
 */
async function startDevWithRoute(
  dir: string,
  route: { id: string; uri: string; plugin: string; conf: unknown },
  extraArgs: string[],
): Promise<{ dev: RunnerProcess; url: string; output: string }> {
  const routesFile = join(dir, "routes.json");
  await writeFile(
    routesFile,
    JSON.stringify({
      routes: [{
        id: route.id,
        uri: route.uri,
        plugins: { "ext-plugin-pre-req": phase(route.plugin, route.conf) },
      }],
    }),
  );
  const dev = await spawnRunner({
    runtime: "deno",
    args: ["dev", "--port", "0", "--upstream-port", "0", "--routes", routesFile, ...extraArgs],
    waitForSocket: false,
  });
  try {
    const output = await dev.waitForOutput(/Ctrl-C stops/, 10_000);
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1]!;
    return { dev, url, output };
  } catch (error) {
    await dev.dispose();
    throw error;
  }
}

test(`"dev --plugins" runs the plugins' setup() before the first call and dispose() at the stop`, {
  skip: runnerUnavailable("deno"),
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), "dev-lifecycle-"));
  const { dev, url, output } = await startDevWithRoute(
    dir,
    { id: "count", uri: "/count", plugin: "lifecycle-counter", conf: {} },
    ["--plugins", "tests/support/fixtures/lifecycle_plugins.ts"],
  );
  try {
    assert.match(output, /lifecycle-counter set up/);
    assert.equal(await (await fetch(`${url}/count`)).text(), "1");
    assert.equal(await (await fetch(`${url}/count`)).text(), "2");
    dev.kill("SIGINT");
    assert.equal((await dev.exited).code, 0);
    assert.match(dev.output(), /lifecycle-counter disposed after 2 calls, stopping=true/);
  } finally {
    await dev.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});

test(`"dev --runner-socket --routes" uses an external runner process and the given routes`, {
  skip: runnerUnavailable("bun", { entry: ENTRY }) ?? runnerUnavailable("deno"),
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const runner = await spawnRunner({ runtime: "bun", entry: ENTRY });
  const { dev, url, output } = await startDevWithRoute(
    runner.dir!,
    { id: "only", uri: "/only", plugin: "gateway-inspect", conf: { vars: ["route_id"] } },
    ["--runner-socket", runner.socketPath],
  );
  try {
    assert.match(output, new RegExp(`Runner: external runner at unix:${runner.socketPath}`));
    const response = await fetch(`${url}/only`);
    const seen = JSON.parse(await response.text()) as Inspected;
    assert.deepEqual(seen.vars, { route_id: "only" });
    assert.equal((await fetch(`${url}/say`)).status, 404);
    dev.kill("SIGTERM");
    assert.equal((await dev.exited).code, 0);
    // The external runner is not ours to stop.
    assert.equal(runner.alive, true);
    assert.equal(existsSync(runner.socketPath), true);
  } finally {
    await dev.dispose();
    await runner.dispose();
  }
});
