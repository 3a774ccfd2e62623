// Tests of the opt-in rules of tracing and of the --metrics-listen address.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MetricsAddressError, parseMetricsAddress } from "./metrics_address.ts";
import { tracingSettings } from "./tracing_settings.ts";

function env(values: Record<string, string>) {
  return (name: string) => values[name];
}

describe("tracingSettings()", () => {
  test("is off without --otel or an OTEL variable, and with OTEL_SDK_DISABLED=true", () => {
    assert.equal(tracingSettings(false, env({})), undefined);
    assert.equal(
      tracingSettings(true, env({ OTEL_SDK_DISABLED: "true", OTEL_TRACES_EXPORTER: "otlp" })),
      undefined,
    );
  });

  test("--otel sends to the OTLP/HTTP default; the endpoint variables and the service name count", () => {
    assert.deepEqual(tracingSettings(true, env({})), {
      url: "http://localhost:4318/v1/traces",
      serviceName: "apisix-ts-runner",
    });
    assert.deepEqual(
      tracingSettings(
        false,
        env({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/", OTEL_SERVICE_NAME: "edge" }),
      ),
      { url: "http://collector:4318/v1/traces", serviceName: "edge" },
    );
    assert.equal(
      tracingSettings(false, env({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c/traces" }))?.url,
      "http://c/traces",
    );
  });
});

describe("parseMetricsAddress()", () => {
  test("takes host:port and [v6]:port, and refuses anything else naming the value", () => {
    assert.deepEqual(parseMetricsAddress("127.0.0.1:9091"), { host: "127.0.0.1", port: 9091 });
    assert.deepEqual(parseMetricsAddress("[::1]:0"), { host: "::1", port: 0 });
    for (const bad of ["9091", "localhost", "host:99999", ":9091", "a b:1"]) {
      assert.throws(() => parseMetricsAddress(bad), MetricsAddressError, bad);
    }
  });
});
