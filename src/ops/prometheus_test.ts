// Tests of PrometheusMetrics: what the server and the phase runner report, as Prometheus renders it.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PrometheusMetrics } from "./prometheus.ts";

describe("PrometheusMetrics", () => {
  test("renders frames, confs, tokens, questions, connections and gauges read at scrape time", async () => {
    const metrics = new PrometheusMetrics();
    metrics.observe({ connections: () => 3, confs: () => 7 });
    metrics.frame("http_req_call", "ok");
    metrics.frame("http_req_call", "ok");
    metrics.frame("prepare_conf", "error");
    metrics.conf("prepared");
    metrics.conf("unknown_plugin");
    metrics.tokenNotFound();
    metrics.extraInfo("var");
    metrics.connectionOpened();
    const text = await metrics.render();
    for (
      const line of [
        'apisix_runner_rpc_total{type="http_req_call",outcome="ok"} 2',
        'apisix_runner_rpc_total{type="prepare_conf",outcome="error"} 1',
        'apisix_runner_conf_total{outcome="prepared"} 1',
        'apisix_runner_conf_total{outcome="unknown_plugin"} 1',
        "apisix_runner_conf_token_not_found_total 1",
        'apisix_runner_extra_info_total{kind="var"} 1',
        "apisix_runner_connections_total 1",
        "apisix_runner_connections 3",
        "apisix_runner_conf_cache_entries 7",
      ]
    ) {
      assert.ok(text.split("\n").includes(line), `missing ${line} in:\n${text}`);
    }
    assert.match(text, /^process_resident_memory_bytes \d+/m);
  });

  test("the filter observer records each filter's duration and counts its failures by kind", async () => {
    const metrics = new PrometheusMetrics();
    const call = { id: 1, confToken: 1, headers: [] };
    metrics.filters.start("say", "request", call).end("ok");
    metrics.filters.start("say", "request", call).end("stop");
    metrics.filters.start("auth", "response", call).end("timeout");
    metrics.filters.start("auth", "response", call).end("bad_return");
    const text = await metrics.render();
    assert.match(
      text,
      /^apisix_runner_plugin_duration_seconds_count\{plugin="say",phase="request"\} 2$/m,
    );
    assert.match(
      text,
      /^apisix_runner_plugin_duration_seconds_bucket\{le="0.00001",plugin="say",phase="request"\} \d$/m,
    );
    assert.match(
      text,
      /^apisix_runner_plugin_errors_total\{plugin="auth",phase="response",kind="timeout"\} 1$/m,
    );
    assert.match(
      text,
      /^apisix_runner_plugin_errors_total\{plugin="auth",phase="response",kind="bad_return"\} 1$/m,
    );
    assert.doesNotMatch(text, /plugin_errors_total\{plugin="say"/);
  });
});
