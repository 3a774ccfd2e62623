// The real servers some tests start (redis-server, Prometheus from Debian): found on PATH, or why not.

import process from "node:process";
import { findOnPath } from "./runner_process.ts";

/**
 * Why `programs` (from the Debian package `debianPackage`) cannot run here, or
 * `undefined` when all are on PATH. In CI (`REQUIRE_TEST_SERVERS=1`) it is
 * always `undefined`: the test runs and fails rather than skips.
 *
 * @example
 * ```ts
 * describe("metrics", { skip: serversMissing(["prometheus", "promtool"], "prometheus") }, () => {});
 * ```
 */
export function serversMissing(programs: string[], debianPackage: string): string | undefined {
  const absent = programs.filter((program) => findOnPath(program) === undefined);
  if (absent.length === 0 || process.env.REQUIRE_TEST_SERVERS === "1") return undefined;
  return `${absent.join(", ")} not on PATH: apt-get install ${debianPackage} (.ci/run does)`;
}

/** The path of `program` on PATH; throws naming it when it is not there. */
export function serverPath(program: string): string {
  const path = findOnPath(program);
  if (path === undefined) throw new Error(`${program} is not installed (not on PATH)`);
  return path;
}
