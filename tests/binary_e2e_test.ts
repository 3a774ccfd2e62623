// End-to-end: builds the runner executable with a user's plugin file and runs it exactly as APISIX does.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, test } from "node:test";
import { type BuildResult, buildRunner, formatBytes } from "../src/cli/build/build.ts";
import { DenortUnavailableError } from "../src/cli/errors.ts";
import {
  ApisixClient,
  ApisixConnection,
  formatPrepareConfKey,
  PrepareConfError,
  type ReqCallOutcome,
} from "../src/dev/client/mod.ts";
import { ErrorCode, type HttpReqCallRequest, type TextEntry } from "../src/protocol/types.ts";
import { loadRuntime } from "../src/runtime/detect.ts";
import { VERSION } from "../src/version.ts";
import {
  conf,
  decoder,
  deferred,
  encoder,
  reqCall,
  respReplyOf,
  rewriteOf,
} from "./support/e2e_helpers.ts";
import { startOtlpReceiver } from "./support/otlp_receiver.ts";
import { redisMissing, startRedis } from "./support/redis_server.ts";
import { assertReloadsUnderLoad } from "./support/reload_under_load.ts";
import {
  REPO_ROOT,
  runnerUnavailable,
  spawnRunner,
  tempSocketPath,
} from "./support/runner_process.ts";

const USER_PLUGINS = "tests/support/fixtures/user_plugins/my_plugins.ts";
const BUNDLED_NAMES = [
  "say",
  "fault-injection",
  "limit-req",
  "request-body-rewrite",
  "response-rewrite",
  "request-rewrite",
  "forward-vars",
  "request-validation",
  "jwt-auth",
  "limit-count",
];
const USER_NAMES = ["body-length", "tenant-gate"];

/** The `conf` arrays of the example route in the README's "Ship it" section. */
const README_ROUTE: Record<string, TextEntry[]> = {
  "ext-plugin-pre-req": [{ name: "limit-req", value: '{"rate": 10, "burst": 20}' }],
  "ext-plugin-post-req": [
    {
      name: "forward-vars",
      value: '{"vars": ["route_id", "remote_addr"], "prefix": "x-apisix-"}',
    },
    { name: "request-rewrite", value: '{"headers": {"set": {"x-runner": "apisix-ts"}}}' },
  ],
  "ext-plugin-post-resp": [
    { name: "response-rewrite", value: '{"headers": {"x-served-by": "apisix-ts-runner"}}' },
  ],
};

const runtime = await loadRuntime("deno");

type Compiler = "bun" | "deno";

/** A built executable, or why there is none. */
type Built =
  | { kind: "built"; result: BuildResult }
  | { kind: "skip"; reason: string }
  | { kind: "failed"; error: unknown };

// One build per compiler for the whole file: compiling takes seconds.
async function build(compiler: Compiler): Promise<Built> {
  if (compiler === "bun") {
    const missing = runnerUnavailable("bun", { entry: USER_PLUGINS });
    if (missing !== undefined) return { kind: "skip", reason: missing };
  }
  try {
    const result = await buildRunner({
      compiler,
      plugins: [USER_PLUGINS],
      withBundled: true,
      out: `dist/e2e/${compiler}/apisix-ts-runner`,
      cwd: REPO_ROOT,
    });
    return { kind: "built", result };
  } catch (error) {
    // Only a missing denort skips; any other build failure fails the tests below.
    if (error instanceof DenortUnavailableError) return { kind: "skip", reason: error.reason };
    return { kind: "failed", error };
  }
}

const builds: Record<Compiler, Built> = { bun: await build("bun"), deno: await build("deno") };

function req(init: Partial<HttpReqCallRequest> = {}): Omit<HttpReqCallRequest, "confToken"> {
  return reqCall(0, { id: 7, path: "/orders", ...init });
}

function key(id: number, plugin: string): string {
  return formatPrepareConfKey({ confId: id, plugin, version: 1 });
}

function actionOf(outcome: ReqCallOutcome) {
  if (outcome.kind !== "reply") assert.fail(`expected a reply, got error code ${outcome.code}`);
  return outcome.response.action;
}

function resultOf(built: Built): BuildResult {
  if (built.kind === "failed") throw built.error;
  if (built.kind === "skip") assert.fail(`not built: ${built.reason}`);
  return built.result;
}

function binaryOf(built: Built): string {
  return resultOf(built).outPath;
}

for (const compiler of ["bun", "deno"] as const) {
  const built = builds[compiler];
  const title = `${compiler === "bun" ? "bun build --compile" : "deno compile"} executable`;
  if (built.kind === "skip") {
    // One skip line with the reason in its name (deno's reporter prints only the name).
    test(`${title} tests skipped: ${built.reason}`, { skip: built.reason }, () => {});
    continue;
  }

  describe(`${title} with a user's plugins`, () => {
    test("20 APISIX reloads with 16 calls always in flight: every call gets its reply", {
      timeout: 120_000,
    }, () =>
      assertReloadsUnderLoad(title, { runtime: "binary", binaryPath: binaryOf(built) }, {
        reloads: 20,
        workers: 16,
      }));

    test("--metrics-listen and OTLP tracing work in the executable (prom-client, OpenTelemetry compiled in)", async () => {
      const receiver = await startOtlpReceiver();
      const runner = await spawnRunner({
        runtime: "binary",
        binaryPath: binaryOf(built),
        extraArgs: ["--metrics-listen", "127.0.0.1:0"],
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
      });
      const client = new ApisixClient({ runtime, socketPath: runner.socketPath });
      try {
        const output = await runner.waitForOutput(/Metrics on http:\/\/127\.0\.0\.1:(\d+)/);
        const port = /Metrics on http:\/\/127\.0\.0\.1:(\d+)/.exec(output)![1];
        const said = actionOf(
          await client.call({
            type: "req",
            key: key(1, "ext-plugin-pre-req"),
            conf: [conf("say", { body: "observed" })],
            request: req({
              headers: [{
                name: "traceparent",
                value: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
              }],
            }),
          }),
        );
        assert.equal(said?.type, "stop");
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        assert.match(
          text,
          /^apisix_runner_plugin_duration_seconds_count\{plugin="say",phase="request"\} 1$/m,
        );
        const spans = await receiver.spans(1, 10_000);
        assert.equal(spans[0]?.attributes["apisix.plugin.name"], "say");
        assert.equal(spans[0]?.parentSpanId, "00f067aa0ba902b7");
      } finally {
        await client.close();
        await runner.dispose();
        await receiver.close();
      }
    });

    test(
      "jwt-auth (jose) and limit-count with Redis (node-redis, imported on first use) work in the executable",
      {
        skip: redisMissing(),
      },
      async () => {
        const redis = await startRedis();
        const runner = await spawnRunner({ runtime: "binary", binaryPath: binaryOf(built) });
        const client = new ApisixClient({ runtime, socketPath: runner.socketPath });
        try {
          const limited = conf("limit-count", {
            count: 1,
            time_window: 60,
            policy: "redis",
            redis_host: "127.0.0.1",
            redis_port: redis.port,
            rejected_code: 429,
          });
          const statuses: (number | undefined)[] = [];
          for (let i = 0; i < 2; i++) {
            const action = actionOf(
              await client.call({
                type: "req",
                key: key(9, "ext-plugin-pre-req"),
                conf: [limited],
                request: req(),
              }),
            );
            statuses.push(action?.type === "stop" ? action.status : undefined);
          }
          assert.deepEqual(statuses, [undefined, 429], runner.output());
          const denied = actionOf(
            await client.call({
              type: "req",
              key: key(10, "ext-plugin-pre-req"),
              conf: [conf("jwt-auth", { secret: "a-secret-of-at-least-32-bytes-ok!" })],
              request: req({ headers: [{ name: "authorization", value: "Bearer not.a.jwt" }] }),
            }),
          );
          assert.equal(denied?.type === "stop" ? denied.status : undefined, 401);
        } finally {
          await client.close();
          await runner.dispose();
          await redis.stop();
        }
      },
    );

    test("the build reports the executable's size and start-to-listening time", () => {
      const result = resultOf(built);
      assert.equal(result.compiler, compiler);
      assert.ok(result.sizeBytes > 1_000_000, `size ${result.sizeBytes}`);
      assert.ok(
        result.startMs !== undefined && result.startMs > 0 && result.startMs < 5_000,
        `start ${result.startMs}`,
      );
      console.log(
        `${compiler} executable: ${formatBytes(result.sizeBytes)}, ` +
          `start to listening ${result.startMs.toFixed(1)} ms`,
      );
    });

    test("`version` prints the version, the runtime and every compiled-in plugin", () => {
      const result = spawnSync(binaryOf(built), ["version"], { env: {}, encoding: "utf8" });
      assert.equal(result.status, 0, result.stderr);
      const [first, second] = result.stdout.split("\n");
      assert.match(first!, new RegExp(`^apisix-ts-plugin-runner ${VERSION} \\(${compiler} \\d`));
      assert.deepEqual(second, `plugins: ${[...BUNDLED_NAMES, ...USER_NAMES].join(", ")}`);
    });

    test("`--help` explains the commands, flags and APISIX env variables", () => {
      const result = spawnSync(binaryOf(built), ["--help"], { env: {}, encoding: "utf8" });
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /^Usage: apisix-ts-runner \[command\] \[options\]$/m);
      for (
        const word of ["run", "APISIX_LISTEN_ADDRESS", "APISIX_CONF_EXPIRE_TIME", "--log-file"]
      ) {
        assert.ok(result.stdout.includes(word), `help does not mention ${word}`);
      }
    });

    test("serves the user's and the bundled plugins in all three phases, ExtraInfo included", async () => {
      const runner = await spawnRunner({ runtime: "binary", binaryPath: binaryOf(built) });
      const client = new ApisixClient({ runtime, socketPath: runner.socketPath });
      try {
        assert.deepEqual(runner.argv, [binaryOf(built), "run"]);
        assert.deepEqual(Object.keys(runner.env).sort(), [
          "APISIX_CONF_EXPIRE_TIME",
          "APISIX_LISTEN_ADDRESS",
        ]);
        const gate = [conf("tenant-gate", { tenants: ["acme"] })];

        // ext-plugin-pre-req: the user's plugin rewrites a known tenant's request.
        const allowed = await client.call({
          type: "req",
          key: key(1, "ext-plugin-pre-req"),
          conf: gate,
          request: req({ headers: [{ name: "x-tenant", value: "acme" }] }),
        });
        assert.deepEqual(rewriteOf(allowed).headers, [{ name: "x-tenant-checked", value: "acme" }]);

        // Without the header it asks APISIX for arg_tenant (ExtraInfo Var) and stops.
        const denied = await client.call({
          type: "req",
          key: key(1, "ext-plugin-pre-req"),
          conf: gate,
          request: req(),
          answer: (q) =>
            q.type === "var" && q.name === "arg_tenant" ? encoder.encode("evil") : undefined,
        });
        assert.deepEqual(denied.questions, [{ type: "var", name: "arg_tenant" }]);
        const stop = actionOf(denied);
        assert.equal(stop?.type, "stop");
        assert.equal(stop.status, 403);
        assert.equal(decoder.decode(stop.body), "tenant evil is not allowed\n");

        // ext-plugin-post-req: a chain of the user's plugin and the bundled `say`.
        const said = actionOf(
          await client.call({
            type: "req",
            key: key(2, "ext-plugin-post-req"),
            conf: [...gate, conf("say", { body: "hello from say" })],
            request: req({ headers: [{ name: "x-tenant", value: "acme" }] }),
          }),
        );
        assert.equal(said?.type, "stop");
        assert.equal(said.status, 200);
        assert.equal(decoder.decode(said.body), "hello from say");

        // ext-plugin-post-resp: the user's body-length and the bundled response-rewrite, both
        // reading the upstream body through ExtraInfo RespBody.
        const resp = await client.call({
          type: "resp",
          key: key(3, "ext-plugin-post-resp"),
          conf: [
            conf("body-length", {}),
            conf("response-rewrite", {
              status: 201,
              filters: [{ regex: "world", replace: "there" }],
            }),
          ],
          request: { status: 200, headers: [{ name: "Content-Type", value: "text/plain" }] },
          answer: (q) => q.type === "respBody" ? encoder.encode("hello world") : undefined,
        });
        assert.ok(resp.questions.some((q) => q.type === "respBody"));
        const reply = respReplyOf(resp);
        assert.equal(reply.status, 201);
        assert.equal(decoder.decode(reply.body), "hello there");
        const headers = new Map(reply.headers?.map((h) => [h.name.toLowerCase(), h.value]));
        assert.equal(headers.get("x-body-length"), "11");
        assert.equal(headers.get("content-type"), "text/plain");

        // A conf naming a plugin that was not compiled in fails PrepareConf with BAD_REQUEST.
        await assert.rejects(
          client.call({
            type: "req",
            key: key(4, "ext-plugin-pre-req"),
            conf: [conf("not-compiled-in", {})],
            request: req(),
          }),
          (error: unknown) =>
            error instanceof PrepareConfError && error.code === ErrorCode.BadRequest,
        );
      } finally {
        await client.close();
        await runner.dispose();
      }
    });

    test("serves the README's example route: bundled plugins in all three phases", async () => {
      const runner = await spawnRunner({ runtime: "binary", binaryPath: binaryOf(built) });
      const client = new ApisixClient({ runtime, socketPath: runner.socketPath });
      const vars: Record<string, string> = { route_id: "1", remote_addr: "127.0.0.1" };
      const answer = (q: { type: string; name?: string }) =>
        q.type === "var" && q.name! in vars ? encoder.encode(vars[q.name!]) : undefined;
      try {
        const pre = await client.call({
          type: "req",
          key: key(1, "ext-plugin-pre-req"),
          conf: README_ROUTE["ext-plugin-pre-req"],
          request: req(),
        });
        assert.equal(actionOf(pre), undefined, "limit-req lets the first request pass");
        const post = await client.call({
          type: "req",
          key: key(1, "ext-plugin-post-req"),
          conf: README_ROUTE["ext-plugin-post-req"],
          request: req(),
          answer,
        });
        assert.deepEqual(rewriteOf(post).headers, [
          { name: "x-apisix-route_id", value: "1" },
          { name: "x-apisix-remote_addr", value: "127.0.0.1" },
          { name: "x-runner", value: "apisix-ts" },
        ]);
        const resp = await client.call({
          type: "resp",
          key: key(1, "ext-plugin-post-resp"),
          conf: README_ROUTE["ext-plugin-post-resp"],
          request: { status: 200, headers: [{ name: "Content-Type", value: "application/json" }] },
        });
        assert.deepEqual(respReplyOf(resp).headers, [
          { name: "Content-Type", value: "application/json" },
          { name: "x-served-by", value: "apisix-ts-runner" },
        ]);
      } finally {
        await client.close();
        await runner.dispose();
      }
    });

    test("exits 0 within 1 s of SIGTERM with an idle and an in-flight connection, removing its socket", async () => {
      const runner = await spawnRunner({ runtime: "binary", binaryPath: binaryOf(built) });
      const idle = await ApisixConnection.connect(runtime, runner.socketPath);
      const busy = await ApisixConnection.connect(runtime, runner.socketPath);
      try {
        const token = await idle.prepareConf(
          [conf("tenant-gate", { tenants: ["acme"] })],
          key(1, "ext-plugin-pre-req"),
        );
        // The idle connection has served a call and waits for the next one, like a pooled one.
        const first = await idle.httpReqCall({
          ...req({ headers: [{ name: "x-tenant", value: "acme" }] }),
          confToken: token,
        });
        assert.deepEqual(rewriteOf(first).headers, [{ name: "x-tenant-checked", value: "acme" }]);

        // The in-flight call waits for APISIX's answer to its ExtraInfo question.
        const asked = deferred<void>();
        const answer = deferred<Uint8Array>();
        const inFlight = busy.httpReqCall({ ...req(), confToken: token }, () => {
          asked.resolve();
          return answer.promise;
        });
        await asked.promise;

        runner.kill("SIGTERM");
        await runner.waitForOutput(/Received \W?SIGTERM/, 900);
        answer.resolve(encoder.encode("acme"));
        // The in-flight call still gets its reply during the grace period.
        assert.deepEqual(rewriteOf(await inFlight).headers, [
          { name: "x-tenant-checked", value: "acme" },
        ]);
        await idle.whenClosed;

        const exit = await runner.exited;
        assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
        assert.ok(exit.ms < 1_000, `exit took ${exit.ms.toFixed(0)} ms after SIGTERM`);
        assert.equal(existsSync(runner.socketPath), false, "socket file left behind");
      } finally {
        idle.close();
        busy.close();
        await runner.dispose();
      }
    });

    test("starts on the path of a killed predecessor's stale socket file", async () => {
      const socket = await tempSocketPath();
      try {
        const killed = await spawnRunner({
          runtime: "binary",
          binaryPath: binaryOf(built),
          socketPath: socket.path,
        });
        killed.kill("SIGKILL");
        assert.equal((await killed.exited).signal, "SIGKILL");
        assert.ok(existsSync(socket.path), "SIGKILL should leave the socket file behind");

        const next = await spawnRunner({
          runtime: "binary",
          binaryPath: binaryOf(built),
          socketPath: socket.path,
        });
        assert.match(next.output(), /WRN.*Replacing the stale socket at .*nothing accepts on it/);
        const client = new ApisixClient({ runtime, socketPath: socket.path });
        try {
          const said = actionOf(
            await client.call({
              type: "req",
              key: key(1, "ext-plugin-pre-req"),
              conf: [conf("say", { body: "still here" })],
              request: req(),
            }),
          );
          assert.equal(said?.type, "stop");
          assert.equal(decoder.decode(said.body), "still here");
        } finally {
          await client.close();
          await next.dispose();
        }
      } finally {
        await socket.remove();
      }
    });
  });
}
