// Compiles one runner executable with the user's plugins inside (`deno compile` or `bun build --compile`).
//
// Usage: deno run -A scripts/build.ts [--plugins <file|dir>]... [--with-bundled]
//          [--compiler auto|deno|bun] [--out <path>] [--target <triple>]
//          [--socket-dir <dir>] [--allow <perm[=list]>]... [--no-measure]
// (`deno task build ...` or `npm run build -- ...`). Run with --help for details.

import { mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { bunCompile } from "./build/bun_compile.ts";
import { chooseCompiler, type CompilerChoice, compilerVersion } from "./build/compiler.ts";
import { denoCompile } from "./build/deno_compile.ts";
import { discoverPlugins, type PluginSource } from "./build/discover.ts";
import { writeEntry } from "./build/entry.ts";
import { BuildOptionError } from "./build/errors.ts";
import { callerCwd, displayPath } from "./build/paths.ts";
import { denoPermissionFlags } from "./build/permissions.ts";
import { checkVersion } from "./build/verify.ts";
import { measureStartToListening } from "./measure_start.ts";

export { type CompilerChoice } from "./build/compiler.ts";
export { type DenortLookup, findDenort } from "./build/denort.ts";
export { discoverPlugins, type PluginSource } from "./build/discover.ts";
export { renderEntry } from "./build/entry.ts";
export {
  BuildError,
  BuildOptionError,
  DenortUnavailableError,
  DuplicatePluginNameError,
  PluginDiscoveryError,
} from "./build/errors.ts";
export { BUN, DENO, ROOT } from "./build/paths.ts";
export { denoPermissionFlags, RUNNER_ENV_VARS } from "./build/permissions.ts";

/** Default output path of the executable, relative to the working directory. */
export const DEFAULT_OUT = "dist/apisix-ts-runner";

/** Options of {@linkcode buildRunner}. */
export interface BuildOptions {
  /** Plugin modules: files (every plugin export is taken) or folders of them. None: the bundled plugins. */
  plugins?: readonly string[];
  /** Also compile in the bundled example plugins when `plugins` is given. */
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
  /** Measure the start-to-listening time after building (default true; never when cross-compiling). */
  measure?: boolean;
  /** Base directory of relative `plugins` and `out` paths (default: the caller's working directory). */
  cwd?: string;
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
 * Builds the runner executable: finds the plugins, writes a static entry under
 * `dist/.entry/`, compiles it, runs `<out> version` to prove the executable
 * starts with every plugin inside, and measures its start-to-listening time.
 *
 * @throws {DenortUnavailableError} when `--compiler deno` cannot get denort.
 * @throws {PluginDiscoveryError | DuplicatePluginNameError} for bad plugin modules.
 * @throws {BuildError} when compiling fails or the executable misbehaves.
 * @example
 * ```ts
 * const result = await buildRunner({ plugins: ["./my_plugins.ts"], compiler: "bun" });
 * console.log(result.outPath, result.sizeBytes, result.startMs);
 * ```
 */
export async function buildRunner(options: BuildOptions = {}): Promise<BuildResult> {
  const log = options.log ?? (() => {});
  const cwd = options.cwd ?? callerCwd();
  const outPath = resolve(cwd, options.out ?? DEFAULT_OUT);
  const { compiler, reason } = chooseCompiler(options.compiler ?? "auto", options.target);
  const version = compilerVersion(compiler);
  log(`Compiler: ${compiler} ${version} (${reason})`);

  const plugins = await discoverPlugins(options.plugins ?? [], {
    withBundled: options.withBundled ?? false,
    cwd,
  });
  log(`Plugins (${plugins.length}): ${plugins.map((p) => _label(p, cwd)).join(", ")}`);

  const { entryDir, entryPath } = writeEntry(plugins, { outPath, compiler });
  mkdirSync(dirname(outPath), { recursive: true });

  let permissions: string[] = [];
  if (compiler === "deno") {
    permissions = denoPermissionFlags({ socketDir: options.socketDir, allow: options.allow });
    log(`Deno permissions: ${permissions.join(" ")}`);
    await denoCompile({ entryPath, outPath }, { permissions, target: options.target });
  } else {
    if (options.socketDir !== undefined || (options.allow ?? []).length > 0) {
      log(
        "Note: --socket-dir and --allow only apply to deno; a bun executable has no permission sandbox",
      );
    }
    await bunCompile({ entryDir, entryPath, outPath }, options.target);
  }
  const sizeBytes = statSync(outPath).size;
  log(`Wrote ${displayPath(outPath, cwd)} (${formatBytes(sizeBytes)})`);

  let versionOutput: string | undefined;
  let startMs: number | undefined;
  if (options.target === undefined) {
    versionOutput = checkVersion(outPath, { plugins, compiler });
    if (options.measure ?? true) {
      startMs = (await measureStartToListening([outPath], { runs: 3 })).ms;
      log(`Start to listening: ${startMs.toFixed(1)} ms (median of 3 runs)`);
    }
  } else {
    log(`Cross-compiled for ${options.target}: not run here`);
  }
  return {
    compiler,
    compilerVersion: version,
    compilerReason: reason,
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

const HELP = `Build one runner executable with your plugins compiled in.

Usage: deno task build [options]      (or: npm run build -- [options])

Options:
  --plugins <file|dir>   A module exporting plugins (every plugin export and plugin array is
                         taken) or a folder of them (*.ts, not *_test.ts or _*.ts). Repeatable.
                         Default: the bundled example plugins.
  --with-bundled         Also compile in the bundled example plugins with yours.
  --compiler <name>      auto (default: deno when a denort is at hand, else bun), deno or bun.
  --out <path>           Output executable (default: ${DEFAULT_OUT}).
  --target <target>      Cross-compile: deno targets like aarch64-unknown-linux-gnu,
                         bun targets like bun-linux-arm64.
  --socket-dir <dir>     deno: allow reading/writing only this directory (where APISIX puts
                         the socket, e.g. /usr/local/apisix/conf) instead of everywhere.
  --allow <kind[=list]>  deno: extra permission for your plugins, e.g. net=auth.internal:443,
                         env=AUTH_KEY, read=/etc/my-plugin, write=/var/log/runner.log. Repeatable.
  --no-measure           Skip the start-to-listening measurement.
  -h, --help             Print this help.

Environment:
  DENORT_BIN             Path of an (unzipped) denort binary for deno compile; needed offline.
`;

function _parseCli(argv: readonly string[]): BuildOptions | undefined {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      "plugins": { type: "string", multiple: true },
      "with-bundled": { type: "boolean", default: false },
      "compiler": { type: "string", default: "auto" },
      "out": { type: "string" },
      "target": { type: "string" },
      "socket-dir": { type: "string" },
      "allow": { type: "string", multiple: true },
      "no-measure": { type: "boolean", default: false },
      "help": { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return undefined;
  const compiler = values.compiler;
  if (compiler !== "auto" && compiler !== "deno" && compiler !== "bun") {
    throw new BuildOptionError(
      `Unknown --compiler ${JSON.stringify(compiler)}: expected auto, deno or bun`,
    );
  }
  return {
    plugins: values.plugins ?? [],
    withBundled: values["with-bundled"],
    compiler,
    out: values.out,
    target: values.target,
    socketDir: values["socket-dir"],
    allow: values.allow ?? [],
    measure: !values["no-measure"],
  };
}

function _label(plugin: PluginSource, cwd: string): string {
  return plugin.bundled
    ? `${plugin.name} (bundled)`
    : `${plugin.name} (${displayPath(plugin.file, cwd)})`;
}

if (import.meta.main) {
  let options: BuildOptions | undefined;
  try {
    options = _parseCli(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\nRun with --help for usage.`);
    process.exit(2);
  }
  if (options === undefined) {
    console.log(HELP);
    process.exit(0);
  }
  try {
    await buildRunner({ ...options, log: (line) => console.log(line) });
  } catch (error) {
    console.error(`Build failed: ${(error as Error).message}`);
    process.exit(1);
  }
}
