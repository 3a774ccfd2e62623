// `build`: type-checks the plugins, then compiles one runner executable with them inside.

import { mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { discoverPlugins, type PluginSource } from "../discover.ts";
import { findProjectTools, type ProjectTools } from "../tools.ts";
import { bunCompile } from "./bun_compile.ts";
import { chooseCompiler, type CompilerChoice, compilerVersion } from "./compiler.ts";
import { denoCompile } from "./deno_compile.ts";
import { writeEntry } from "./entry.ts";
import { measureStartToListening } from "./measure_start.ts";
import { denoPermissionFlags } from "./permissions.ts";
import { typeCheck } from "./type_check.ts";
import { checkVersion } from "./verify.ts";

/** Default output path of the executable, relative to the working directory. */
export const DEFAULT_OUT = "dist/apisix-ts-runner";

/** Options of {@linkcode buildRunner}. */
export interface BuildOptions {
  /** Plugin modules: files (every plugin export is taken) or folders of them. */
  plugins?: readonly string[];
  /** Also compile in the bundled example plugins. */
  withBundled?: boolean;
  /** Which compiler (default `auto`). */
  compiler?: CompilerChoice;
  /** Output path (default {@linkcode DEFAULT_OUT}). */
  out?: string;
  /** Cross-compilation target in the compiler's own spelling (`aarch64-unknown-linux-gnu`, `bun-linux-arm64`). */
  target?: string;
  /** Deno only: limit read/write permissions to this directory (where APISIX puts the socket). */
  socketDir?: string;
  /** Deno only: extra permissions for plugins, as `net=auth.internal:443`, `env=MY_KEY`, `read=/etc/x`. */
  allow?: readonly string[];
  /** Type-check the plugin modules first (default true). */
  check?: boolean;
  /** Measure the start-to-listening time after building (default true; never when cross-compiling). */
  measure?: boolean;
  /** Base directory of relative `plugins` and `out` paths. */
  cwd: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** What {@linkcode buildRunner} produced. */
export interface BuildResult {
  /** The compiler used. */
  compiler: "deno" | "bun";
  /** Its version. */
  compilerVersion: string;
  /** Why this compiler was used (relevant for `auto`). */
  compilerReason: string;
  /** Absolute path of the executable. */
  outPath: string;
  /** Absolute path of the generated entry module. */
  entryPath: string;
  /** The compiled-in plugins, in registry order. */
  plugins: PluginSource[];
  /** Size of the executable in bytes. */
  sizeBytes: number;
  /** Deno permission flags baked into the executable (empty for bun). */
  permissions: string[];
  /** Median start-to-listening time in ms, when measured. */
  startMs: number | undefined;
  /** The `version` output of the executable, when it was run (not when cross-compiling). */
  versionOutput: string | undefined;
}

/**
 * Builds the runner executable: finds the plugins, type-checks their modules,
 * writes a static entry under `<project>/.apisix-ts-runner/`, compiles it, runs
 * `<out> version` to prove the executable starts with every plugin inside, and
 * measures its start-to-listening time.
 *
 * @throws {TypeCheckError} naming `file:line:column` of each type error.
 * @throws {DenortUnavailableError} when `--compiler deno` cannot get denort.
 * @throws {PluginDiscoveryError | DuplicatePluginNameError} for bad plugin modules.
 * @throws {BuildError} when compiling fails or the executable misbehaves.
 * @example
 * ```ts
 * const result = await buildRunner({ plugins: ["./plugins"], cwd: process.cwd() });
 * console.log(result.outPath, result.sizeBytes, result.startMs);
 * ```
 */
export async function buildRunner(options: BuildOptions): Promise<BuildResult> {
  const log = options.log ?? (() => {});
  const cwd = options.cwd;
  const tools: ProjectTools = findProjectTools(cwd);
  const outPath = resolve(cwd, options.out ?? DEFAULT_OUT);
  const chosen = chooseCompiler(options.compiler ?? "auto", options.target, tools);
  const version = compilerVersion(chosen);
  log(`Compiler: ${chosen.compiler} ${version} (${chosen.reason})`);

  const plugins = await discoverPlugins(options.plugins ?? [], {
    withBundled: options.withBundled ?? false,
    cwd,
  });
  log(`Plugins (${plugins.length}): ${plugins.map(_label).join(", ")}`);

  const { entryDir, entryPath } = writeEntry(plugins, {
    projectRoot: tools.projectRoot,
    outPath,
    compiler: chosen.compiler,
  });
  const userModules = [...new Set(plugins.filter((p) => !p.bundled).map((p) => p.file))];
  if ((options.check ?? true) && userModules.length > 0) {
    const { checker } = await typeCheck(userModules, { tools, workDir: entryDir });
    log(`Type check: ${userModules.length} module(s) clean (${checker})`);
  }
  mkdirSync(dirname(outPath), { recursive: true });

  let permissions: string[] = [];
  if (chosen.compiler === "deno") {
    permissions = denoPermissionFlags({ socketDir: options.socketDir, allow: options.allow });
    log(`Deno permissions: ${permissions.join(" ")}`);
    await denoCompile({ entryPath, outPath }, {
      deno: chosen.binary,
      projectRoot: tools.projectRoot,
      permissions,
      target: options.target,
    });
  } else {
    if (options.socketDir !== undefined || (options.allow ?? []).length > 0) {
      log(
        "Note: --socket-dir and --allow only apply to deno; a bun executable has no permission sandbox",
      );
    }
    await bunCompile({ entryPath, outPath }, {
      bun: chosen.binary,
      projectRoot: tools.projectRoot,
      target: options.target,
    });
  }
  const sizeBytes = statSync(outPath).size;
  log(`Wrote ${outPath} (${formatBytes(sizeBytes)})`);

  let versionOutput: string | undefined;
  let startMs: number | undefined;
  if (options.target === undefined) {
    versionOutput = await checkVersion(outPath, { plugins, compiler: chosen.compiler, cwd });
    if (options.measure ?? true) {
      startMs = (await measureStartToListening([outPath], { runs: 3 })).ms;
      log(`Start to listening: ${startMs.toFixed(1)} ms (median of 3 runs)`);
    }
  } else {
    log(`Cross-compiled for ${options.target}: not run here`);
  }
  return {
    compiler: chosen.compiler,
    compilerVersion: version,
    compilerReason: chosen.reason,
    outPath,
    entryPath,
    plugins,
    sizeBytes,
    permissions,
    startMs,
    versionOutput,
  };
}

/** `1234567` → `"1.2 MiB"`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function _label(plugin: PluginSource): string {
  return plugin.bundled ? `${plugin.name} (bundled)` : plugin.name;
}
