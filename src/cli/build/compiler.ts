// Picks the compiler for a build (deno when a denort is at hand, else bun) and reads its version.

import { spawnSync } from "node:child_process";
import { BuildError } from "../errors.ts";
import type { ProjectTools } from "../tools.ts";
import { denoInfo, findDenort } from "./denort.ts";

/** Compilers `--compiler` accepts; `auto` picks deno when a denort is at hand, else bun. */
export type CompilerChoice = "auto" | "deno" | "bun";

/** A compiler that was picked, and why. */
export interface ChosenCompiler {
  /** The compiler to run. */
  compiler: "deno" | "bun";
  /** Its binary. */
  binary: string;
  /** Why it was picked, for the build log. */
  reason: string;
}

/**
 * Resolves `choice` against the tools at hand: `auto` looks for a denort for
 * `target` (the host when undefined) and falls back to bun.
 *
 * @throws {BuildError} naming the package to add when the compiler is missing.
 * @example
 * ```ts
 * chooseCompiler("auto", undefined, findProjectTools(process.cwd())).compiler; // "bun" offline
 * ```
 */
export function chooseCompiler(
  choice: CompilerChoice,
  target: string | undefined,
  tools: Pick<ProjectTools, "deno" | "bun">,
): ChosenCompiler {
  const { deno, bun } = tools;
  if (choice === "bun" || (choice === "auto" && deno === undefined)) {
    if (bun === undefined) throw _missing(choice === "bun" ? "bun" : "bun or deno");
    return {
      compiler: "bun",
      binary: bun,
      reason: choice === "bun" ? "--compiler bun" : "auto: no deno here",
    };
  }
  if (deno === undefined) throw _missing("deno");
  if (choice === "deno") return { compiler: "deno", binary: deno, reason: "--compiler deno" };
  const denort = findDenort(deno, target);
  if (denort.found) {
    return { compiler: "deno", binary: deno, reason: `auto: denort from ${denort.reason}` };
  }
  if (bun === undefined) {
    return { compiler: "deno", binary: deno, reason: `auto: no bun here (${denort.reason})` };
  }
  return {
    compiler: "bun",
    binary: bun,
    reason: `auto: ${denort.reason}; set DENORT_BIN or run once with --compiler deno ` +
      `(downloads and caches it) to build with deno`,
  };
}

/**
 * The version of the chosen compiler: `2.9.6`, `1.4.5`.
 *
 * @throws {BuildError} when the compiler cannot be run.
 */
export function compilerVersion(chosen: ChosenCompiler): string {
  if (chosen.compiler === "deno") return denoInfo(chosen.binary).version;
  const result = spawnSync(chosen.binary, ["--version"], { encoding: "utf8" });
  if (result.status !== 0) {
    throw new BuildError(`Cannot run ${chosen.binary} --version`, result.stderr ?? "");
  }
  return result.stdout.trim();
}

function _missing(what: string): BuildError {
  return new BuildError(
    `Building the executable needs ${what} to compile it, and none is installed here: ` +
      `add one to your project (npm i -D bun, or npm i -D deno) or put it on PATH`,
    "",
  );
}
