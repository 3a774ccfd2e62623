// The benchmark: runner vs each runtime's ceiling, latency, CPU per call, memory and start time.
//
// Usage: deno run -A scripts/bench/main.ts [--quick] [--runtime deno,bun,node,binary]
//          [--workload name,...] [--connections 16[,64...]] [--duration ms] [--warmup ms]
//          [--runner-args "<flags for every runner, e.g. --metrics-listen 127.0.0.1:0>"]
//          [--rounds n] [--placement shared|split|free] [--write | --no-write]
// (`npm run bench` / `deno task bench`.) A full default run rewrites the results section of
// BENCHMARKS.md; runs with filters only print their tables unless --write is given.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { measureStartToListening, socketAccepts } from "../../src/cli/build/measure_start.ts";
import type { LoadResult } from "./loadgen.ts";
import { type MemoryInfo, memoryInfo } from "./proc.ts";
import { WORKLOADS } from "./workloads.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
const BIN = join(ROOT, "node_modules", ".bin");
const DENO = join(BIN, "deno");
const BUN = join(BIN, "bun");
const BINARY = join(ROOT, "dist", "apisix-ts-runner");
const NODE_RUNNER = join(ROOT, "dist", "node", "runner.mjs");
const NODE_CEILING = join(ROOT, "dist", "bench", "ceiling.mjs");
const RESULTS_JSON = join(ROOT, "dist", "bench", "results.json");
const BENCHMARKS_MD = join(ROOT, "BENCHMARKS.md");
const BEGIN_MARK = "<!-- bench:results:begin -->";
const END_MARK = "<!-- bench:results:end -->";

/** Runtimes the runner is measured on; the executable is Bun-compiled, so Bun is its ceiling. */
const RUNTIMES = ["deno", "bun", "node", "binary"] as const;
type RuntimeName = typeof RUNTIMES[number];
type CeilingName = "deno" | "bun" | "node";
const CEILING_OF: Record<RuntimeName, CeilingName> = {
  deno: "deno",
  bun: "bun",
  node: "node",
  binary: "bun",
};
const SWEEP_WORKLOAD = "say";
const SWEEP_CONNECTIONS = [1, 64];
/** Where processes run: see BENCHMARKS.md for why `shared` is the default on this machine. */
const PLACEMENTS = {
  shared: { server: "0", loadgen: "0" },
  split: { server: "0", loadgen: "1" },
  free: undefined,
} as const;
type Placement = keyof typeof PLACEMENTS;

interface Options {
  runtimes: RuntimeName[];
  workloads: string[];
  connections: number[];
  sweep: boolean;
  durationMs: number;
  warmupMs: number;
  rounds: number;
  startRuns: number;
  placement: Placement;
  write: boolean;
  command: string;
  /** Extra runner flags (`--runner-args "--metrics-listen 127.0.0.1:0"`), split on spaces. */
  runnerArgs: string[];
}

/** One measurement: who served, which workload, what the load generator saw. */
interface Measurement {
  /** The runtime that served: the runner's, or the ceiling's. */
  server: string;
  /** The runner row it belongs to (a ceiling is measured next to each runner). */
  pair: RuntimeName;
  kind: "runner" | "ceiling";
  result: LoadResult;
}

interface RuntimeReport {
  runtime: RuntimeName;
  startMs: number;
  startSamples: number[];
  idle: MemoryInfo;
  afterLoad: MemoryInfo;
}

function _options(): Options {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      quick: { type: "boolean", default: false },
      runtime: { type: "string" },
      workload: { type: "string" },
      connections: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      rounds: { type: "string" },
      placement: { type: "string", default: "shared" },
      write: { type: "boolean" },
      "no-write": { type: "boolean", default: false },
      "runner-args": { type: "string", default: "" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n\n")[0]);
    process.exit(0);
  }
  const quick = values.quick;
  const runtimes = _list(values.runtime, RUNTIMES);
  const workloads = _list(
    values.workload ?? (quick ? "empty,say,forward-vars" : undefined),
    WORKLOADS.map((w) => w.name),
  );
  const connections = values.connections === undefined
    ? [16]
    : values.connections.split(",").map(Number);
  if (connections.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`--connections must list positive integers, got "${values.connections}"`);
  }
  if (!(values.placement in PLACEMENTS)) {
    throw new Error(`--placement must be shared, split or free, got "${values.placement}"`);
  }
  if (values.placement !== "free" && spawnSync("taskset", ["-c", "0", "true"]).status !== 0) {
    _log("taskset is not available: processes are not pinned (--placement free)");
    values.placement = "free";
  }
  const partial = quick || values.runtime !== undefined || values.workload !== undefined ||
    values.connections !== undefined || values.duration !== undefined ||
    values.warmup !== undefined || values.rounds !== undefined || values.placement !== "shared";
  return {
    runtimes,
    workloads,
    connections,
    sweep: !quick && values.connections === undefined && workloads.includes(SWEEP_WORKLOAD),
    durationMs: Number(values.duration ?? 1000),
    warmupMs: Number(values.warmup ?? 300),
    rounds: Number(values.rounds ?? (quick ? 1 : 2)),
    startRuns: quick ? 3 : 5,
    placement: values.placement as Placement,
    write: values.write ?? (!partial && !values["no-write"]),
    command: ["npm run bench", ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : [])]
      .join(" "),
    runnerArgs: values["runner-args"]!.split(" ").filter((arg) => arg !== ""),
  };
}

function _list<T extends string>(value: string | undefined, known: readonly T[]): T[] {
  if (value === undefined) return [...known];
  const names = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const name of names) {
    if (!known.includes(name as T)) {
      throw new Error(`Unknown name "${name}"; known: ${known.join(", ")}`);
    }
  }
  return names as T[];
}

function _log(line: string): void {
  console.error(line);
}

function _run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed (${result.status})`);
  }
}

/** Newest modification time of the runner's sources. */
function _newestSource(): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  walk(join(ROOT, "src"));
  walk(join(ROOT, "plugins"));
  return newest;
}

/** Builds what the run needs: Node bundles always, the executable when missing or stale. */
function _build(options: Options): void {
  mkdirSync(join(ROOT, "dist", "bench"), { recursive: true });
  if (options.runtimes.includes("node")) {
    _run(BUN, [
      "build",
      "scripts/bench/bundled_runner.ts",
      "--target=node",
      `--outfile=${NODE_RUNNER}`,
    ]);
    _run(BUN, ["build", "scripts/bench/ceiling.ts", "--target=node", `--outfile=${NODE_CEILING}`]);
  }
  if (options.runtimes.includes("binary")) {
    if (!existsSync(BINARY) || statSync(BINARY).mtimeMs < _newestSource()) {
      _log("building dist/apisix-ts-runner (bun build --compile)");
      _run(BUN, ["build", "--compile", "scripts/bench/bundled_runner.ts", `--outfile=${BINARY}`]);
    }
  }
}

/** Flags every runner of this run gets (`--runner-args`). */
const RUNNER_ARGS: string[] = [];

function _runnerCommand(runtime: RuntimeName): string[] {
  return [..._runnerExecutable(runtime), ...RUNNER_ARGS];
}

function _runnerExecutable(runtime: RuntimeName): string[] {
  switch (runtime) {
    case "deno":
      return [
        DENO,
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-net",
        "--allow-env=APISIX_LISTEN_ADDRESS,APISIX_CONF_EXPIRE_TIME,OTEL_*",
        join(ROOT, "scripts/bench/bundled_runner.ts"),
      ];
    case "bun":
      return [BUN, join(ROOT, "scripts/bench/bundled_runner.ts")];
    case "node":
      return ["node", NODE_RUNNER];
    case "binary":
      return [BINARY];
  }
}

function _ceilingCommand(runtime: CeilingName, socket: string, workload: string): string[] {
  const script = join(ROOT, "scripts/bench/ceiling.ts");
  switch (runtime) {
    case "deno":
      return [DENO, "run", "-A", script, socket, workload];
    case "bun":
      return [BUN, script, socket, workload];
    case "node":
      return ["node", NODE_CEILING, socket, workload];
  }
}

function _pinned(command: string[], cpus: string | undefined): string[] {
  return cpus === undefined ? command : ["taskset", "-c", cpus, ...command];
}

/** A started server process (runner or ceiling) listening on `socket`. */
interface Server {
  pid: number;
  socket: string;
  stop(): Promise<void>;
}

async function _startServer(command: string[], socket: string): Promise<Server> {
  const child = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    env: { APISIX_LISTEN_ADDRESS: `unix:${socket}`, APISIX_CONF_EXPIRE_TIME: "3600" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Uint8Array) => stderr += new TextDecoder().decode(chunk));
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  let gone = false;
  exited.then(() => gone = true);
  const started = performance.now();
  while (!(await socketAccepts(socket))) {
    if (gone) throw new Error(`${command.join(" ")} exited before listening:\n${stderr}`);
    if (performance.now() - started > 15_000) {
      child.kill("SIGKILL");
      throw new Error(`${command.join(" ")} did not listen on ${socket}:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return {
    pid: child.pid!,
    socket,
    async stop() {
      if (gone) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs the load generator (its own Bun process) against `server`. */
function _load(
  options: Options,
  server: Server,
  workload: string,
  connections: number,
): Promise<LoadResult> {
  const command = _pinned([
    BUN,
    join(ROOT, "scripts/bench/loadgen.ts"),
    `--socket=${server.socket}`,
    `--workload=${workload}`,
    `--connections=${connections}`,
    `--warmup=${options.warmupMs}`,
    `--duration=${options.durationMs}`,
    `--pid=${server.pid}`,
  ], PLACEMENTS[options.placement]?.loadgen);
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk: Uint8Array) => stdout += new TextDecoder().decode(chunk));
    child.stderr!.on("data", (chunk: Uint8Array) => stderr += new TextDecoder().decode(chunk));
    child.once("close", (code) => {
      if (code !== 0) {
        reject(new Error(`load generator failed (${code}) on ${workload}:\n${stderr}${stdout}`));
        return;
      }
      const result = JSON.parse(stdout.trim().split("\n").at(-1)!) as LoadResult;
      if (result.errors > 0) {
        reject(new Error(`${result.errors} error replies on ${workload}: the server misbehaved`));
      } else resolve(result);
    });
  });
}

/**
 * One result for several rounds: calls and CPU summed over all rounds, each
 * latency percentile the worst of the rounds.
 */
function _combine(rounds: readonly LoadResult[]): LoadResult {
  const first = rounds[0]!;
  let calls = 0;
  let seconds = 0;
  let serverCpuSeconds = 0;
  let loadgenCpuSeconds = 0;
  let otherCpuSeconds = 0;
  for (const r of rounds) {
    calls += r.calls;
    seconds += r.seconds;
    serverCpuSeconds += r.serverCpu * r.seconds;
    loadgenCpuSeconds += r.loadgenCpu * r.seconds;
    otherCpuSeconds += r.otherCpu * r.seconds;
  }
  const worst = (pick: (r: LoadResult) => number) => Math.max(...rounds.map(pick));
  return {
    ...first,
    calls,
    seconds,
    callsPerSecond: calls / seconds,
    latency: {
      count: calls,
      meanUs: rounds.reduce((sum, r) => sum + r.latency.meanUs * r.calls, 0) / calls,
      p50Us: worst((r) => r.latency.p50Us),
      p90Us: worst((r) => r.latency.p90Us),
      p99Us: worst((r) => r.latency.p99Us),
      p999Us: worst((r) => r.latency.p999Us),
      maxUs: worst((r) => r.latency.maxUs),
    },
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    serverCpu: serverCpuSeconds / seconds,
    loadgenCpu: loadgenCpuSeconds / seconds,
    otherCpu: otherCpuSeconds / seconds,
  };
}

function _fmtRate(n: number): string {
  return n >= 10_000 ? `${(n / 1000).toFixed(0)}k` : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n
    .toFixed(0);
}

function _fmtUs(us: number): string {
  return us >= 10_000 ? `${(us / 1000).toFixed(1)} ms` : `${us.toFixed(0)}`;
}

function _pct(x: number): string {
  return `${(x * 100).toFixed(0)}%`;
}

function _cpuPerCall(r: LoadResult): number {
  return r.calls === 0 ? 0 : (r.serverCpu * r.seconds) / r.calls * 1e6;
}

function _summaryLine(m: Measurement): string {
  const r = m.result;
  return `${m.kind.padEnd(7)} ${m.server.padEnd(6)} ${r.workload.padEnd(18)} c=${
    String(r.connections).padEnd(3)
  } ${_fmtRate(r.callsPerSecond).padStart(6)}/s p50 ${r.latency.p50Us} p99 ${r.latency.p99Us} µs` +
    `  server ${r.serverCpu.toFixed(2)} loadgen ${r.loadgenCpu.toFixed(2)} other ${
      r.otherCpu.toFixed(2)
    } cores  ${_cpuPerCall(r).toFixed(2)} µs CPU/call`;
}

async function _measure(options: Options): Promise<{
  measurements: Measurement[];
  reports: RuntimeReport[];
}> {
  const dir = await mkdtemp(join(os.tmpdir().length > 60 ? "/tmp" : os.tmpdir(), "apisix-bench-"));
  const measurements: Measurement[] = [];
  const reports: RuntimeReport[] = [];
  const cpus = PLACEMENTS[options.placement]?.server;
  const plan: { workload: string; connections: number }[] = [];
  for (const connections of options.connections) {
    for (const workload of options.workloads) plan.push({ workload, connections });
  }
  if (options.sweep) {
    for (const connections of SWEEP_CONNECTIONS) {
      plan.push({ workload: SWEEP_WORKLOAD, connections });
    }
  }
  try {
    for (const runtime of options.runtimes) {
      const start = await measureStartToListening(_runnerCommand(runtime), {
        runs: options.startRuns,
      });
      _log(
        `${runtime}: start to listening ${
          start.ms.toFixed(0)
        } ms (median of ${start.samples.length})`,
      );
      const socket = join(dir, `${runtime}.sock`);
      const runner = await _startServer(_pinned(_runnerCommand(runtime), cpus), socket);
      try {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const idle = memoryInfo(runner.pid);
        const ceiling = CEILING_OF[runtime];
        for (const step of plan) {
          // Runner and ceiling take turns, so that both see the same machine.
          const ceilingSocket = join(dir, `ceiling-${ceiling}.sock`);
          const server = await _startServer(
            _pinned(_ceilingCommand(ceiling, ceilingSocket, step.workload), cpus),
            ceilingSocket,
          );
          const runnerRounds: LoadResult[] = [];
          const ceilingRounds: LoadResult[] = [];
          try {
            for (let round = 0; round < options.rounds; round++) {
              runnerRounds.push(await _load(options, runner, step.workload, step.connections));
              ceilingRounds.push(await _load(options, server, step.workload, step.connections));
            }
          } finally {
            await server.stop();
            await rm(ceilingSocket, { force: true });
          }
          for (
            const m of [
              { server: runtime, pair: runtime, kind: "runner", result: _combine(runnerRounds) },
              { server: ceiling, pair: runtime, kind: "ceiling", result: _combine(ceilingRounds) },
            ] as const
          ) {
            measurements.push(m);
            _log(_summaryLine(m));
          }
        }
        reports.push({
          runtime,
          startMs: start.ms,
          startSamples: start.samples,
          idle,
          afterLoad: memoryInfo(runner.pid),
        });
      } finally {
        await runner.stop();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { measurements, reports };
}

function _find(
  measurements: readonly Measurement[],
  kind: "runner" | "ceiling",
  runtime: RuntimeName,
  workload: string,
  connections: number,
): LoadResult | undefined {
  return measurements.find((m) =>
    m.kind === kind && m.pair === runtime && m.result.workload === workload &&
    m.result.connections === connections
  )?.result;
}

function _versions(): string {
  const version = (command: string, args: string[]) =>
    spawnSync(command, args, { encoding: "utf8" }).stdout?.trim().split("\n")[0] ?? "?";
  const cpu = os.cpus();
  return `${cpu.length} × ${cpu[0]?.model ?? "CPU"}, Linux ${os.release()}; ` +
    `${version(DENO, ["--version"])}, bun ${version(BUN, ["--version"])}, node ${
      version("node", ["--version"])
    }`;
}

function _render(
  options: Options,
  measurements: readonly Measurement[],
  reports: readonly RuntimeReport[],
): string {
  const lines: string[] = [];
  const placement = {
    shared: "runner (or ceiling) and load generator pinned together to CPU 0",
    split: "runner (or ceiling) pinned to CPU 0, load generator to CPU 1",
    free: "no pinning (the kernel places the processes)",
  }[options.placement];
  lines.push(
    `Produced by \`${options.command}\` on ${new Date().toISOString().slice(0, 16)}Z.`,
    "",
    `Machine: ${_versions()}. Placement: ${placement}. Each row: ${options.rounds} round(s), ` +
      `each ${options.warmupMs} ms of warm-up then ${options.durationMs} ms measured, runner and ` +
      "its ceiling taking turns; calls/s and CPU over all rounds, latency percentiles the worst " +
      "round's.",
    "",
  );
  const runtimes = options.runtimes;
  for (const connections of options.connections) {
    lines.push(
      `### Runner vs ceiling, ${connections} connection${connections === 1 ? "" : "s"}`,
      "",
      "`÷ ceiling`: runner calls/s ÷ ceiling calls/s. `CPU µs/call`: CPU time of the server " +
        "process per call (all its threads). `CPU ÷`: ceiling CPU per call ÷ runner CPU per " +
        "call, the share of the ceiling's efficiency the runner reaches.",
      "",
      "| workload | runtime | calls/s | ceiling calls/s | ÷ ceiling | p50 µs | p99 µs | p99.9 µs | CPU µs/call | ceiling CPU µs/call | CPU ÷ |",
      "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const workload of WORKLOADS.filter((w) => options.workloads.includes(w.name))) {
      for (const runtime of runtimes) {
        const r = _find(measurements, "runner", runtime, workload.name, connections);
        const c = _find(measurements, "ceiling", runtime, workload.name, connections);
        if (r === undefined) continue;
        lines.push(_row(workload.title, runtime === "binary" ? "executable" : runtime, r, c));
      }
    }
    lines.push("");
  }
  if (options.sweep) {
    lines.push(
      `### Connections: \`${SWEEP_WORKLOAD}\` at 1, 16 and 64 connections`,
      "",
      "| connections | runtime | calls/s | ceiling calls/s | ÷ ceiling | p50 µs | p99 µs | p99.9 µs | CPU µs/call | ceiling CPU µs/call | CPU ÷ |",
      "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const connections of [SWEEP_CONNECTIONS[0]!, 16, ...SWEEP_CONNECTIONS.slice(1)]) {
      for (const runtime of runtimes) {
        const r = _find(measurements, "runner", runtime, SWEEP_WORKLOAD, connections);
        const c = _find(measurements, "ceiling", runtime, SWEEP_WORKLOAD, connections);
        if (r === undefined) continue;
        lines.push(_row(String(connections), runtime === "binary" ? "executable" : runtime, r, c));
      }
    }
    lines.push("");
  }
  if (options.workloads.includes("forward-vars") && options.workloads.includes("request-rewrite")) {
    const connections = options.connections[0]!;
    lines.push(
      `### Cost of one ExtraInfo round trip (${connections} connections)`,
      "",
      "(`forward-vars` with 2 vars − `request-rewrite`) ÷ 2: both reply with a small Rewrite, " +
        "`forward-vars` asks APISIX two questions first.",
      "",
      "| runtime | runner CPU µs | ceiling CPU µs | runner p50 latency µs | ceiling p50 latency µs |",
      "| --- | ---: | ---: | ---: | ---: |",
    );
    for (const runtime of runtimes) {
      const per = (kind: "runner" | "ceiling") => {
        const fv = _find(measurements, kind, runtime, "forward-vars", connections);
        const rr = _find(measurements, kind, runtime, "request-rewrite", connections);
        if (fv === undefined || rr === undefined) return undefined;
        return {
          cpu: (_cpuPerCall(fv) - _cpuPerCall(rr)) / 2,
          p50: (fv.latency.p50Us - rr.latency.p50Us) / 2,
        };
      };
      const r = per("runner");
      const c = per("ceiling");
      if (r === undefined) continue;
      lines.push(
        `| ${runtime === "binary" ? "executable" : runtime} | ${r.cpu.toFixed(2)} | ${
          c?.cpu.toFixed(2) ?? "–"
        } | ${r.p50.toFixed(0)} | ${c?.p50.toFixed(0) ?? "–"} |`,
      );
    }
    lines.push("");
  }
  lines.push(
    "### Memory and start",
    "",
    `Start: spawn to the first accepted connection, median of ${options.startRuns} starts ` +
      "(unpinned). RSS (VmRSS) 1 s after listening, and after every workload above; peak is VmHWM.",
    "",
    "| runtime | start → listening | RSS idle | RSS after load | peak RSS |",
    "| --- | ---: | ---: | ---: | ---: |",
  );
  for (const report of reports) {
    const mb = (kib: number) => `${(kib / 1024).toFixed(1)} MB`;
    lines.push(
      `| ${report.runtime === "binary" ? "executable" : report.runtime} | ${
        report.startMs.toFixed(0)
      } ms | ${mb(report.idle.rssKiB)} | ${mb(report.afterLoad.rssKiB)} | ${
        mb(report.afterLoad.peakKiB)
      } |`,
    );
  }
  lines.push(
    "",
    "### Load generator check",
    "",
    "CPU of each process during the ceiling measurements, in cores (1.00 = one core all the " +
      "time; `other` is everything else on the machine, i.e. noise).",
    "",
    "| ceiling | workload | connections | calls/s | ceiling CPU | load generator CPU | other CPU |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const m of measurements.filter((m) => m.kind === "ceiling")) {
    const r = m.result;
    lines.push(
      `| ${m.server} | ${r.workload} | ${r.connections} | ${_fmtRate(r.callsPerSecond)} | ${
        r.serverCpu.toFixed(2)
      } | ${r.loadgenCpu.toFixed(2)} | ${r.otherCpu.toFixed(2)} |`,
    );
  }
  return lines.join("\n");
}

function _row(label: string, runtime: string, r: LoadResult, c: LoadResult | undefined): string {
  const cells = [
    label,
    runtime,
    _fmtRate(r.callsPerSecond),
    c === undefined ? "–" : _fmtRate(c.callsPerSecond),
    c === undefined ? "–" : _pct(r.callsPerSecond / c.callsPerSecond),
    _fmtUs(r.latency.p50Us),
    _fmtUs(r.latency.p99Us),
    _fmtUs(r.latency.p999Us),
    _cpuPerCall(r).toFixed(2),
    c === undefined ? "–" : _cpuPerCall(c).toFixed(2),
    c === undefined ? "–" : _pct(_cpuPerCall(c) / _cpuPerCall(r)),
  ];
  return `| ${cells.join(" | ")} |`;
}

function _writeBenchmarks(section: string): void {
  const text = existsSync(BENCHMARKS_MD) ? readFileSync(BENCHMARKS_MD, "utf8") : "";
  const begin = text.indexOf(BEGIN_MARK);
  const end = text.indexOf(END_MARK);
  const block = `${BEGIN_MARK}\n${section}\n${END_MARK}`;
  const next = begin >= 0 && end > begin
    ? text.slice(0, begin) + block + text.slice(end + END_MARK.length)
    : `${text}${text.endsWith("\n") || text === "" ? "" : "\n"}\n## Results\n\n${block}\n`;
  writeFileSync(BENCHMARKS_MD, next);
}

if (import.meta.main) {
  const options = _options();
  RUNNER_ARGS.push(...options.runnerArgs);
  if (process.platform !== "linux") throw new Error("The bench reads /proc: it runs on Linux only");
  _build(options);
  const started = performance.now();
  const { measurements, reports } = await _measure(options);
  const section = _render(options, measurements, reports);
  writeFileSync(RESULTS_JSON, JSON.stringify({ options, measurements, reports }, null, 2));
  console.log(section);
  if (options.write) {
    _writeBenchmarks(section);
    _log(`\nwrote the results section of BENCHMARKS.md`);
  }
  _log(
    `bench took ${((performance.now() - started) / 1000).toFixed(0)} s; raw data: ${RESULTS_JSON}`,
  );
}
