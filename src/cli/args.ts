// The CLI's command line: which plugins to serve, and the flags of dev, build and init.
import type { ParseArgsConfig } from "node:util";
import {
  ENVIRONMENT_HELP,
  oneOf,
  parseStrict,
  RUNNER_OPTIONS,
  RUNNER_OPTIONS_HELP,
  type RunnerSettings,
  runnerSettings,
} from "../runner/args.ts";
import { RUNTIME_NAMES, type RuntimeName } from "../runtime/detect.ts";
import { UsageError } from "./errors.ts";

/** The commands of the `apisix-ts-runner` CLI. */
export const CLI_COMMANDS = ["init", "dev", "build", "run", "doctor", "version", "help"] as const;

/** Where the plugins come from: `--plugins` paths and `--with-bundled`. */
export interface PluginFlags {
  /** Files or folders of plugin modules, as given. */
  readonly plugins: readonly string[];
  /** Also serve the bundled example plugins. */
  readonly withBundled: boolean;
}

/** The `parseArgs` options of {@linkcode PluginFlags}. */
export const PLUGIN_OPTIONS = {
  "plugins": { type: "string", multiple: true },
  "with-bundled": { type: "boolean", default: false },
} as const satisfies ParseArgsConfig["options"];

/** The `parseArgs` options of `build`. */
export const BUILD_OPTIONS = {
  ...PLUGIN_OPTIONS,
  "compiler": { type: "string", default: "auto" },
  "out": { type: "string" },
  "target": { type: "string" },
  "socket-dir": { type: "string" },
  "allow": { type: "string", multiple: true },
  "no-check": { type: "boolean", default: false },
  "no-measure": { type: "boolean", default: false },
  "help": { type: "boolean", short: "h", default: false },
} as const satisfies ParseArgsConfig["options"];

/**
 * Takes `--plugins <path>` (repeatable, also `--plugins=<path>`) and `--with-bundled` out of
 * `argv`; the rest is left for the runner's own parser, in order.
 *
 * @example
 * ```ts
 * splitPluginFlags(["--plugins", "./plugins", "--log-level", "debug"]);
 * // { flags: { plugins: ["./plugins"], withBundled: false }, rest: ["--log-level", "debug"] }
 * ```
 */
export function splitPluginFlags(argv: readonly string[]): { flags: PluginFlags; rest: string[] } {
  const plugins: string[] = [];
  let withBundled = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--with-bundled") withBundled = true;
    else if (arg.startsWith("--plugins=")) plugins.push(arg.slice("--plugins=".length));
    else if (arg === "--plugins") {
      const value = argv[++i];
      if (value === undefined || value.startsWith("-")) {
        throw new UsageError("Option '--plugins <file|dir>' argument missing");
      }
      plugins.push(value);
    } else rest.push(arg);
  }
  return { flags: { plugins, withBundled }, rest };
}

/** The options of `dev`: the runner's, the plugins', and the gateway's own. */
export const DEV_OPTIONS = {
  ...RUNNER_OPTIONS,
  ...PLUGIN_OPTIONS,
  "routes": { type: "string" },
  "watch": { type: "boolean", default: false },
  "port": { type: "string", default: "9080" },
  "upstream-port": { type: "string", default: "9081" },
  "runner-socket": { type: "string" },
  "help": { type: "boolean", short: "h", default: false },
} as const;

/** The parsed command line of `dev`. */
export interface DevArgs extends RunnerSettings {
  /** `--plugins` paths. */
  plugins: string[];
  /** `--with-bundled`, or the demo (no plugins given at all). */
  withBundled: boolean;
  /** Whether no plugin source was given: the bundled plugins with their demo routes. */
  demo: boolean;
  /** `--routes`; `undefined`: `./routes.json`, or the demo routes. */
  routesFile: string | undefined;
  /** `--watch`: restart the runner when a plugin file changes. */
  watch: boolean;
  /** Port of the gateway (`--port`, default 9080). */
  port: number;
  /** Port of the built-in echo upstream (`--upstream-port`, default 9081). */
  upstreamPort: number;
  /** Socket of an external runner (`--runner-socket`); `undefined` starts one. */
  runnerSocket: string | undefined;
  /** `--help`. */
  help: boolean;
}

/** Parses the arguments of `dev` (after the command); throws naming the flag and its value. */
export function parseDevArgs(argv: readonly string[]): DevArgs {
  const { values, positionals } = parseStrict(argv, DEV_OPTIONS);
  if (positionals.length > 0) {
    throw new UsageError(`dev takes no positional argument, got ${JSON.stringify(positionals)}`);
  }
  const plugins = (values.plugins as string[] | undefined) ?? [];
  const runnerSocket = values["runner-socket"] as string | undefined;
  const demo = plugins.length === 0 && values["with-bundled"] !== true &&
    runnerSocket === undefined;
  const settings = runnerSettings(values);
  if (values.watch === true && settings.metricsListen !== undefined) {
    // Each reload starts the new runner while the old one drains: both would want the port.
    throw new UsageError(
      "dev --watch cannot serve --metrics-listen: each reload's new runner starts before the old one stops",
    );
  }
  return {
    ...settings,
    plugins,
    withBundled: values["with-bundled"] === true || demo,
    demo,
    routesFile: values.routes as string | undefined,
    watch: values.watch === true,
    port: _port("--port", String(values.port)),
    upstreamPort: _port("--upstream-port", String(values["upstream-port"])),
    runnerSocket,
    help: values.help === true,
  };
}

function _port(flag: string, value: string): number {
  const port = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(port) || port > 65535) {
    throw new UsageError(`${flag} must be a port number from 0 to 65535, got "${value}"`);
  }
  return port;
}

/** The command-line flags of `settings`, for a runner child process (`dev --watch`). */
export function runnerFlags(settings: RunnerSettings): string[] {
  return [
    "--log-level",
    settings.logLevel,
    "--log-format",
    settings.logFormat,
    ...(settings.logFile === undefined ? [] : ["--log-file", settings.logFile]),
    ...(settings.runtime === undefined ? [] : ["--runtime", settings.runtime]),
    "--shutdown-timeout",
    String(settings.shutdownTimeoutMs),
    "--call-timeout",
    String(settings.callTimeoutMs),
    ...(settings.skipInvalidConf ? ["--skip-invalid-conf"] : []),
    ...(settings.otel ? ["--otel"] : []),
  ];
}

/** `--runtime` of `init`: which runtime the starter's scripts use. */
export function runtimeFlag(value: unknown): RuntimeName | undefined {
  return value === undefined ? undefined : oneOf("--runtime", String(value), RUNTIME_NAMES);
}

/** Help text of the CLI; `program` is how it was started. */
export function cliHelpText(program: string): string {
  return `apisix-ts-runner: write Apache APISIX plugins in TypeScript, try them, ship them.

Usage: ${program} <command> [options]

Commands:
  init [<dir>]   Set up a plugin project (default: here): package.json scripts, a plugin and
                 its test, routes for dev, tsconfig; never overwrites a file
  dev            Serve your plugins behind a local APISIX-playing HTTP gateway to try them
                 with curl (without --plugins: the bundled examples and their demo routes)
  build          Type-check your plugins and compile one runner executable for APISIX
  run            Serve your plugins on APISIX's socket (APISIX_LISTEN_ADDRESS), from source
  doctor         Check a deployment (socket path, permissions, APISIX variables) and print
                 the config.yaml snippet; exit 1 with one line per problem
  version        Print the version and the runtime
  help           Print this help

Plugins (run, dev, build, doctor):
  --plugins <file|dir>       A module exporting plugins (every plugin export and array of
                             plugins) or a folder of them; repeatable
  --with-bundled             Also serve the bundled example plugins

Options of init:
  --runtime <name>           node, bun or deno: the runtime the starter's scripts use
                             (default: the one running this command)

Options of dev:
  --routes <file>            Routes file, APISIX-shaped JSON (default: ./routes.json)
  --watch                    Restart the runner when a plugin file changes
  --port <port>              Port of the gateway on 127.0.0.1 (default: 9080; 0 picks one)
  --upstream-port <port>     Port of the built-in echo upstream (default: 9081)
  --runner-socket <path>     Use the runner listening on this unix socket (e.g. your built
                             executable) instead of starting one

Options of build:
  --compiler <name>          auto (default: deno when a denort is at hand, else bun),
                             deno or bun
  --out <path>               Output executable (default: dist/apisix-ts-runner)
  --target <target>          Cross-compile: aarch64-unknown-linux-gnu (deno),
                             bun-linux-arm64 (bun)
  --socket-dir <dir>         deno: allow reading/writing only this directory
  --allow <kind[=list]>      deno: extra permission for your plugins, e.g.
                             net=auth.internal:443, env=AUTH_KEY; repeatable
  --no-check                 Skip the type check of your plugins
  --no-measure               Skip the start-to-listening measurement

Options of run and dev:
${RUNNER_OPTIONS_HELP}

Options of doctor:
  --socket <path>            Check this socket path instead of APISIX_LISTEN_ADDRESS

${ENVIRONMENT_HELP}
  DENORT_BIN                 build: path of an unzipped denort for deno compile (offline)
`;
}
