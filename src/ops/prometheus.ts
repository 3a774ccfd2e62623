// The runner's metrics in Prometheus form, kept by prom-client: what RunnerMetrics reports, rendered at scrape time.

import process from "node:process";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { FilterObserver, FilterOutcome, FilterWatch, PhaseName } from "../plugin/observer.ts";
import type {
  ConfOutcome,
  ExtraInfoKind,
  FrameKind,
  FrameOutcome,
  RunnerMetrics,
} from "../server/metrics.ts";

/** Buckets of the plugin duration histogram, in seconds: 10 µs to 10 s. */
export const PLUGIN_DURATION_BUCKETS: readonly number[] = [
  0.00001,
  0.000025,
  0.00005,
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

const _ERROR_KINDS: Partial<Record<FilterOutcome, string>> = {
  throw: "throw",
  timeout: "timeout",
  bad_return: "bad_return",
};

/**
 * {@linkcode RunnerMetrics} in a prom-client registry. Label children used on
 * every call (a plugin's duration, a frame outcome) are looked up once and
 * kept, so a call costs two clock reads and a few increments.
 *
 * @example
 * ```ts
 * const metrics = new PrometheusMetrics();
 * const server = new RunnerServer({ ...options, metrics });
 * const text = await metrics.render(); // Prometheus text format 0.0.4
 * ```
 */
export class PrometheusMetrics implements RunnerMetrics {
  /** The registry holding every metric of this runner. */
  readonly registry: Registry = new Registry();
  /** Watches plugin filters: duration histogram and error counter. */
  readonly filters: FilterObserver;
  #rpc: Counter<"type" | "outcome">;
  #rpcChildren = new Map<string, { inc(): void }>();
  #confs: Counter<"outcome">;
  #tokenNotFound: Counter;
  #extraInfo: Counter<"kind">;
  #connectionsTotal: Counter;
  #gauges: { connections(): number; confs(): number } = { connections: () => 0, confs: () => 0 };

  /** Creates the metrics, registered in {@linkcode PrometheusMetrics.registry}. */
  constructor() {
    const registers = [this.registry];
    this.#rpc = new Counter({
      name: "apisix_runner_rpc_total",
      help:
        "Frames served, by type and outcome (ok: a reply; error: an error frame; closed: the connection was closed).",
      labelNames: ["type", "outcome"],
      registers,
    });
    const duration = new Histogram({
      name: "apisix_runner_plugin_duration_seconds",
      help: "Time of each plugin filter, from its call to its settling, by plugin and phase.",
      labelNames: ["plugin", "phase"],
      buckets: [...PLUGIN_DURATION_BUCKETS],
      registers,
    });
    const errors = new Counter({
      name: "apisix_runner_plugin_errors_total",
      help: "Plugin filters that failed, by plugin, phase and kind (throw, timeout, bad_return).",
      labelNames: ["plugin", "phase", "kind"],
      registers,
    });
    this.#extraInfo = new Counter({
      name: "apisix_runner_extra_info_total",
      help: "ExtraInfo questions plugins asked APISIX, by kind (var, req_body, resp_body).",
      labelNames: ["kind"],
      registers,
    });
    this.#confs = new Counter({
      name: "apisix_runner_conf_total",
      help: "PrepareConf outcomes: prepared, reused_key, bad_conf, unknown_plugin.",
      labelNames: ["outcome"],
      registers,
    });
    this.#tokenNotFound = new Counter({
      name: "apisix_runner_conf_token_not_found_total",
      help: "Calls naming a conf token the runner does not hold (APISIX then prepares again).",
      registers,
    });
    const gauges = () => this.#gauges;
    new Gauge({
      name: "apisix_runner_conf_cache_entries",
      help: "Confs the runner holds.",
      registers,
      collect() {
        this.set(gauges().confs());
      },
    });
    new Gauge({
      name: "apisix_runner_connections",
      help: "Open connections from APISIX.",
      registers,
      collect() {
        this.set(gauges().connections());
      },
    });
    this.#connectionsTotal = new Counter({
      name: "apisix_runner_connections_total",
      help: "Connections accepted from APISIX.",
      registers,
    });
    _processMetrics(registers);
    this.filters = _filterObserver(duration, errors);
  }

  /** Counts a frame's outcome. */
  frame(kind: FrameKind, outcome: FrameOutcome): void {
    const key = `${kind} ${outcome}`;
    let child = this.#rpcChildren.get(key);
    if (child === undefined) {
      child = this.#rpc.labels(kind, outcome);
      this.#rpcChildren.set(key, child);
    }
    child.inc();
  }

  /** Counts a PrepareConf outcome. */
  conf(outcome: ConfOutcome): void {
    this.#confs.labels(outcome).inc();
  }

  /** Counts a call naming an unknown token. */
  tokenNotFound(): void {
    this.#tokenNotFound.inc();
  }

  /** Counts an ExtraInfo question. */
  extraInfo(kind: ExtraInfoKind): void {
    this.#extraInfo.labels(kind).inc();
  }

  /** Counts an accepted connection. */
  connectionOpened(): void {
    this.#connectionsTotal.inc();
  }

  /** Reads these gauges at scrape time. */
  observe(gauges: { connections(): number; confs(): number }): void {
    this.#gauges = gauges;
  }

  /** The exposition in Prometheus text format 0.0.4. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}

function _filterObserver(
  duration: Histogram<"plugin" | "phase">,
  errors: Counter<"plugin" | "phase" | "kind">,
): FilterObserver {
  const children = new Map<string, { observe(seconds: number): void }>();
  return {
    start(plugin: string, phase: PhaseName): FilterWatch {
      const key = `${phase} ${plugin}`;
      let child = children.get(key);
      if (child === undefined) {
        child = duration.labels(plugin, phase);
        children.set(key, child);
      }
      const observe = child;
      const started = performance.now();
      return {
        end(outcome: FilterOutcome): void {
          observe.observe((performance.now() - started) / 1000);
          const kind = _ERROR_KINDS[outcome];
          if (kind !== undefined) errors.labels(plugin, phase, kind).inc();
        },
      };
    },
  };
}

/**
 * `process_resident_memory_bytes` and `process_cpu_seconds_total`, the names
 * Prometheus dashboards know, read at scrape time from `node:process` (Deno,
 * Bun and Node all provide it); a runtime that cannot tell leaves them out.
 */
function _processMetrics(registers: Registry[]): void {
  new Gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory size in bytes.",
    registers,
    collect() {
      try {
        this.set(process.memoryUsage().rss);
      } catch {
        // Not available on this runtime: the metric stays empty.
      }
    },
  });
  new Counter({
    name: "process_cpu_seconds_total",
    help: "Total user and system CPU time spent in seconds.",
    registers,
    collect() {
      try {
        const usage = process.cpuUsage();
        const seconds = (usage.user + usage.system) / 1e6;
        this.reset();
        this.inc(seconds);
      } catch {
        // Not available on this runtime: the metric stays empty.
      }
    },
  });
}
