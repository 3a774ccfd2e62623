// Compiles the generated entry with `bun build --compile`, mapping the runner's package name to this checkout.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BuildError } from "./errors.ts";
import { BUN, ROOT } from "./paths.ts";
import { runCommand } from "./run.ts";

/** Where {@linkcode bunCompile} reads and writes. */
export interface BunCompilePaths {
  /** Directory of the generated entry; a tsconfig.json is written there. */
  entryDir: string;
  /** The generated entry module. */
  entryPath: string;
  /** The executable to write. */
  outPath: string;
}

/**
 * Runs `bun build --compile` on the generated entry, optionally for a
 * cross-compilation `target` such as `bun-linux-arm64`.
 *
 * @throws {BuildError} when bun fails.
 */
export async function bunCompile(paths: BunCompilePaths, target?: string): Promise<void> {
  const { entryDir, entryPath, outPath } = paths;
  // A user's plugin file outside this repository imports "apisix-ts-plugin-runner" by name; bun
  // resolves that by node_modules lookup from the importing file, which finds nothing (or another
  // copy). The override maps the name to this checkout for every file, like deno.json's imports.
  const tsconfig = join(entryDir, "tsconfig.json");
  writeFileSync(
    tsconfig,
    JSON.stringify(
      {
        compilerOptions: {
          paths: {
            "apisix-ts-plugin-runner": [join(ROOT, "mod.ts")],
            "apisix-ts-plugin-runner/testing": [join(ROOT, "testing.ts")],
          },
        },
      },
      null,
      2,
    ) + "\n",
  );
  const { code, output } = await runCommand(BUN, [
    "build",
    "--compile",
    "--minify",
    "--keep-names",
    // The runner starts in APISIX's working directory: never pick up a stray .env or bunfig there.
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    `--tsconfig-override=${tsconfig}`,
    ...(target === undefined ? [] : [`--target=${target}`]),
    entryPath,
    `--outfile=${outPath}`,
  ]);
  if (code !== 0) throw new BuildError(`bun build --compile failed with exit code ${code}`, output);
}
