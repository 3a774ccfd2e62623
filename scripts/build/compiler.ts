// Picks the compiler for a build (deno when a denort is at hand, else bun) and reads its version.

import { spawnSync } from "node:child_process";
import { denoInfo, findDenort } from "./denort.ts";
import { BuildError } from "./errors.ts";
import { BUN } from "./paths.ts";

/** Compilers `--compiler` accepts; `auto` picks deno when a denort is at hand, else bun. */
export type CompilerChoice = "auto" | "deno" | "bun";

/** A compiler that was picked, and why. */
export interface ChosenCompiler {
  /** The compiler to run. */
  compiler: "deno" | "bun";
  /** Why it was picked, for the build log. */
  reason: string;
}

/** Resolves `auto` by looking for a denort for `target` (the host when undefined). */
export function chooseCompiler(
  choice: CompilerChoice,
  target: string | undefined,
): ChosenCompiler {
  if (choice === "bun") return { compiler: "bun", reason: "--compiler bun" };
  if (choice === "deno") return { compiler: "deno", reason: "--compiler deno" };
  const denort = findDenort(target);
  if (denort.found) return { compiler: "deno", reason: `auto: denort from ${denort.reason}` };
  return {
    compiler: "bun",
    reason: `auto: ${denort.reason}; set DENORT_BIN or run once with --compiler deno ` +
      `(downloads and caches it) to build with deno`,
  };
}

/**
 * The version of `compiler`: `2.9.6`, `1.4.5`.
 *
 * @throws {BuildError} when the compiler cannot be run.
 */
export function compilerVersion(compiler: "deno" | "bun"): string {
  if (compiler === "deno") return denoInfo().version;
  const result = spawnSync(BUN, ["--version"], { encoding: "utf8" });
  if (result.status !== 0) throw new BuildError(`Cannot run ${BUN} --version`, result.stderr ?? "");
  return result.stdout.trim();
}
