// The test plan: which files are test files, and which runtime's test runner leaves which out, and why.

import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

/** The test runners the harness drives. */
export type TestRunner = "deno" | "bun";

/** A rule that keeps some test files away from one test runner, with the reason. */
export interface RunnerExclusion {
  /** Which files the rule covers. */
  readonly match: RegExp;
  /** The test runner that does not run them. */
  readonly runner: TestRunner;
  /** Why: printed with every run. */
  readonly reason: string;
}

/**
 * Every file not run by one of the test runners, in one place. A discovered test file that
 * is not listed here must appear in each runner's report with at least one test.
 */
export const RUNNER_EXCLUSIONS: readonly RunnerExclusion[] = [
  {
    match: /_e2e_test\.ts$/,
    runner: "bun",
    reason: "end-to-end tests start runner processes on Deno, Bun and Node themselves " +
      "(real sockets, real signals); running the same child processes again from bun test " +
      "adds minutes and no coverage",
  },
];

/** Folders never searched: dependencies, and build output (dist/, lib/ at the root). */
const _SKIPPED_DIRS = new Set(["node_modules"]);
const _SKIPPED_ROOT_DIRS = new Set(["dist", "lib"]);

/** Every `*_test.ts` below `root` (paths relative to it, sorted), skipping dot folders. */
export function discoverTestFiles(root: string): string[] {
  return _walk(root, root).filter((file) => file.endsWith("_test.ts")).sort();
}

/** Every `.ts` file below `root` (relative, sorted), for the static checks. */
export function discoverSourceFiles(root: string): string[] {
  return _walk(root, root).filter((file) => file.endsWith(".ts")).sort();
}

/** The files of `files` that `runner` runs, and the ones it leaves out with their reason. */
export function planFor(
  runner: TestRunner,
  files: readonly string[],
): { run: string[]; excluded: { file: string; reason: string }[] } {
  const run: string[] = [];
  const excluded: { file: string; reason: string }[] = [];
  for (const file of files) {
    const rule = RUNNER_EXCLUSIONS.find((r) => r.runner === runner && r.match.test(file));
    if (rule === undefined) run.push(file);
    else excluded.push({ file, reason: rule.reason });
  }
  return { run, excluded };
}

function _walk(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name.startsWith(".") || _SKIPPED_DIRS.has(name)) continue;
    if (dir === root && _SKIPPED_ROOT_DIRS.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(..._walk(root, path));
    else out.push(relative(root, path));
  }
  return out;
}
