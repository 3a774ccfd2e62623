// Runs every check and test suite (fmt, lint, docs, type check, deno test, bun test) and prints one summary.
//
// Usage: deno run -A scripts/test.ts [--quick] [--only deno|bun] [--root DIR] [filter...]
//   --quick    skip fmt/lint/doc/type checks (deno test then type-checks the test files itself)
//   --only X   run only one test runner
//   --root DIR run the test files below DIR instead of this repository's (the harness's own test)
//   filter     only test files whose path contains one of these strings
//
// A green result means: every test runner exited 0, wrote its report, and every discovered test
// file appears in each runner's report with at least one test (unless scripts/harness/plan.ts
// says why that runner leaves it out); under Deno every file also loads without throwing.
// Each runner's output goes to .tmp/test-reports/<runner>.log; failures are printed at the end.
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { parseJunit } from "./harness/junit.ts";
import { loadError, typeErrors } from "./harness/output.ts";
import {
  discoverSourceFiles,
  discoverTestFiles,
  planFor,
  type TestRunner,
} from "./harness/plan.ts";

const repoRoot = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const { values, positionals: filters } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    root: { type: "string" },
  },
});
if (values.only !== undefined && values.only !== "deno" && values.only !== "bun") {
  console.error(`--only must be "deno" or "bun", got ${JSON.stringify(values.only)}`);
  process.exit(2);
}
const root = values.root === undefined ? repoRoot : resolve(values.root);
const reportDir = join(root, ".tmp", "test-reports");
const env: Record<string, string | undefined> = {
  ...process.env,
  PATH: `${join(repoRoot, "node_modules", ".bin")}:${process.env.PATH ?? ""}`,
  RUST_BACKTRACE: "0",
};
// Tests run as from a plain shell: a CLI they start must not take npm's INIT_CWD (this
// repository) for the folder its user typed the command in. Emptied, not deleted: Deno's
// spawnSync adds the parent's environment to the one it is given.
env.INIT_CWD = "";
// Colour only for a person at a terminal: CI logs get plain text.
if (!process.stdout.isTTY) {
  env.NO_COLOR = "1";
  delete env.FORCE_COLOR;
}

/** One line of the final report: what failed and why. */
interface Failure {
  readonly what: string;
  readonly details: readonly string[];
}

/** Counts of one part of the run (the checks, or one test runner). */
interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

const failures: Failure[] = [];
const skips: string[] = [];
const tallies = new Map<string, Tally>();
mkdirSync(reportDir, { recursive: true });

// lib/ is the package's built JavaScript: the Node runner of the end-to-end tests runs it.
if (root === repoRoot) prepare("build lib/", "deno", ["run", "-A", "scripts/build_lib.ts"]);

const checked = !values.quick;
if (checked) {
  check("deno fmt --check", "deno", ["fmt", "--check"]);
  check("deno lint", "deno", ["lint"]);
  check("deno doc --lint (public API documented)", "deno", [
    "doc",
    "--lint",
    "mod.ts",
    "runner.ts",
    "testing.ts",
    "plugins/mod.ts",
  ]);
  check("deno check", "deno", ["check", ...discoverSourceFiles(root)]);
}

const testFiles = discoverTestFiles(root).filter((file) =>
  filters.length === 0 || filters.some((f) => file.includes(f))
);
const excludedNotes: string[] = [];
for (const runner of ["deno", "bun"] as const) {
  if (values.only !== undefined && values.only !== runner) continue;
  const plan = planFor(runner, testFiles);
  if (plan.excluded.length > 0) {
    const reasons = [...new Set(plan.excluded.map((e) => e.reason))];
    excludedNotes.push(
      `Not run by ${runner} test (scripts/harness/plan.ts): ${plan.excluded.length} file(s), ` +
        `because ${reasons.join("; ")}`,
    );
  }
  if (plan.run.length > 0) runTests(runner, plan.run);
}
// A selection that runs nothing proves nothing: a mistyped filter must not look green.
const ranTests = [...tallies].some(([label, t]) => label !== "checks" && t.passed + t.failed > 0);
if (!ranTests) {
  fail(
    "checks",
    `no test ran: ${
      testFiles.length === 0 ? "no test file matches" : "no runner took a test file of"
    } ${filters.length === 0 ? "the repository" : JSON.stringify(filters)}${
      values.only === undefined ? "" : ` (--only ${values.only})`
    }`,
  );
}

for (const note of excludedNotes) console.log(note);
for (const skip of skips) console.log(`SKIPPED: ${skip}`);
for (const failure of failures) {
  console.log(`FAILED: ${failure.what}`);
  for (const detail of failure.details) console.log(`    ${detail}`);
}
const total: Tally = { passed: 0, failed: 0, skipped: 0 };
for (const [label, tally] of tallies) {
  console.log(`${label}: ${tally.passed} passed, ${tally.failed} failed, ${tally.skipped} skipped`);
  total.passed += tally.passed;
  total.failed += tally.failed;
  total.skipped += tally.skipped;
}
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed === 0 ? 0 : 1);

/** Runs `command` with its stdout and stderr written to `log`; returns the exit code. */
function spawn(command: string, args: string[], log: string): number {
  const fd = openSync(log, "w");
  try {
    const result = spawnSync(command, args, { cwd: root, env, stdio: ["ignore", fd, fd] });
    if (result.error !== undefined) {
      console.log(`Cannot run ${command}: ${result.error.message}`);
      return 127;
    }
    return result.status ?? 1;
  } finally {
    closeSync(fd);
  }
}

function tally(label: string): Tally {
  let t = tallies.get(label);
  if (t === undefined) tallies.set(label, t = { passed: 0, failed: 0, skipped: 0 });
  return t;
}

function fail(label: string, what: string, details: readonly string[] = []): void {
  tally(label).failed++;
  failures.push({ what, details });
}

/** A step the tests need (a build): counted only when it fails. */
function prepare(label: string, command: string, args: string[]): void {
  const log = join(reportDir, `${label.replace(/\W+/g, "-")}.log`);
  const started = performance.now();
  const code = spawn(command, args, log);
  console.log(`${label}: exit ${code} (${seconds(started)})`);
  if (code !== 0) fail("checks", `${label} (exit ${code})`, tail(log, 20));
}

/** A static check: one pass or one failure, with the type errors or the output's end. */
function check(label: string, command: string, args: string[]): void {
  const log = join(reportDir, `${label.split(" ").slice(0, 2).join("-")}.log`);
  const started = performance.now();
  const code = spawn(command, args, log);
  console.log(`${label}: ${code === 0 ? "ok" : `exit ${code}`} (${seconds(started)})`);
  if (code === 0) {
    tally("checks").passed++;
    return;
  }
  const errors = typeErrors(readFileSync(log, "utf8"), root);
  const details = errors.length > 0
    ? errors.map((e) => `type error at ${e.at}: ${e.message}`)
    : tail(log, 30);
  fail("checks", `${label} (exit ${code})`, details);
}

/** Runs one test runner over `files` and accounts for every file in its report. */
function runTests(runner: TestRunner, files: string[]): void {
  const label = `${runner} test`;
  const report = join(reportDir, `${runner}.xml`);
  const log = join(reportDir, `${runner}.log`);
  rmSync(report, { force: true });
  const started = performance.now();
  const code = runner === "deno"
    ? spawn("deno", [
      "test",
      "-A",
      ...(checked ? ["--no-check"] : []),
      "--reporter=dot",
      `--junit-path=${report}`,
      ...files,
    ], log)
    : spawn("bun", [
      "test",
      "--timeout=60000",
      "--reporter=junit",
      `--reporter-outfile=${report}`,
      ...files.map((f) => `./${f}`),
    ], log);
  console.log(
    `${label}: ${files.length} files, exit ${code} (${seconds(started)}), output in ${log}`,
  );
  const output = readFileSync(log, "utf8");
  const t = tally(label);

  if (!existsSync(report)) {
    const errors = typeErrors(output, root);
    fail(
      label,
      `${label} wrote no report (exit ${code})`,
      errors.length > 0 ? errors.map((e) => `type error at ${e.at}: ${e.message}`) : tail(log, 30),
    );
    return;
  }
  const cases = parseJunit(readFileSync(report, "utf8"), runner === "deno");
  const before = failures.length;
  const reported = new Set<string>();
  for (const c of cases) {
    reported.add(c.file);
    if (c.outcome === "passed") t.passed++;
    else if (c.outcome === "skipped") {
      t.skipped++;
      skips.push(`${label}: ${c.file} ${c.name}`);
    } else fail(label, `${label}: ${c.file} > ${c.name}`, c.message === "" ? [] : [c.message]);
  }
  const broken = new Map<string, string>();
  if (runner === "deno") {
    for (const { file, error } of probeLoads(files)) {
      broken.set(file, `throws while loading: ${error}`);
    }
  }
  for (const file of files) {
    if (!reported.has(file) && !broken.has(file)) {
      const why = loadError(output, file);
      broken.set(
        file,
        why === undefined ? "has no test in the report" : `failed to load: ${why}`,
      );
    }
  }
  for (const [file, why] of broken) fail(label, `${label}: ${file} ${why}`);
  if (code !== 0 && failures.length === before) {
    fail(label, `${label} exited ${code} without a failing test in its report`, tail(log, 30));
  }
}

/** The test files that throw when imported outside `deno test` (see load_probe.ts). */
function probeLoads(files: string[]): { file: string; error: string }[] {
  const probe = join(repoRoot, "scripts", "harness", "load_probe.ts");
  const result = spawnSync("deno", ["run", "-A", "--no-check", probe, ...files], {
    cwd: root,
    env,
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  const found: { file: string; error: string }[] = [];
  for (const line of (result.stdout ?? "").split("\n")) {
    if (line.startsWith("{")) found.push(JSON.parse(line) as { file: string; error: string });
  }
  if (result.status !== 0) {
    found.push({ file: "(load probe)", error: `exit ${result.status}: ${result.stderr.trim()}` });
  }
  return found;
}

function tail(log: string, lines: number): string[] {
  const text = existsSync(log) ? readFileSync(log, "utf8") : "";
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "").trimEnd().split("\n").slice(-lines);
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}
