// Metrics and tracing for `run`: started only when asked for, their libraries loaded only then.

import { getLogger } from "@logtape/logtape";
import type { FilterObserver } from "../plugin/observer.ts";
import type { SocketRuntime } from "../runtime/types.ts";
import type { RunnerMetrics } from "../server/metrics.ts";
import { tracingSettings } from "../ops/tracing_settings.ts";
import type { RunnerSettings } from "./args.ts";
import { ConfigError } from "./errors.ts";

const logger = getLogger(["apisix-runner", "runner"]);

/** What `run` hands the server, and how to stop it after the drain. */
export interface Operations {
  /** The metrics the server reports to (`--metrics-listen`), if on. */
  readonly metrics: RunnerMetrics | undefined;
  /** The tracing observer (`--otel` or `OTEL_*`), if on. */
  readonly tracing: FilterObserver | undefined;
  /** Closes the metrics endpoint and flushes the spans still batched. */
  stop(): Promise<void>;
}

/**
 * Starts what `args` and the environment ask for: the Prometheus endpoint and
 * OpenTelemetry tracing. prom-client and the OpenTelemetry SDK are imported
 * here only when on, so a runner without them loads neither.
 *
 * @throws {ConfigError} when the metrics address cannot be listened on.
 */
export async function startOperations(
  args: Pick<RunnerSettings, "metricsListen" | "otel">,
  runtime: Pick<SocketRuntime, "env">,
): Promise<Operations> {
  const stops: (() => Promise<void>)[] = [];
  let metrics: RunnerMetrics | undefined;
  const address = args.metricsListen;
  if (address !== undefined) {
    const { PrometheusMetrics } = await import("../ops/prometheus.ts");
    const { serveMetrics } = await import("../ops/metrics_http.ts");
    const prometheus = new PrometheusMetrics();
    let endpoint;
    try {
      endpoint = await serveMetrics(address, () => prometheus.render());
    } catch (error) {
      const code = (error as { code?: unknown }).code ?? (error as Error).message;
      throw new ConfigError(
        `Cannot serve metrics on ${address.host}:${address.port} (--metrics-listen): ${code}`,
      );
    }
    metrics = prometheus;
    stops.push(endpoint.close);
    logger.info("Metrics on http://{host}:{port}/metrics", {
      host: address.host,
      port: endpoint.port,
    });
  }
  let tracing: FilterObserver | undefined;
  const settings = tracingSettings(args.otel, (name) => _readEnv(runtime, name));
  if (settings !== undefined) {
    const { Tracing } = await import("../ops/tracing.ts");
    const tracer = new Tracing(settings);
    tracing = tracer;
    stops.push(() => tracer.shutdown());
    logger.info("Tracing plugin filters to {url} as {service}", {
      url: settings.url,
      service: settings.serviceName,
    });
  }
  return {
    metrics,
    tracing,
    stop: async () => {
      await Promise.all(stops.map((stop) => stop().catch(() => {})));
    },
  };
}

/** An env variable, `undefined` when unset or when Deno was not allowed to read it. */
function _readEnv(runtime: Pick<SocketRuntime, "env">, name: string): string | undefined {
  try {
    return runtime.env(name);
  } catch {
    return undefined;
  }
}
