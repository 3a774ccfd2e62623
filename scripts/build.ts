// Compiles one runner executable with the user's plugins inside (`deno compile` or `bun build --compile`).
//
// Usage: deno run -A scripts/build.ts [--plugins <file|dir>]... [--with-bundled]
//          [--compiler auto|deno|bun] [--out <path>] [--target <triple>]
//          [--socket-dir <dir>] [--allow <perm[=list]>]... [--no-measure]
// (`deno task build ...` or `npm run build -- ...`). Run with --help for details.

import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { measureStartToListening } from "./measure_start.ts";

/** Absolute path of the repository root. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");

/** Default output path of the executable, relative to the working directory. */
export const DEFAULT_OUT = "dist/apisix-ts-runner";

/** The env variables the runner reads; everything else is stripped by nginx anyway. */
export const RUNNER_ENV_VARS: readonly string[] = [
  "APISIX_LISTEN_ADDRESS",
  "APISIX_CONF_EXPIRE_TIME",
];

/** Compilers `--compiler` accepts; `auto` picks deno when a denort is at hand, else bun. */
export type CompilerChoice = "auto" | "deno" | "bun";

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

/** One plugin found in the user's modules, or a bundled one. */
export interface PluginSource {
  /** The plugin's name as routes use it. */
  name: string;
  /** Absolute path of the module the generated entry imports it from. */
  file: string;
  /** Absolute path of the module defining it (differs from `file` for the bundled ones). */
  definedIn: string;
  /** How the generated entry reaches it from the module namespace: `hello`, `plugins[1]`. */
  access: string;
  /** Whether it is one of the bundled example plugins. */
  bundled: boolean;
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

/** A plugin module or folder cannot be used. */
export class PluginDiscoveryError extends Error {
  /** `message` names the path and what is wrong with it. */
  constructor(message: string) {
    super(message);
    this.name = "PluginDiscoveryError";
  }
}

/** A build option has a value the build cannot use. */
export class BuildOptionError extends Error {
  /** `message` names the option and its value. */
  constructor(message: string) {
    super(message);
    this.name = "BuildOptionError";
  }
}

/** Two compiled-in plugins have the same name. */
export class DuplicatePluginNameError extends Error {
  /** The name used twice. */
  readonly pluginName: string;
  /** `first` and `second` describe where each plugin comes from. */
  constructor(pluginName: string, first: string, second: string) {
    super(`Two plugins are named "${pluginName}": ${first} and ${second}`);
    this.name = "DuplicatePluginNameError";
    this.pluginName = pluginName;
  }
}

/** `deno compile` cannot get its `denort` base binary (no DENORT_BIN, not cached, download failed). */
export class DenortUnavailableError extends Error {
  /** What is missing and why the download failed, in one sentence. */
  readonly reason: string;
  /** `reason` says what is missing; `hint` how to provide a denort. */
  constructor(reason: string, hint: string) {
    super(`${reason}. ${hint}`);
    this.name = "DenortUnavailableError";
    this.reason = reason;
  }
}

/** The compiler failed, or the executable it wrote does not run the runner. */
export class BuildError extends Error {
  /** The compiler's or executable's output. */
  readonly output: string;
  /** `reason` says what failed; `output` is appended to the message. */
  constructor(reason: string, output: string) {
    super(output === "" ? reason : `${reason}\n--- output ---\n${output.trimEnd()}\n--- end ---`);
    this.name = "BuildError";
    this.output = output;
  }
}

/** Where `deno compile` would take its base binary from. */
export interface DenortLookup {
  /** Whether a denort is available locally (no download needed). */
  found: boolean;
  /** `DENORT_BIN` or the cached zip, when found. */
  path: string | undefined;
  /** Where Deno caches the zip it downloads: `$DENO_DIR/dl/release/v<version>/denort-<target>.zip`. */
  cachePath: string;
  /** One sentence saying what was found or missing. */
  reason: string;
}

/** The deno binary: the one installed from npm in this repository, else `deno` on PATH. */
export const DENO: string = _localBin("deno");
/** The bun binary: the one installed from npm in this repository, else `bun` on PATH. */
export const BUN: string = _localBin("bun");

/**
 * Looks for the `denort` runtime `deno compile` embeds, without downloading:
 * `DENORT_BIN` (the documented override; Deno reads the file it names), then
 * Deno's download cache. Deno 2 downloads `denort-<target>.zip` from
 * dl.deno.land into `$DENO_DIR/dl/release/v<version>/` on first use.
 *
 * @example
 * ```ts
 * const denort = findDenort();
 * if (!denort.found) console.log(denort.reason);
 * ```
 */
export function findDenort(
  target?: string,
  env: Record<string, string | undefined> = process.env,
): DenortLookup {
  const deno = _denoInfo();
  const zip = `denort-${target ?? deno.target}.zip`;
  const cachePath = join(deno.denoDir, "dl", "release", `v${deno.version}`, zip);
  const fromEnv = env.DENORT_BIN;
  if (fromEnv !== undefined && fromEnv !== "") {
    return existsSync(fromEnv)
      ? { found: true, path: fromEnv, cachePath, reason: `DENORT_BIN=${fromEnv}` }
      : {
        found: false,
        path: undefined,
        cachePath,
        reason: `DENORT_BIN=${fromEnv} does not exist`,
      };
  }
  if (existsSync(cachePath)) {
    return { found: true, path: cachePath, cachePath, reason: `cached ${cachePath}` };
  }
  return {
    found: false,
    path: undefined,
    cachePath,
    reason: `no denort here: DENORT_BIN is unset and ${cachePath} does not exist`,
  };
}

/**
 * Finds the plugins in `paths`: for a file, every export that is a plugin
 * value (an object with a string `name` and a `parseConf` function) and every
 * exported array made only of them; for a folder, the same for each `*.ts`
 * file directly inside it, except `*_test.ts`, `*.d.ts` and `_`-prefixed
 * files, in name order. A value exported twice is taken once.
 *
 * @throws {PluginDiscoveryError} for a missing path, a file without plugins, or no plugins at all.
 * @throws {DuplicatePluginNameError} when two different plugins share a name.
 * @example
 * ```ts
 * const plugins = await discoverPlugins(["./my_plugins.ts"], { withBundled: true });
 * console.log(plugins.map((p) => p.name));
 * ```
 */
export async function discoverPlugins(
  paths: readonly string[],
  options: { withBundled?: boolean; cwd?: string } = {},
): Promise<PluginSource[]> {
  const cwd = options.cwd ?? _callerCwd();
  const found: PluginSource[] = [];
  const seen = new Set<unknown>();
  if (paths.length === 0 || options.withBundled === true) {
    found.push(...await _bundledSources(seen));
  }
  for (const path of paths) {
    const absolute = resolve(cwd, path);
    if (!existsSync(absolute)) throw new PluginDiscoveryError(`Plugin path ${path} does not exist`);
    if (statSync(absolute).isDirectory()) {
      const files = _pluginFilesIn(absolute);
      if (files.length === 0) {
        throw new PluginDiscoveryError(
          `Plugin folder ${path} has no *.ts module (tests and _-prefixed files are left out)`,
        );
      }
      for (const file of files) found.push(...await _pluginsOf(file, seen));
    } else {
      const plugins = await _pluginsOf(absolute, seen);
      if (plugins.length === 0) {
        throw new PluginDiscoveryError(
          `${path} exports no plugin (an object with a string "name" and a parseConf function, ` +
            `or an array of them)`,
        );
      }
      found.push(...plugins);
    }
  }
  if (found.length === 0) throw new PluginDiscoveryError(`No plugins found in ${paths.join(", ")}`);
  const byName = new Map<string, PluginSource>();
  for (const plugin of found) {
    const other = byName.get(plugin.name);
    if (other !== undefined) {
      throw new DuplicatePluginNameError(
        plugin.name,
        _describe(other, cwd),
        _describe(plugin, cwd),
      );
    }
    byName.set(plugin.name, plugin);
  }
  return found;
}

/**
 * Renders the generated entry: static imports of every plugin module (so the
 * compiler sees each import; nothing is discovered at run time) and one
 * `runRunner()` call with the plugins in order.
 *
 * @example
 * ```ts
 * const source = renderEntry(await discoverPlugins(["./my_plugins.ts"]), {
 *   entryDir: "/repo/dist/.entry/x",
 *   programName: "apisix-ts-runner",
 * });
 * ```
 */
export function renderEntry(
  plugins: readonly PluginSource[],
  options: { entryDir: string; programName: string },
): string {
  const modules = new Map<string, string>();
  const lines = [
    "// Generated by scripts/build.ts on every build: the runner entry with the plugins compiled in.",
    `import { runRunner } from "${_specifier(options.entryDir, join(ROOT, "mod.ts"))}";`,
  ];
  for (const plugin of plugins) {
    if (modules.has(plugin.file)) continue;
    const alias = `_m${modules.size}`;
    modules.set(plugin.file, alias);
    lines.push(`import * as ${alias} from "${_specifier(options.entryDir, plugin.file)}";`);
  }
  lines.push("", "await runRunner({", `  programName: ${JSON.stringify(options.programName)},`);
  lines.push("  plugins: [");
  for (const plugin of plugins) {
    const where = relative(ROOT, plugin.definedIn).split(sep).join("/");
    lines.push(
      `    ${modules.get(plugin.file)}${plugin.access}, // "${plugin.name}" from ${where}`,
    );
  }
  lines.push("  ],", "});", "");
  return lines.join("\n");
}

/**
 * Deno permission flags of the compiled runner: read and write (the socket
 * file: create, stale-file check and removal, chmod), net (Deno checks unix
 * socket listens against `--allow-net`, and can scope it only to one exact
 * socket path, which APISIX makes from its master pid), the two APISIX env
 * variables, plus the user's `allow` entries merged in.
 *
 * @example
 * ```ts
 * denoPermissionFlags({ socketDir: "/usr/local/apisix/conf", allow: ["env=AUTH_KEY"] });
 * // ["--allow-read=/usr/local/apisix/conf", "--allow-write=/usr/local/apisix/conf",
 * //  "--allow-net", "--allow-env=APISIX_LISTEN_ADDRESS,APISIX_CONF_EXPIRE_TIME,AUTH_KEY"]
 * ```
 */
export function denoPermissionFlags(
  options: { socketDir?: string | undefined; allow?: readonly string[] | undefined } = {},
): string[] {
  const scopes = new Map<string, Set<string> | "all">();
  const add = (kind: string, values: readonly string[] | "all") => {
    const current = scopes.get(kind);
    if (current === "all") return;
    if (values === "all") scopes.set(kind, "all");
    else scopes.set(kind, new Set([...(current ?? []), ...values]));
  };
  const socketScope = options.socketDir === undefined ? "all" : [resolve(options.socketDir)];
  add("read", socketScope);
  add("write", socketScope);
  add("net", "all");
  add("env", RUNNER_ENV_VARS);
  for (const spec of options.allow ?? []) {
    const match = /^(?:--allow-)?([a-z]+)(?:=(.*))?$/.exec(spec);
    if (match === null || !_PERMISSION_KINDS.includes(match[1]!)) {
      throw new BuildOptionError(
        `Unknown --allow ${JSON.stringify(spec)}: expected <kind>[=<list>] with kind one of ` +
          _PERMISSION_KINDS.join(", "),
      );
    }
    const list = match[2];
    add(match[1]!, list === undefined || list === "" ? "all" : list.split(","));
  }
  const flags: string[] = [];
  for (const [kind, scope] of scopes) {
    flags.push(scope === "all" ? `--allow-${kind}` : `--allow-${kind}=${[...scope].join(",")}`);
  }
  return flags;
}

const _PERMISSION_KINDS = ["read", "write", "net", "env", "sys", "run", "ffi", "import"];

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
  const cwd = options.cwd ?? _callerCwd();
  const outPath = resolve(cwd, options.out ?? DEFAULT_OUT);
  const { compiler, reason } = _chooseCompiler(options.compiler ?? "auto", options.target);
  const compilerVersion = _versionOf(compiler);
  log(`Compiler: ${compiler} ${compilerVersion} (${reason})`);

  const plugins = await discoverPlugins(options.plugins ?? [], {
    withBundled: options.withBundled ?? false,
    cwd,
  });
  log(`Plugins (${plugins.length}): ${plugins.map((p) => _label(p, cwd)).join(", ")}`);

  const entryDir = join(ROOT, "dist", ".entry", _entryKey(outPath, compiler));
  mkdirSync(entryDir, { recursive: true });
  const entryPath = join(entryDir, "main.ts");
  writeFileSync(entryPath, renderEntry(plugins, { entryDir, programName: basename(outPath) }));
  mkdirSync(dirname(outPath), { recursive: true });

  let permissions: string[] = [];
  if (compiler === "deno") {
    permissions = denoPermissionFlags({ socketDir: options.socketDir, allow: options.allow });
    log(`Deno permissions: ${permissions.join(" ")}`);
    await _denoCompile(entryPath, outPath, permissions, options.target);
  } else {
    if (options.socketDir !== undefined || (options.allow ?? []).length > 0) {
      log(
        "Note: --socket-dir and --allow only apply to deno; a bun executable has no permission sandbox",
      );
    }
    await _bunCompile(entryDir, entryPath, outPath, options.target);
  }
  const sizeBytes = statSync(outPath).size;
  log(`Wrote ${_display(outPath, cwd)} (${formatBytes(sizeBytes)})`);

  let versionOutput: string | undefined;
  let startMs: number | undefined;
  if (options.target === undefined) {
    versionOutput = _checkVersion(outPath, plugins, compiler);
    if (options.measure ?? true) {
      startMs = (await measureStartToListening([outPath], { runs: 3 })).ms;
      log(`Start to listening: ${startMs.toFixed(1)} ms (median of 3 runs)`);
    }
  } else {
    log(`Cross-compiled for ${options.target}: not run here`);
  }
  return {
    compiler,
    compilerVersion,
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

function _chooseCompiler(
  choice: CompilerChoice,
  target: string | undefined,
): { compiler: "deno" | "bun"; reason: string } {
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

function _denoCompile(
  entryPath: string,
  outPath: string,
  permissions: readonly string[],
  target: string | undefined,
): Promise<void> {
  const args = [
    "compile",
    "--config",
    join(ROOT, "deno.json"),
    "--output",
    outPath,
    ...(target === undefined ? [] : ["--target", target]),
    ...permissions,
    ..._unusedNodeModules().flatMap((path) => ["--exclude", path]),
    entryPath,
  ];
  return _run(DENO, args).then(({ code, output }) => {
    if (code === 0) return;
    if (/Setting up base binary|denort-[\w-]+\.zip|Could not find denort/.test(output)) {
      const denort = findDenort(target);
      // Deno prints the error chain as numbered "Caused by" lines; the last one is the root cause.
      const chain = output.split("Stack backtrace")[0]!;
      const causes = [...chain.matchAll(/^\s*\d+: (.*)$/gm)].map((m) => m[1]!.trim());
      const url = /https:\/\/\S+?\.zip/.exec(output)?.[0];
      const cause = url === undefined
        ? causes.at(-1)
        : `downloading ${url} failed (${causes.at(-1) ?? "no details"})`;
      const info = _denoInfo();
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
 * `nodeModulesDir: "manual"` deno compile embeds the whole node_modules folder, which here holds
 * the deno and bun binaries themselves (~400 MB); excluding the rest leaves about 2 MB.
 */
function _unusedNodeModules(): string[] {
  const nodeModules = join(ROOT, "node_modules");
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
  const root = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
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

async function _bunCompile(
  entryDir: string,
  entryPath: string,
  outPath: string,
  target: string | undefined,
): Promise<void> {
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
  const { code, output } = await _run(BUN, [
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

function _checkVersion(
  outPath: string,
  plugins: readonly PluginSource[],
  compiler: string,
): string {
  // An empty environment, as under APISIX; `version` must not need the listen address.
  const result = spawnSync(outPath, ["version"], { env: {}, encoding: "utf8", timeout: 30_000 });
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`;
  const listed = /^plugins: (.*)$/m.exec(output)?.[1]?.split(", ") ?? [];
  const missing = plugins.map((p) => p.name).filter((name) => !listed.includes(name));
  if (result.status !== 0 || !output.startsWith("apisix-ts-plugin-runner ") || missing.length > 0) {
    const hint = compiler === "deno" && process.env.DENORT_BIN !== undefined
      ? ` (is DENORT_BIN=${process.env.DENORT_BIN} really a denort? A full deno binary ignores the embedded program)`
      : "";
    throw new BuildError(
      `${outPath} version exited with ${result.status} and did not list ` +
        `${missing.length > 0 ? missing.join(", ") : "the runner"}${hint}`,
      output,
    );
  }
  return output;
}

function _run(command: string, args: readonly string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, [...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const collect = (chunk: Uint8Array) => output += new TextDecoder().decode(chunk);
    child.stdout!.on("data", collect);
    child.stderr!.on("data", collect);
    child.once("error", (error) => {
      output += `cannot start ${command}: ${error.message}\n`;
    });
    child.once("close", (code) => resolvePromise({ code: code ?? 1, output }));
  });
}

interface _DenoInfo {
  version: string;
  target: string;
  denoDir: string;
}

let _denoInfoCache: _DenoInfo | undefined;

function _denoInfo(): _DenoInfo {
  if (_denoInfoCache !== undefined) return _denoInfoCache;
  const version = spawnSync(DENO, ["--version"], { encoding: "utf8" }).stdout ?? "";
  // "deno 2.9.6 (stable, release, x86_64-unknown-linux-gnu)"
  const match = /^deno (\S+) \(.*?(\S+)\)$/m.exec(version);
  if (match === null) {
    throw new BuildError(`Cannot read the version and target of ${DENO}`, version);
  }
  let denoDir = process.env.DENO_DIR;
  if (denoDir === undefined || denoDir === "") {
    const info = spawnSync(DENO, ["info", "--json"], { encoding: "utf8" }).stdout ?? "";
    denoDir = (JSON.parse(info) as { denoDir: string }).denoDir;
  }
  _denoInfoCache = { version: match[1]!, target: match[2]!, denoDir };
  return _denoInfoCache;
}

function _versionOf(compiler: "deno" | "bun"): string {
  if (compiler === "deno") return _denoInfo().version;
  const result = spawnSync(BUN, ["--version"], { encoding: "utf8" });
  if (result.status !== 0) throw new BuildError(`Cannot run ${BUN} --version`, result.stderr ?? "");
  return result.stdout.trim();
}

async function _bundledSources(seen: Set<unknown>): Promise<PluginSource[]> {
  const mod = await import(pathToFileURL(join(ROOT, "plugins", "mod.ts")).href) as {
    bundledPlugins: readonly unknown[];
  };
  // Name the file each bundled plugin lives in, for duplicate-name messages.
  const fileOf = new Map<unknown, string>();
  for (const file of _pluginFilesIn(join(ROOT, "plugins"))) {
    if (basename(file) === "mod.ts") continue;
    const exports = await import(pathToFileURL(file).href) as Record<string, unknown>;
    for (const value of Object.values(exports)) if (_isPlugin(value)) fileOf.set(value, file);
  }
  const sources: PluginSource[] = [];
  const modFile = join(ROOT, "plugins", "mod.ts");
  mod.bundledPlugins.forEach((plugin, index) => {
    if (!_isPlugin(plugin) || seen.has(plugin)) return;
    seen.add(plugin);
    sources.push({
      name: plugin.name,
      file: modFile,
      definedIn: fileOf.get(plugin) ?? modFile,
      access: `.bundledPlugins[${index}]`,
      bundled: true,
    });
  });
  return sources;
}

async function _pluginsOf(file: string, seen: Set<unknown>): Promise<PluginSource[]> {
  let exports: Record<string, unknown>;
  try {
    exports = await import(pathToFileURL(file).href) as Record<string, unknown>;
  } catch (error) {
    throw new PluginDiscoveryError(
      `Cannot import plugin module ${file}: ${(error as Error).message}`,
    );
  }
  const sources: PluginSource[] = [];
  const take = (value: unknown, access: string) => {
    if (seen.has(value)) return;
    seen.add(value);
    const name = (value as { name: string }).name;
    sources.push({ name, file, definedIn: file, access, bundled: false });
  };
  for (const exportName of Object.keys(exports).sort(_defaultLast)) {
    const value = exports[exportName];
    const access = /^[A-Za-z_$][\w$]*$/.test(exportName)
      ? `.${exportName}`
      : `[${JSON.stringify(exportName)}]`;
    if (_isPlugin(value)) take(value, access);
    else if (Array.isArray(value) && value.length > 0 && value.every(_isPlugin)) {
      value.forEach((plugin, index) => take(plugin, `${access}[${index}]`));
    }
  }
  return sources;
}

// Module namespaces list exports alphabetically; keep that order, with `default` after the named ones.
function _defaultLast(a: string, b: string): number {
  if (a === "default") return 1;
  if (b === "default") return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function _isPlugin(value: unknown): value is { name: string; parseConf: unknown } {
  return typeof value === "object" && value !== null &&
    typeof (value as { name?: unknown }).name === "string" &&
    typeof (value as { parseConf?: unknown }).parseConf === "function";
}

function _pluginFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) =>
      name.endsWith(".ts") && !name.endsWith(".d.ts") && !name.endsWith("_test.ts") &&
      !name.startsWith("_")
    )
    .sort()
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}

function _describe(plugin: PluginSource, cwd: string): string {
  if (plugin.bundled) return `${_display(plugin.definedIn, cwd)} (bundled)`;
  return `${_display(plugin.file, cwd)} (export ${plugin.access.replace(/^\./, "")})`;
}

function _label(plugin: PluginSource, cwd: string): string {
  return plugin.bundled
    ? `${plugin.name} (bundled)`
    : `${plugin.name} (${_display(plugin.file, cwd)})`;
}

function _display(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

function _specifier(fromDir: string, file: string): string {
  const rel = relative(fromDir, file).split(sep).join("/");
  return rel.startsWith(".") ? rel : `./${rel}`;
}

function _entryKey(outPath: string, compiler: string): string {
  const hash = createHash("sha256").update(outPath).digest("hex").slice(0, 8);
  return `${basename(outPath).replace(/[^\w.-]/g, "_")}-${compiler}-${hash}`;
}

function _localBin(name: string): string {
  const local = join(ROOT, "node_modules", ".bin", name);
  return existsSync(local) ? local : name;
}

// npm and deno task run scripts in the project directory; INIT_CWD is where the user typed it.
function _callerCwd(): string {
  return process.env.INIT_CWD ?? process.cwd();
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
