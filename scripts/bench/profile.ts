// Profiles the runner under one benchmark workload and prints its hottest functions.
//
// Usage: deno run -A scripts/bench/profile.ts [--runtime deno|bun] [--workload say]
//          ["--runner-args=--metrics-listen 127.0.0.1:0"]
//          [--connections 16] [--duration 3000] [--interval 100] [--top 30]
// Starts the runner with --cpu-prof (both runtimes write a markdown summary too), drives it with
// the load generator, stops it with SIGTERM and prints the self-time table. The full .cpuprofile
// (for Chrome DevTools) stays in dist/bench/profiles/.

import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
const BIN = join(ROOT, "node_modules", ".bin");

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    runtime: { type: "string", default: "bun" },
    workload: { type: "string", default: "say" },
    connections: { type: "string", default: "16" },
    duration: { type: "string", default: "3000" },
    interval: { type: "string", default: "100" },
    top: { type: "string", default: "30" },
    "runner-args": { type: "string", default: "" },
  },
});

const dir = join(ROOT, "dist", "bench", "profiles", `${values.runtime}-${values.workload}`);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const socket = join(dir, "runner.sock");
const profFlags = [
  "--cpu-prof",
  "--cpu-prof-md",
  `--cpu-prof-dir=${dir}`,
  `--cpu-prof-interval=${values.interval}`,
];
const entry = join(ROOT, "scripts/bench/bundled_runner.ts");
/** `--runner-args "..."`: extra runner flags, e.g. `--metrics-listen 127.0.0.1:0`. */
const RUNNER_ARGS = (values["runner-args"] ?? "").split(" ").filter((arg) => arg !== "");
const command = values.runtime === "deno"
  ? [join(BIN, "deno"), "run", "-A", ...profFlags, entry, "run", ...RUNNER_ARGS]
  : [join(BIN, "bun"), ...profFlags, entry, "run", ...RUNNER_ARGS];

const runner = spawn("taskset", ["-c", "0", ...command], {
  env: { APISIX_LISTEN_ADDRESS: `unix:${socket}`, APISIX_CONF_EXPIRE_TIME: "3600" },
  stdio: ["ignore", "ignore", "inherit"],
});
const exited = new Promise<void>((resolve) => runner.once("close", () => resolve()));
while (!(await _accepts(socket))) await new Promise((resolve) => setTimeout(resolve, 10));

// The load generator runs on the other CPU: sharing one, the runner would be preempted inside
// its socket writes and the profile would charge the load generator's time to them.
const loadgen = spawn("taskset", [
  "-c",
  "1",
  join(BIN, "bun"),
  join(ROOT, "scripts/bench/loadgen.ts"),
  `--socket=${socket}`,
  `--workload=${values.workload}`,
  `--connections=${values.connections}`,
  `--duration=${values.duration}`,
  `--pid=${runner.pid}`,
], { stdio: ["ignore", "inherit", "inherit"] });
await new Promise<void>((resolve) => loadgen.once("close", () => resolve()));
runner.kill("SIGTERM");
await exited;

const md = readdirSync(dir).find((name) => name.endsWith(".md"));
if (md === undefined) throw new Error(`No profile written in ${dir}`);
const text = readFileSync(join(dir, md), "utf8");
const hot = text.split("## Hot Functions")[1]?.split("\n## ")[0] ?? text;
console.log(hot.split("\n").slice(0, Number(values.top) + 4).join("\n"));
console.log(`\nfull profile: ${dir}`);

function _accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ path });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => {
      s.destroy();
      resolve(false);
    });
  });
}
