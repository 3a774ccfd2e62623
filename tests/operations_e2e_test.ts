// Operations end to end: a real Prometheus scrapes a real runner under load; spans reach a real OTLP/HTTP receiver.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ApisixClient, formatPrepareConfKey } from "../src/dev/client/mod.ts";
import type { TextEntry } from "../src/protocol/types.ts";
import { createNodeRuntime } from "../src/runtime/node.ts";
import { freePort, runnerSkipReason } from "./support/e2e_helpers.ts";
import { startOtlpReceiver } from "./support/otlp_receiver.ts";
import { serverPath, serversMissing } from "./support/test_servers.ts";
import { type RunnerProcess, type RunnerRuntime, spawnRunner } from "./support/runner_process.ts";

const RUNTIMES: readonly RunnerRuntime[] = ["deno", "bun", "node"];
/** Runner entry with the test plugins (TypeScript: Deno and Bun); Node runs the bundled ones from lib/. */
const TEST_ENTRY = "tests/support/fixtures/test_plugins_entry.ts";
const CALLS = 200;
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN_ID = "00f067aa0ba902b7";
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`;
const net_ = createNodeRuntime();

function runnerOptions(
  runtime: RunnerRuntime,
  extraArgs: string[],
  env: Record<string, string> = {},
) {
  return runtime === "node"
    ? { runtime, extraArgs, env }
    : { runtime, entry: TEST_ENTRY, args: ["run", ...extraArgs], env };
}

async function metricsPort(runner: RunnerProcess): Promise<number> {
  const output = await runner.waitForOutput(
    /Metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/,
    10_000,
  );
  return Number(/Metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(output)![1]);
}

async function callSay(client: ApisixClient, headers: TextEntry[] = []): Promise<void> {
  const outcome = await client.call({
    type: "req",
    key: formatPrepareConfKey({ confId: 1, plugin: "ext-plugin-pre-req", version: 1 }),
    conf: [{ name: "say", value: '{"body":"metered"}' }],
    request: { srcIp: undefined, method: 0, path: "/", args: [], headers },
  });
  assert.equal(outcome.kind, "reply");
}

for (const runtime of RUNTIMES) {
  const skip = runnerSkipReason(runtime);

  describe(`metrics of a ${runtime} runner`, {
    skip: skip ?? serversMissing(["prometheus", "promtool"], "prometheus"),
  }, () => {
    let runner: RunnerProcess;
    let prometheus: ReturnType<typeof spawn> | undefined;
    let dir: string;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "apisix-ts-prometheus-"));
      runner = await spawnRunner(runnerOptions(runtime, ["--metrics-listen", "127.0.0.1:0"]));
    });

    after(async () => {
      prometheus?.kill("SIGTERM");
      await runner.dispose();
      await rm(dir, { recursive: true, force: true });
    });

    test(
      `a real Prometheus scrapes it and counts the ${CALLS} plugin calls sent; promtool accepts the output`,
      {
        timeout: 60_000,
      },
      async () => {
        const target = await metricsPort(runner);
        const webPort = await freePort();
        await writeFile(
          join(dir, "prometheus.yml"),
          `global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n  - job_name: runner\n    static_configs:\n      - targets: ["127.0.0.1:${target}"]\n`,
        );
        prometheus = spawn(serverPath("prometheus"), [
          `--config.file=${join(dir, "prometheus.yml")}`,
          `--storage.tsdb.path=${join(dir, "data")}`,
          `--web.listen-address=127.0.0.1:${webPort}`,
        ], { stdio: "ignore" });

        const client = new ApisixClient({ runtime: net_, socketPath: runner.socketPath });
        try {
          for (let i = 0; i < CALLS; i++) await callSay(client);
        } finally {
          await client.close();
        }

        const text = await (await fetch(`http://127.0.0.1:${target}/metrics`)).text();
        assert.match(text, /^apisix_runner_rpc_total\{type="http_req_call",outcome="ok"\} 200$/m);
        assert.match(text, /^apisix_runner_conf_total\{outcome="prepared"\} 1$/m);
        assert.match(text, /^apisix_runner_connections_total \d+$/m);
        assert.match(text, /^process_resident_memory_bytes \d+/m);
        const lint = spawnSync(serverPath("promtool"), ["check", "metrics"], {
          input: text,
          encoding: "utf8",
        });
        assert.equal(lint.status, 0, `promtool check metrics: ${lint.stdout}${lint.stderr}`);

        // Prometheus's own view, through its HTTP API, once a scrape after the calls landed.
        const query = encodeURIComponent(
          'apisix_runner_plugin_duration_seconds_count{plugin="say",phase="request"}',
        );
        let seen = "";
        const deadline = performance.now() + 30_000;
        while (performance.now() < deadline) {
          try {
            const answer = await (await fetch(
              `http://127.0.0.1:${webPort}/api/v1/query?query=${query}`,
            )).json() as { data?: { result?: { value: [number, string] }[] } };
            seen = answer.data?.result?.[0]?.value[1] ?? "";
            if (seen === String(CALLS)) break;
          } catch {
            // Prometheus is still starting.
          }
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        assert.equal(seen, String(CALLS), "Prometheus's count of say's filter calls");
      },
    );
  });

  describe(`tracing of a ${runtime} runner`, { skip }, () => {
    test(
      "each plugin filter of a call carrying traceparent is a child span, exported over OTLP/HTTP",
      {
        timeout: 30_000,
      },
      async () => {
        const receiver = await startOtlpReceiver();
        const runner = await spawnRunner(
          runnerOptions(runtime, [], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint }),
        );
        try {
          const client = new ApisixClient({ runtime: net_, socketPath: runner.socketPath });
          let echoed: string | undefined;
          try {
            await callSay(client, [{ name: "traceparent", value: TRACEPARENT }]);
            await callSay(client); // no trace: no span
            if (runtime !== "node") {
              const outcome = await client.call({
                type: "req",
                key: formatPrepareConfKey({ confId: 2, plugin: "ext-plugin-pre-req", version: 1 }),
                conf: [{ name: "test-traceparent", value: "{}" }],
                request: {
                  srcIp: undefined,
                  method: 0,
                  path: "/",
                  args: [],
                  headers: [{ name: "traceparent", value: TRACEPARENT }],
                },
              });
              assert.equal(outcome.kind, "reply");
              const action = outcome.kind === "reply" ? outcome.response.action : undefined;
              echoed = new TextDecoder().decode(action?.type === "stop" ? action.body : undefined);
            }
          } finally {
            await client.close();
          }
          const expected = runtime === "node" ? 1 : 2;
          const spans = await receiver.spans(expected, 10_000);
          assert.equal(spans.length, expected, JSON.stringify(spans));
          for (const span of spans) {
            assert.equal(span.traceId, TRACE_ID);
            assert.equal(span.parentSpanId, PARENT_SPAN_ID);
            assert.equal(span.attributes["apisix.plugin.phase"], "request");
            assert.equal(span.attributes["apisix.plugin.outcome"], "stop");
            assert.equal(typeof span.attributes["apisix.request_id"], "number");
            assert.equal(typeof span.attributes["apisix.conf_token"], "number");
          }
          assert.deepEqual(
            spans.map((span) => span.attributes["apisix.plugin.name"]).sort(),
            runtime === "node" ? ["say"] : ["say", "test-traceparent"],
          );
          if (echoed !== undefined) {
            // A plugin's own outgoing calls continue from its span.
            const own = spans.find((span) =>
              span.attributes["apisix.plugin.name"] === "test-traceparent"
            )!;
            assert.equal(echoed, `00-${TRACE_ID}-${own.spanId}-01`);
          }
        } finally {
          await runner.dispose();
          await receiver.close();
        }
      },
    );
  });
}
