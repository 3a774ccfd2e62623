// The `dev` command: the runner plus an APISIX-playing HTTP gateway, for trying plugins with curl.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { getLogger } from "@logtape/logtape";
import demoRoutes from "../../plugins/demo_routes.json" with { type: "json" };
import { PLUGIN_OPTIONS } from "../cli/args.ts";
import { discoverPlugins } from "../cli/discover.ts";
import { PluginRegistry } from "../plugin/registry.ts";
import {
  parseStrict,
  RUNNER_OPTIONS,
  type RunnerSettings,
  runnerSettings,
} from "../runner/args.ts";
import { ConfigError, parseConfTtlMs } from "../runner/env.ts";
import { installLastResortHandlers } from "../runner/last_resort.ts";
import { setupLogging, shutdownLogging } from "../runner/logging.ts";
import { detectRuntimeName, loadRuntime, processEnv, scriptCommand } from "../runtime/detect.ts";
import type { SocketRuntime } from "../runtime/types.ts";
import { RunnerServer } from "../server/server.ts";
import { ApisixClient } from "./client/client.ts";
import { renderBanner } from "./gateway/banner.ts";
import { DevGateway, serveEcho } from "./gateway/gateway.ts";
import { parseRoutes, parseRoutesJson, type Route } from "./gateway/routes.ts";
import { createNodeHttpRuntime } from "./http/http_node.ts";
import { HttpListenError, type HttpServer } from "./http/http_types.ts";
import { WatchedRunner } from "./watched_runner.ts";

const logger = getLogger(["apisix-runner", "dev"]);

/** The address the dev gateway and the echo upstream listen on: loopback only. */
export const DEV_HOSTNAME = "127.0.0.1";

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

/** Parses the arguments of `dev` (after the command); throws ConfigError naming the flag. */
export function parseDevArgs(argv: readonly string[]): DevArgs {
  const { values, positionals } = parseStrict(argv, DEV_OPTIONS);
  if (positionals.length > 0) {
    throw new ConfigError(`dev takes no positional argument, got ${JSON.stringify(positionals)}`);
  }
  const plugins = (values.plugins as string[] | undefined) ?? [];
  const runnerSocket = values["runner-socket"] as string | undefined;
  const demo = plugins.length === 0 && values["with-bundled"] !== true &&
    runnerSocket === undefined;
  return {
    ...runnerSettings(values),
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

/** Options of {@linkcode runDevCommand}. */
export interface DevCommandOptions {
  /** How the program is called, for messages. */
  readonly program: string;
  /** Base of relative paths. */
  readonly cwd: string;
}

/**
 * Runs `dev`: the runner (in process; a child process replaced on every plugin
 * change with `--watch`; or the one at `--runner-socket`), the built-in echo
 * upstream and the gateway, both on 127.0.0.1; prints a banner with curl lines,
 * then serves until SIGINT/SIGTERM and stops everything. Without `--plugins` it
 * serves the bundled example plugins with their demo routes. Resolves with the
 * exit code: 0 after a signal, 2 for a bad command line or routes, 1 when
 * something cannot start.
 *
 * @example
 * ```ts
 * const code = await runDevCommand(["--plugins", "./plugins", "--watch"], { program, cwd });
 * ```
 */
export async function runDevCommand(
  argv: readonly string[],
  options: DevCommandOptions,
): Promise<number> {
  const args = parseDevArgs(argv);
  if (args.help) {
    const { cliHelpText } = await import("../cli/args.ts");
    console.log(cliHelpText(options.program));
    return 0;
  }
  let routes: Route[];
  try {
    routes = await _loadRoutes(args, options);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const runtime = await loadRuntime(args.runtime ?? detectRuntimeName());
  await setupLogging({ level: args.logLevel, format: args.logFormat, file: args.logFile });
  const uninstall = installLastResortHandlers();
  // Listen for signals first: Ctrl-C during startup then still stops everything cleanly.
  const signalled = new Promise<string>((resolve) => {
    runtime.onSignal("SIGINT", () => resolve("SIGINT"));
    runtime.onSignal("SIGTERM", () => resolve("SIGTERM"));
  });
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanUp = async () => {
    for (const step of cleanups.reverse()) {
      try {
        await step();
      } catch (error) {
        logger.warn("Cleanup step failed: {error}", { error });
      }
    }
    uninstall();
    await shutdownLogging();
  };

  try {
    const socket = await _socketPath(args, cleanups);
    const client = new ApisixClient({ runtime, socketPath: socket.path });
    cleanups.push(() => client.close());
    const runnerLine = await _startRunner(args, { ...options, socket, runtime, client }, cleanups);
    const http = createNodeHttpRuntime();
    cleanups.push(() => http.close());
    const echo = await serveEcho(http, { hostname: DEV_HOSTNAME, port: args.upstreamPort });
    cleanups.push(() => echo.close());
    const gateway = new DevGateway({
      client,
      http,
      routes,
      echo: { hostname: DEV_HOSTNAME, port: echo.port },
    });
    const server: HttpServer = await http.serve(
      { hostname: DEV_HOSTNAME, port: args.port },
      (request) => gateway.handle(request),
    );
    cleanups.push(() => server.close());
    console.log(renderBanner({
      gatewayUrl: `http://${DEV_HOSTNAME}:${server.port}`,
      echoUrl: `http://${DEV_HOSTNAME}:${echo.port}`,
      runner: runnerLine,
      routes,
    }));
  } catch (error) {
    const hint = error instanceof HttpListenError
      ? " (pick other ports with --port and --upstream-port)"
      : "";
    console.error(`Cannot start the dev gateway: ${(error as Error).message}${hint}`);
    await cleanUp();
    return error instanceof ConfigError ? 2 : 1;
  }

  const signal = await signalled;
  logger.info("Received {signal}, stopping the dev gateway and the runner", { signal });
  await cleanUp();
  console.log("Stopped.");
  return 0;
}

/** The runner's socket: `--runner-socket`, or a fresh one in a private temp directory. */
async function _socketPath(
  args: DevArgs,
  cleanups: (() => Promise<void> | void)[],
): Promise<{ path: string; external: boolean }> {
  if (args.runnerSocket !== undefined) return { path: args.runnerSocket, external: true };
  const dir = await _makeTempDir();
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return { path: join(dir, "runner.sock"), external: false };
}

/** Starts the runner side on `socket`; returns the banner's line about it. */
async function _startRunner(
  args: DevArgs,
  context: DevCommandOptions & {
    socket: { path: string; external: boolean };
    runtime: SocketRuntime;
    client: ApisixClient;
  },
  cleanups: (() => Promise<void> | void)[],
): Promise<string> {
  const { socket, runtime } = context;
  if (socket.external) return `external runner at unix:${socket.path}`;
  const sources = args.plugins.map((path) => resolve(context.cwd, path));
  if (args.watch) {
    const runner = new WatchedRunner({
      command: [
        ...scriptCommand(),
        "run",
        ...sources.flatMap((path) => ["--plugins", path]),
        ...(args.withBundled ? ["--with-bundled"] : []),
        ..._runnerFlags(args),
      ],
      socketPath: socket.path,
      watch: sources,
      cwd: context.cwd,
      runtime,
      log: (line) => console.log(line),
      onReplaced: () => context.client.closeIdle(),
    });
    await runner.start();
    cleanups.push(() => runner.stop());
    return `child process on ${runtime.name}, unix:${socket.path}, restarted when ` +
      `${args.plugins.join(", ") || "a plugin"} changes`;
  }
  const found = await discoverPlugins(args.plugins, {
    withBundled: args.withBundled,
    cwd: context.cwd,
  });
  const registry = new PluginRegistry(found.map((source) => source.plugin));
  const server = new RunnerServer({
    runtime,
    registry,
    socketPath: socket.path,
    confTtlMs: parseConfTtlMs(undefined),
    callTimeoutMs: args.callTimeoutMs,
    skipInvalidConf: args.skipInvalidConf,
  });
  await server.start();
  cleanups.push(() => server.shutdown(args.shutdownTimeoutMs));
  return `in-process on ${runtime.name}, unix:${socket.path}, plugins: ${
    registry.names().join(", ")
  }`;
}

/** The runner flags of `args`, for a runner child process. */
function _runnerFlags(args: RunnerSettings): string[] {
  return [
    "--log-level",
    args.logLevel,
    "--log-format",
    args.logFormat,
    ...(args.logFile === undefined ? [] : ["--log-file", args.logFile]),
    ...(args.runtime === undefined ? [] : ["--runtime", args.runtime]),
    "--shutdown-timeout",
    String(args.shutdownTimeoutMs),
    "--call-timeout",
    String(args.callTimeoutMs),
    ...(args.skipInvalidConf ? ["--skip-invalid-conf"] : []),
  ];
}

async function _loadRoutes(args: DevArgs, options: DevCommandOptions): Promise<Route[]> {
  let file = args.routesFile;
  if (file === undefined) {
    if (args.demo) return parseRoutes(demoRoutes, "the demo routes");
    if (!existsSync(resolve(options.cwd, "routes.json"))) {
      throw new Error(
        `"${options.program} dev" needs a routes file: pass --routes <file> or put a ` +
          `routes.json here (see the dev gateway section of the README)`,
      );
    }
    file = "routes.json";
  }
  let text: string;
  try {
    text = await readFile(resolve(options.cwd, file), "utf8");
  } catch (error) {
    throw new Error(`Cannot read routes file ${file}: ${(error as Error).message}`);
  }
  return parseRoutesJson(text, file);
}

function _port(flag: string, value: string): number {
  const port = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(port) || port > 65535) {
    throw new ConfigError(`${flag} must be a port number from 0 to 65535, got "${value}"`);
  }
  return port;
}

/** A fresh private directory for the runner socket, short enough for `sun_path`. */
function _makeTempDir(): Promise<string> {
  let base = processEnv("TMPDIR") ?? "/tmp";
  // A long TMPDIR (macOS) would leave no room for the socket name (sun_path is 104 bytes).
  if (base.length > 60) base = "/tmp";
  return mkdtemp(join(base, "apisix-dev-"));
}
