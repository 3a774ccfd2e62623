// A/B benchmark of two checkouts in one run: each tree's own bench, taking turns, then one table.
//
// Usage: deno run -A scripts/bench/ab.ts --old <dir> [--new <dir>] [--rounds 3]
//          [--old-runner-args "..."] [--new-runner-args "..."] (the same tree twice: a flag on/off)
//          [--runtime deno,bun] [--workload say,forward-vars] [--connections 16] [--duration ms]
// <dir> is a checkout (e.g. `git worktree add ../ab-old <commit>` with node_modules linked).
// Absolute figures drift 2-3x between minutes on a shared machine; only rounds of the same
// run, taken in turns, compare. Each cell gives the median of the rounds and their spread; a
// second table pairs the rounds (new/old within each), leaving out rounds a neighbour disturbed.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { quartiles, type RoundFigures, summarisePairs } from "./paired.ts";

interface Result {
  workload: string;
  connections: number;
  calls: number;
  seconds: number;
  callsPerSecond: number;
  serverCpu: number;
  otherCpu?: number;
}

interface Measurement {
  server: string;
  pair: string;
  kind: "runner" | "ceiling";
  result: Result;
}

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    old: { type: "string" },
    new: { type: "string", default: new URL("../..", import.meta.url).pathname },
    rounds: { type: "string", default: "3" },
    runtime: { type: "string", default: "deno,bun" },
    workload: { type: "string", default: "say,forward-vars" },
    connections: { type: "string", default: "16" },
    duration: { type: "string", default: "1000" },
    "old-runner-args": { type: "string", default: "" },
    "new-runner-args": { type: "string", default: "" },
  },
});
if (values.old === undefined) {
  console.error("--old <dir> is required: a checkout of the commit to compare with");
  process.exit(2);
}
const trees = { old: resolve(values.old), new: resolve(values.new!) };
const rounds = Number(values.rounds);
const runnerArgs = { old: values["old-runner-args"]!, new: values["new-runner-args"]! };
/** rows[tree][runtime/workload] = one entry per round */
const rows: Record<string, Map<string, (RoundFigures & { ratio: number })[]>> = {
  old: new Map(),
  new: new Map(),
};

// Each cell (runtime, workload) is measured on both trees one right after the other, so the two
// figures of a pair are seconds apart, not a whole round: the machine drifts less in between.
const cells = values.runtime!.split(",").flatMap((runtime) =>
  values.workload!.split(",").map((workload) => ({ runtime, workload }))
);
for (let round = 1; round <= rounds; round++) {
  // Taking turns, and starting with the other tree every round.
  const order = round % 2 === 1 ? ["old", "new"] as const : ["new", "old"] as const;
  for (const cell of cells) {
    for (const tree of order) measure(tree, cell.runtime, cell.workload);
  }
  console.error(`round ${round} done`);
}

/** Runs one tree's bench for one runtime and workload and records the figures. */
function measure(tree: "old" | "new", runtime: string, workload: string): void {
  const dir = trees[tree];
  const result = spawnSync(join(dir, "node_modules", ".bin", "deno"), [
    "run",
    "-A",
    "scripts/bench/main.ts",
    "--runtime",
    runtime,
    "--workload",
    workload,
    "--connections",
    values.connections!,
    "--duration",
    values.duration!,
    "--rounds",
    "1",
    "--no-write",
    // Only when given: a tree from before this flag existed would refuse it.
    ...(runnerArgs[tree] === "" ? [] : [`--runner-args=${runnerArgs[tree]}`]),
  ], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
  if (result.status !== 0) throw new Error(`bench in ${dir} failed (${result.status})`);
  const measurements = (JSON.parse(
    readFileSync(join(dir, "dist", "bench", "results.json"), "utf8"),
  ) as { measurements: Measurement[] }).measurements;
  for (const runner of measurements.filter((m) => m.kind === "runner")) {
    const ceiling = measurements.find((m) =>
      m.kind === "ceiling" && m.pair === runner.pair &&
      m.result.workload === runner.result.workload &&
      m.result.connections === runner.result.connections
    );
    const key = `${runner.result.workload} | ${runner.pair} | ${runner.result.connections}`;
    const list = rows[tree]!.get(key) ?? [];
    list.push({
      cps: runner.result.callsPerSecond,
      ratio: ceiling === undefined
        ? NaN
        : runner.result.callsPerSecond / ceiling.result.callsPerSecond,
      cpuUs: runner.result.serverCpu * runner.result.seconds * 1e6 / runner.result.calls,
      otherCores: runner.result.otherCpu ?? 0,
    });
    rows[tree]!.set(key, list);
  }
}

console.log(
  "| workload | runtime | conns | tree | calls/s (median, min–max) | ÷ ceiling (median, min–max) | CPU µs/call (median, min–max) |",
);
console.log("| --- | --- | ---: | --- | ---: | ---: | ---: |");
for (const key of rows.new!.keys()) {
  for (const tree of ["old", "new"]) {
    const list = rows[tree]!.get(key) ?? [];
    const cell = (
      pick: (r: RoundFigures & { ratio: number }) => number,
      f: (n: number) => string,
    ) => {
      const values = list.map(pick);
      return `${f(quartiles(values).median)} (${f(Math.min(...values))}–${f(Math.max(...values))})`;
    };
    console.log(
      `| ${key} | ${tree} | ${cell((r) => r.cps, (n) => `${(n / 1000).toFixed(1)}k`)} | ${
        cell((r) => r.ratio, (n) => `${(n * 100).toFixed(0)}%`)
      } | ${cell((r) => r.cpuUs, (n) => n.toFixed(2))} |`,
    );
  }
}

// The same rounds paired: within a round the two trees ran one right after the other, so the
// ratio cancels most of the machine's drift that the medians above carry.
console.log();
console.log(
  "| workload | runtime | conns | pairs (noisy left out) | new/old calls/s (median, q1–q3) | new/old CPU µs/call (median, q1–q3) |",
);
console.log("| --- | --- | ---: | ---: | ---: | ---: |");
const percent = (ratio: number) => `${ratio >= 1 ? "+" : ""}${((ratio - 1) * 100).toFixed(1)}%`;
for (const key of rows.new!.keys()) {
  const summary = summarisePairs(rows.old!.get(key) ?? [], rows.new!.get(key) ?? []);
  console.log(
    `| ${key} | ${summary.pairs} (${summary.noisy}) | ${percent(summary.cps.median)} (${
      percent(summary.cps.q1)
    } to ${percent(summary.cps.q3)}) | ${percent(summary.cpuUs.median)} (${
      percent(summary.cpuUs.q1)
    } to ${percent(summary.cpuUs.q3)}) |`,
  );
}
