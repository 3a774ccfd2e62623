// The `apisix-ts-runner` CLI: init, dev, build, run, doctor, version, help. The dev tools load only for dev.
import { resolve } from "node:path";
import { runRunner } from "../runner/run_runner.ts";
import { parseStrict } from "../runner/args.ts";
import { detectRuntimeName, exitProcess, processArgs, scriptCommand } from "../runtime/detect.ts";
import {
  BUILD_OPTIONS,
  CLI_COMMANDS,
  cliHelpText,
  parseDevArgs,
  runnerFlags,
  runtimeFlag,
  splitPluginFlags,
} from "./args.ts";
import { discoverPlugins } from "./discover.ts";
import {
  BuildOptionError,
  DuplicatePluginNameError,
  PluginDiscoveryError,
  UsageError,
} from "./errors.ts";
import { runInit } from "./init.ts";
import { callerCwd } from "./tools.ts";
import { versionLine } from "../runner/version_line.ts";

/** Exit code of a command line or input the CLI cannot use. */
export const EXIT_USAGE = 2;
/** Exit code of a command that ran and failed (a type error, a failed compile). */
export const EXIT_FAILED = 1;

const PROGRAM = "apisix-ts-runner";

/**
 * Runs one CLI command and exits with its code. `run` and `doctor` load the
 * plugins from source and hand over to `runRunner()`, as the compiled
 * executable does with its compiled-in plugins; `dev` loads the dev tools.
 *
 * @example
 * ```ts
 * await runCli(["build", "--plugins", "./plugins"]);
 * ```
 */
export async function runCli(argv: readonly string[] = processArgs()): Promise<never> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case "help":
      case "-h":
      case "--help":
        console.log(cliHelpText(PROGRAM));
        return exitProcess(0);
      case "version":
      case "--version":
        console.log(versionLine());
        return exitProcess(0);
      case "init":
        return exitProcess(_init(rest));
      case "dev":
        return exitProcess(await _dev(rest));
      case "build":
        return exitProcess(await _build(rest));
      case "run":
      case "doctor":
        return await _serve(command, rest);
      default:
        throw new UsageError(
          `Unknown command ${JSON.stringify(command)}: expected one of ${CLI_COMMANDS.join(", ")}`,
        );
    }
  } catch (error) {
    const usage = error instanceof UsageError || error instanceof BuildOptionError ||
      error instanceof PluginDiscoveryError || error instanceof DuplicatePluginNameError ||
      (error as Error).name === "ConfigError";
    const hint = usage ? `\nRun "${PROGRAM} help" for usage.` : "";
    console.error(`${(error as Error).message}${hint}`);
    return exitProcess(usage ? EXIT_USAGE : EXIT_FAILED);
  }
}

/** `run` and `doctor` from source: the plugins come from `--plugins` and `--with-bundled`. */
async function _serve(command: "run" | "doctor", argv: readonly string[]): Promise<never> {
  const { flags, rest } = splitPluginFlags(argv);
  const cwd = callerCwd();
  const found = await discoverPlugins(flags.plugins, { withBundled: flags.withBundled, cwd });
  const pluginArgs = [
    ...flags.plugins.flatMap((path) => ["--plugins", resolve(cwd, path)]),
    ...(flags.withBundled ? ["--with-bundled"] : []),
  ];
  return await runRunner({
    plugins: found.map((source) => source.plugin),
    args: [command, ...rest],
    programName: PROGRAM,
    command: [...scriptCommand(), "run", ...pluginArgs],
  });
}

/**
 * `dev`: the plugins are loaded here (in process) or handed to a child runner
 * (`--watch`); the dev tools load only now.
 */
async function _dev(argv: readonly string[]): Promise<number> {
  const args = parseDevArgs(argv);
  if (args.help) {
    console.log(cliHelpText(PROGRAM));
    return 0;
  }
  const cwd = callerCwd();
  const paths = args.plugins.map((path) => resolve(cwd, path));
  const external = args.runnerSocket !== undefined;
  const watch = args.watch && !external
    ? {
      command: [
        ...scriptCommand(),
        "run",
        ...paths.flatMap((path) => ["--plugins", path]),
        ...(args.withBundled ? ["--with-bundled"] : []),
        ...runnerFlags(args),
      ],
      paths,
    }
    : undefined;
  const plugins = external || watch !== undefined
    ? undefined
    : (await discoverPlugins(args.plugins, { withBundled: args.withBundled, cwd }))
      .map((source) => source.plugin);
  const { runDev } = await import("../dev/dev_command.ts");
  return await runDev({ ...args, plugins, watch, program: PROGRAM, cwd });
}

function _init(argv: readonly string[]): number {
  const { values, positionals } = parseStrict(argv, {
    "runtime": { type: "string" },
    "help": { type: "boolean", short: "h", default: false },
  });
  if (values.help === true) {
    console.log(cliHelpText(PROGRAM));
    return 0;
  }
  if (positionals.length > 1) {
    throw new UsageError(`init takes one folder, got ${JSON.stringify(positionals)}`);
  }
  const result = runInit({
    dir: resolve(callerCwd(), positionals[0] ?? "."),
    runtime: runtimeFlag(values.runtime) ?? detectRuntimeName(),
  });
  for (const line of result.report) console.log(line);
  return 0;
}

async function _build(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseStrict(argv, BUILD_OPTIONS);
  if (values.help === true) {
    console.log(cliHelpText(PROGRAM));
    return 0;
  }
  if (positionals.length > 0) {
    throw new UsageError(`build takes no positional argument, got ${JSON.stringify(positionals)}`);
  }
  const compiler = String(values.compiler);
  if (compiler !== "auto" && compiler !== "deno" && compiler !== "bun") {
    throw new BuildOptionError(
      `Unknown --compiler ${JSON.stringify(compiler)}: expected auto, deno or bun`,
    );
  }
  const plugins = (values.plugins as string[] | undefined) ?? [];
  const withBundled = values["with-bundled"] === true;
  if (plugins.length === 0 && !withBundled) {
    throw new UsageError(
      "Nothing to build: pass --plugins <file|dir> (your plugins) and/or --with-bundled",
    );
  }
  const { buildRunner } = await import("./build/build.ts");
  await buildRunner({
    plugins,
    withBundled,
    compiler,
    out: values.out as string | undefined,
    target: values.target as string | undefined,
    socketDir: values["socket-dir"] as string | undefined,
    allow: (values.allow as string[] | undefined) ?? [],
    check: values["no-check"] !== true,
    measure: values["no-measure"] !== true,
    cwd: callerCwd(),
    log: (line) => console.log(line),
  });
  return 0;
}
