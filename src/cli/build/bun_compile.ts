// Compiles the generated entry with `bun build --compile`.

import { BuildError } from "../errors.ts";
import { runCommand } from "./run.ts";

/** Options of {@linkcode bunCompile}. */
export interface BunCompileOptions {
  /** The bun binary. */
  bun: string;
  /** The user's project: bun resolves the runner package from its node_modules. */
  projectRoot: string;
  /** Cross-compilation target such as `bun-linux-arm64`. */
  target?: string | undefined;
}

/**
 * Runs `bun build --compile` on the generated entry.
 *
 * @throws {BuildError} when bun fails.
 * @example
 * ```ts
 * await bunCompile({ entryPath, outPath }, { bun: "bun", projectRoot: process.cwd() });
 * ```
 */
export async function bunCompile(
  paths: { entryPath: string; outPath: string },
  options: BunCompileOptions,
): Promise<void> {
  const { code, output } = await runCommand(options.bun, [
    "build",
    "--compile",
    "--minify",
    "--keep-names",
    // The runner starts in APISIX's working directory: never pick up a stray .env or bunfig there.
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    ...(options.target === undefined ? [] : [`--target=${options.target}`]),
    paths.entryPath,
    `--outfile=${paths.outPath}`,
  ], options.projectRoot);
  if (code !== 0) throw new BuildError(`bun build --compile failed with exit code ${code}`, output);
}
