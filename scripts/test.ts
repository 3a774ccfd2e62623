// Runs every check and test suite (fmt, lint, type check, deno test, bun test) and prints one summary.
//
// Usage: deno run -A scripts/test.ts [--quick] [--only deno|bun] [filter...]
//   --quick    skip fmt/lint/type checks
//   --only X   run only one test runner
//   filter     only test files whose path contains one of these strings
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const binDir = join(root, "node_modules", ".bin");
const env = { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ""}` };
const reportDir = join(root, ".tmp", "test-reports");

interface Tally {
  passed: number;
  failed: number;
  skipped: number;
  failures: string[];
  skips: string[];
}

const { values, positionals: filters } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: { quick: { type: "boolean", default: false }, only: { type: "string" } },
});

const total: Tally = { passed: 0, failed: 0, skipped: 0, failures: [], skips: [] };
mkdirSync(reportDir, { recursive: true });

run("build the Node bundle", "bun", [
  "build",
  "src/cli/run_bundled.ts",
  "--target=node",
  "--outfile=dist/node/runner.mjs",
]);

if (!values.quick) {
  check("deno fmt --check", "deno", ["fmt", "--check"]);
  check("deno lint", "deno", ["lint"]);
  check("deno doc --lint (public API documented)", "deno", [
    "doc",
    "--lint",
    "mod.ts",
    "testing.ts",
  ]);
  check("deno check", "deno", ["check", ...tsFiles().filter((f) => !f.startsWith("dist/"))]);
}

const testFiles = tsFiles().filter((file) =>
  /_test\.ts$/.test(file) && (filters.length === 0 || filters.some((f) => file.includes(f)))
);
// End-to-end tests drive every runtime's runner process themselves, so one test runner is enough.
const unitFiles = testFiles.filter((file) => !file.endsWith("_e2e_test.ts"));

if (values.only !== "bun") {
  const junit = join(reportDir, "deno.xml");
  run("deno test", "deno", [
    "test",
    "-A",
    "--reporter=dot",
    `--junit-path=${junit}`,
    ...testFiles,
  ], true);
  add("deno test", tallyJunit(junit, true));
}
if (values.only !== "deno" && unitFiles.length > 0) {
  const junit = join(reportDir, "bun.xml");
  run("bun test", "bun", [
    "test",
    "--timeout=60000",
    "--reporter=junit",
    `--reporter-outfile=${junit}`,
    ...unitFiles.map((f) => `./${f}`),
  ], true);
  add("bun test", tallyJunit(junit, false));
}

for (const skip of total.skips) console.log(`SKIPPED: ${skip}`);
for (const failure of total.failures) console.log(`FAILED: ${failure}`);
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed === 0 ? 0 : 1);

function run(label: string, command: string, args: string[], mayFail = false): number {
  console.log(`\n== ${label}`);
  const result = spawnSync(command, args, { cwd: root, env, stdio: "inherit" });
  const code = result.status ?? 1;
  if (code !== 0 && !mayFail) {
    total.failed++;
    total.failures.push(`${label} (exit ${code})`);
  }
  return code;
}

function check(label: string, command: string, args: string[]): void {
  if (run(label, command, args, true) === 0) total.passed++;
  else {
    total.failed++;
    total.failures.push(label);
  }
}

function add(label: string, tally: Tally | undefined): void {
  if (tally === undefined) {
    total.failed++;
    total.failures.push(`${label}: no report written (the runner crashed?)`);
    return;
  }
  console.log(`${label}: ${tally.passed} passed, ${tally.failed} failed, ${tally.skipped} skipped`);
  total.passed += tally.passed;
  total.failed += tally.failed;
  total.skipped += tally.skipped;
  total.failures.push(...tally.failures.map((name) => `${label}: ${name}`));
  total.skips.push(...tally.skips.map((name) => `${label}: ${name}`));
}

// Counts leaf test cases of a JUnit report. Deno also lists each describe() block as a case
// named "block", with its tests as "block > test": only leaves count.
function tallyJunit(path: string, nestedNames: boolean): Tally | undefined {
  let xml: string;
  try {
    xml = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  const cases = [...xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)].map((m) => ({
    name: decodeXml(/\bname="([^"]*)"/.exec(m[1])?.[1] ?? "?"),
    file: /\b(?:classname|file)="([^"]*)"/.exec(m[1])?.[1] ?? "",
    body: m[3] ?? "",
  }));
  const names = cases.map((c) => c.name);
  const tally: Tally = { passed: 0, failed: 0, skipped: 0, failures: [], skips: [] };
  for (const testCase of cases) {
    if (nestedNames && names.some((n) => n.startsWith(`${testCase.name} > `))) continue;
    if (/<failure|<error/.test(testCase.body)) {
      tally.failed++;
      tally.failures.push(`${testCase.file} ${testCase.name}`);
    } else if (/<skipped/.test(testCase.body)) {
      tally.skipped++;
      tally.skips.push(`${testCase.file} ${testCase.name}`);
    } else tally.passed++;
  }
  return tally;
}

function decodeXml(text: string): string {
  return text.replace(/&gt;/g, ">").replace(/&lt;/g, "<").replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'").replace(/&amp;/g, "&");
}

function tsFiles(dir = root): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...tsFiles(path));
    else if (name.endsWith(".ts")) out.push(relative(root, path));
  }
  return out.sort();
}
