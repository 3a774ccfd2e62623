// The runner's metrics in Prometheus form, kept by prom-client: what RunnerMetrics reports, rendered at scrape time.

import process from "node:process";
import { Counter, Gauge, Registry } from "prom-client";
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
 * {@linkcode RunnerMetrics} in a prom-client registry, which renders the text
 * format at scrape time. What calls touch (frame outcomes, ExtraInfo questions, confs, the plugin
 * duration histogram) is counted in plain arrays and handed to prom-client at
 * scrape time: prom-client's label lookup on each call cost about a quarter
 * of a `say` call's CPU (measured with `scripts/bench/profile.ts
 * --runner-args=--metrics-listen 127.0.0.1:0`; see BENCHMARKS.md).
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
  #rpcCounts: Float64Array;
  #confCounts: Float64Array;
  #extraInfoCounts: Float64Array;
  #tokenNotFound: Counter;
  #connectionsTotal: Counter;
  #gauges: { connections(): number; confs(): number } = { connections: () => 0, confs: () => 0 };

  /** Creates the metrics, registered in {@linkcode PrometheusMetrics.registry}. */
  constructor() {
    const registers = [this.registry];
    this.#rpcCounts = _arrayCounter(
      registers,
      "apisix_runner_rpc_total",
      "Frames served, by type and outcome (ok: a reply; error: an error frame; closed: the connection was closed).",
      [["type", _KINDS], ["outcome", _OUTCOMES]],
    );
    const duration = new _DurationHistogram();
    this.registry.registerMetric(
      duration as unknown as Parameters<Registry["registerMetric"]>[0],
    );
    const errors = new Counter({
      name: "apisix_runner_plugin_errors_total",
      help: "Plugin filters that failed, by plugin, phase and kind (throw, timeout, bad_return).",
      labelNames: ["plugin", "phase", "kind"],
      registers,
    });
    this.#extraInfoCounts = _arrayCounter(
      registers,
      "apisix_runner_extra_info_total",
      "ExtraInfo questions plugins asked APISIX, by kind (var, req_body, resp_body).",
      [["kind", _EXTRA_INFO_KINDS]],
    );
    this.#confCounts = _arrayCounter(
      registers,
      "apisix_runner_conf_total",
      "PrepareConf outcomes: prepared, reused_key, bad_conf, unknown_plugin.",
      [["outcome", _CONF_OUTCOMES]],
    );
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
    this.#rpcCounts[_KIND_INDEX[kind] * _OUTCOMES.length + _OUTCOME_INDEX[outcome]]++;
  }

  /** Counts a PrepareConf outcome. */
  conf(outcome: ConfOutcome): void {
    this.#confCounts[_CONF_OUTCOME_INDEX[outcome]]++;
  }

  /** Counts a call naming an unknown token. */
  tokenNotFound(): void {
    this.#tokenNotFound.inc();
  }

  /** Counts an ExtraInfo question. */
  extraInfo(kind: ExtraInfoKind): void {
    this.#extraInfoCounts[_EXTRA_INFO_INDEX[kind]]++;
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

const _KINDS: readonly FrameKind[] = ["prepare_conf", "http_req_call", "http_resp_call", "unknown"];
const _OUTCOMES: readonly FrameOutcome[] = ["ok", "error", "closed"];
const _CONF_OUTCOMES: readonly ConfOutcome[] = [
  "prepared",
  "reused_key",
  "bad_conf",
  "unknown_plugin",
];
const _EXTRA_INFO_KINDS: readonly ExtraInfoKind[] = ["var", "req_body", "resp_body"];
const _KIND_INDEX = _indexOf(_KINDS);
const _OUTCOME_INDEX = _indexOf(_OUTCOMES);
const _CONF_OUTCOME_INDEX = _indexOf(_CONF_OUTCOMES);
const _EXTRA_INFO_INDEX = _indexOf(_EXTRA_INFO_KINDS);

/** Each value's position in `values`. */
function _indexOf<T extends string>(values: readonly T[]): Record<T, number> {
  return Object.fromEntries(values.map((value, i) => [value, i])) as Record<T, number>;
}

/**
 * A prom-client counter whose label values are all known in advance: callers
 * count into the returned array (position: the values' positions, the last
 * label changing fastest), and prom-client gets the counts at scrape time.
 */
function _arrayCounter(
  registers: Registry[],
  name: string,
  help: string,
  labels: readonly (readonly [string, readonly string[]])[],
): Float64Array {
  const counts = new Float64Array(labels.reduce((size, [, values]) => size * values.length, 1));
  new Counter({
    name,
    help,
    labelNames: labels.map(([label]) => label),
    registers,
    collect() {
      this.reset();
      for (let i = 0; i < counts.length; i++) {
        if (counts[i] === 0) continue;
        const set: Record<string, string> = {};
        let stride = counts.length;
        for (const [label, values] of labels) {
          stride /= values.length;
          set[label] = values[Math.floor(i / stride) % values.length]!;
        }
        this.inc(set, counts[i]);
      }
    },
  });
  return counts;
}

/** One plugin's filter durations in one phase: counts per bucket (the last is +Inf), sum, count. */
class _DurationSlot {
  readonly buckets: Float64Array = new Float64Array(PLUGIN_DURATION_BUCKETS.length + 1);
  sum = 0;
  count = 0;
  constructor(readonly plugin: string, readonly phase: PhaseName) {}

  record(seconds: number): void {
    let i = 0;
    while (i < PLUGIN_DURATION_BUCKETS.length && seconds > PLUGIN_DURATION_BUCKETS[i]!) i++;
    this.buckets[i]!++;
    this.sum += seconds;
    this.count++;
  }
}

/** A filter being timed. */
class _Watch implements FilterWatch {
  readonly #slot: _DurationSlot;
  readonly #started: number;
  readonly #errors: Counter<"plugin" | "phase" | "kind">;

  constructor(slot: _DurationSlot, errors: Counter<"plugin" | "phase" | "kind">) {
    this.#slot = slot;
    this.#errors = errors;
    this.#started = performance.now();
  }

  end(outcome: FilterOutcome): void {
    const slot = this.#slot;
    slot.record((performance.now() - this.#started) / 1000);
    const kind = _ERROR_KINDS[outcome];
    if (kind !== undefined) this.#errors.labels(slot.plugin, slot.phase, kind).inc();
  }
}

interface _Value {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * `apisix_runner_plugin_duration_seconds`, counted in {@linkcode _DurationSlot}s
 * and rendered by prom-client's registry from what `get()` returns: the shape
 * of prom-client's own histograms.
 */
class _DurationHistogram {
  readonly name = "apisix_runner_plugin_duration_seconds";
  readonly help = "Time of each plugin filter, from its call to its settling, by plugin and phase.";
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly #request = new Map<string, _DurationSlot>();
  readonly #response = new Map<string, _DurationSlot>();

  slot(plugin: string, phase: PhaseName): _DurationSlot {
    const slots = phase === "request" ? this.#request : this.#response;
    let slot = slots.get(plugin);
    if (slot === undefined) {
      slot = new _DurationSlot(plugin, phase);
      slots.set(plugin, slot);
    }
    return slot;
  }

  get() {
    const values: _Value[] = [];
    for (const slot of [...this.#request.values(), ...this.#response.values()]) {
      const labels = { plugin: slot.plugin, phase: slot.phase };
      let cumulative = 0;
      for (let i = 0; i < slot.buckets.length; i++) {
        cumulative += slot.buckets[i]!;
        const le = i < PLUGIN_DURATION_BUCKETS.length ? PLUGIN_DURATION_BUCKETS[i]! : "+Inf";
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { le, ...labels },
          value: cumulative,
        });
      }
      values.push({ metricName: `${this.name}_sum`, labels, value: slot.sum });
      values.push({ metricName: `${this.name}_count`, labels, value: slot.count });
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    });
  }
}

function _filterObserver(
  duration: _DurationHistogram,
  errors: Counter<"plugin" | "phase" | "kind">,
): FilterObserver {
  return {
    start: (plugin: string, phase: PhaseName): FilterWatch =>
      new _Watch(duration.slot(plugin, phase), errors),
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
