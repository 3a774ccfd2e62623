// Compiles the generated entry with `deno compile`, leaving unused node_modules out and explaining a missing denort.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BuildError, DenortUnavailableError } from "../errors.ts";
import { denoInfo, findDenort } from "./denort.ts";
import { runCommand } from "./run.ts";

/** Options of {@linkcode denoCompile}. */
export interface DenoCompileOptions {
  /** The deno binary. */
  deno: string;
  /** The user's project: its deno.json (if any) configures the compile, its node_modules is embedded. */
  projectRoot: string;
  /** Permission flags to bake in (from `denoPermissionFlags`). */
  permissions: readonly string[];
  /** Cross-compilation target, e.g. `aarch64-unknown-linux-gnu`. */
  target?: string | undefined;
}

/**
 * Runs `deno compile` on `entryPath`, writing the executable to `outPath`.
 *
 * @throws {DenortUnavailableError} when deno cannot get its denort base binary.
 * @throws {BuildError} when deno compile fails otherwise.
 */
export function denoCompile(
  paths: { entryPath: string; outPath: string },
  options: DenoCompileOptions,
): Promise<void> {
  const { entryPath, outPath } = paths;
  const { deno, projectRoot, permissions, target } = options;
  const config = join(projectRoot, "deno.json");
  const args = [
    "compile",
    ...(existsSync(config) ? ["--config", config] : []),
    "--output",
    outPath,
    ...(target === undefined ? [] : ["--target", target]),
    ...permissions,
    ..._unusedNodeModules(projectRoot).flatMap((path) => ["--exclude", path]),
    entryPath,
  ];
  return runCommand(deno, args, projectRoot).then(({ code, output }) => {
    if (code === 0) return;
    if (/Setting up base binary|denort-[\w-]+\.zip|Could not find denort/.test(output)) {
      const denort = findDenort(deno, target);
      // Deno prints the error chain as numbered "Caused by" lines; the last one is the root cause.
      const chain = output.split("Stack backtrace")[0]!;
      const causes = [...chain.matchAll(/^\s*\d+: (.*)$/gm)].map((m) => m[1]!.trim());
      const url = /https:\/\/\S+?\.zip/.exec(output)?.[0];
      const cause = url === undefined
        ? causes.at(-1)
        : `downloading ${url} failed (${causes.at(-1) ?? "no details"})`;
      const info = denoInfo(deno);
      throw new DenortUnavailableError(
        `deno compile cannot get the denort runtime: ${denort.reason}` +
          (cause === undefined ? "" : `, and ${cause}`),
        `Download denort-${target ?? info.target}.zip for Deno ${info.version} from ` +
          `https://dl.deno.land/release/v${info.version}/, unzip it and set ` +
          `DENORT_BIN=/path/to/denort, or put the zip at ${denort.cachePath}; ` +
          `or build with --compiler bun`,
      );
    }
    throw new BuildError(`deno compile failed with exit code ${code}`, output);
  });
}

/**
 * Top-level node_modules entries outside the closure of package.json `dependencies`. With
 * `nodeModulesDir: "manual"` deno compile embeds the whole node_modules folder, which may hold
 * the deno and bun binaries themselves (~400 MB); excluding the rest leaves about 2 MB.
 */
function _unusedNodeModules(projectRoot: string): string[] {
  const nodeModules = join(projectRoot, "node_modules");
  const manifest = join(projectRoot, "package.json");
  if (!existsSync(manifest)) return [];
  if (!existsSync(nodeModules)) return [];
  const needed = new Set<string>();
  const visit = (name: string) => {
    if (needed.has(name)) return;
    needed.add(name);
    const manifest = join(nodeModules, name, "package.json");
    if (!existsSync(manifest)) return;
    const json = JSON.parse(readFileSync(manifest, "utf8")) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const dep of Object.keys({ ...json.dependencies, ...json.optionalDependencies })) {
      visit(dep);
    }
  };
  const root = JSON.parse(readFileSync(manifest, "utf8")) as {
    dependencies?: Record<string, string>;
  };
  for (const dep of Object.keys(root.dependencies ?? {})) visit(dep);
  const unused: string[] = [];
  for (const entry of readdirSync(nodeModules)) {
    if (entry.startsWith("@")) {
      for (const scoped of readdirSync(join(nodeModules, entry))) {
        if (!needed.has(`${entry}/${scoped}`)) unused.push(`node_modules/${entry}/${scoped}`);
      }
    } else if (!needed.has(entry)) {
      unused.push(`node_modules/${entry}`);
    }
  }
  return unused;
}
