// The `dev` command: the runner plus an APISIX-playing HTTP gateway, for trying plugins with curl.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { relative, resolve } from "node:path";
import { getLogger } from "@logtape/logtape";
import demoRoutes from "../../plugins/demo_routes.json" with { type: "json" };
import { PluginRegistry } from "../plugin/registry.ts";
import type { AnyPlugin } from "../plugin/types.ts";
import type { RunnerSettings } from "../runner/args.ts";
import { parseConfTtlMs } from "../runner/env.ts";
import { ConfigError } from "../runner/errors.ts";
import { installLastResortHandlers } from "../runner/last_resort.ts";
import { setupLogging, shutdownLogging } from "../runner/logging.ts";
import { startOperations } from "../runner/operations.ts";
import { servePlugins } from "../runner/serving.ts";
import { detectRuntimeName, loadRuntime } from "../runtime/detect.ts";
import { tempSocketPath } from "../runtime/temp_socket.ts";
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

/** What `dev` runs: the runner's settings, the gateway's, and where the plugins come from. */
export interface DevOptions extends RunnerSettings {
  /** The routes file; `undefined`: `./routes.json`, or the demo routes with `demo`. */
  readonly routesFile: string | undefined;
  /** No plugin source was given: the bundled plugins with their demo routes. */
  readonly demo: boolean;
  /** Port of the gateway on 127.0.0.1 (0: any free one). */
  readonly port: number;
  /** Port of the built-in echo upstream. */
  readonly upstreamPort: number;
  /** The runner serves these plugins in process. */
  readonly plugins?: readonly AnyPlugin[] | undefined;
  /** The runner is a child process started with `command`, replaced when `paths` change. */
  readonly watch?:
    | { readonly command: readonly string[]; readonly paths: readonly string[] }
    | undefined;
  /** Talk to the runner listening on this socket instead. */
  readonly runnerSocket?: string | undefined;
  /** How the program is called, for messages. */
  readonly program: string;
  /** Base of relative paths. */
  readonly cwd: string;
}

/**
 * Runs `dev`: the runner (in process; a child process replaced on every plugin
 * change with `watch`; or the one at `runnerSocket`), the built-in echo
 * upstream and the gateway, both on 127.0.0.1; prints a banner with curl lines,
 * then serves until SIGINT/SIGTERM and stops everything. Resolves with the
 * exit code: 0 after a signal, 2 for bad routes, 1 when something cannot start.
 *
 * @example
 * ```ts
 * const code = await runDev({ ...settings, plugins, routesFile: "routes.json", port: 9080, upstreamPort: 9081, demo: false, program, cwd });
 * ```
 */
export async function runDev(options: DevOptions): Promise<number> {
  let routes: Route[];
  try {
    routes = await _loadRoutes(options);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const runtime = await loadRuntime(options.runtime ?? detectRuntimeName());
  await setupLogging({ level: options.logLevel, format: options.logFormat, file: options.logFile });
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
    const socket = await _socketPath(options, cleanups);
    const client = new ApisixClient({ runtime, socketPath: socket.path });
    cleanups.push(() => client.close());
    const runnerLine = await _startRunner(options, { socket, runtime, client }, cleanups);
    const http = createNodeHttpRuntime();
    cleanups.push(() => http.close());
    const echo = await serveEcho(http, { hostname: DEV_HOSTNAME, port: options.upstreamPort });
    cleanups.push(() => echo.close());
    const gateway = new DevGateway({
      client,
      http,
      routes,
      echo: { hostname: DEV_HOSTNAME, port: echo.port },
    });
    const server: HttpServer = await http.serve(
      { hostname: DEV_HOSTNAME, port: options.port },
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

/** The runner's socket: `runnerSocket`, or a fresh one in a private temp directory. */
async function _socketPath(
  options: DevOptions,
  cleanups: (() => Promise<void> | void)[],
): Promise<{ path: string; external: boolean }> {
  if (options.runnerSocket !== undefined) return { path: options.runnerSocket, external: true };
  const socket = await tempSocketPath("apisix-dev-");
  cleanups.push(socket.remove);
  return { path: socket.path, external: false };
}

/** Starts the runner side on `socket`; returns the banner's line about it. */
async function _startRunner(
  options: DevOptions,
  context: {
    socket: { path: string; external: boolean };
    runtime: SocketRuntime;
    client: ApisixClient;
  },
  cleanups: (() => Promise<void> | void)[],
): Promise<string> {
  const { socket, runtime } = context;
  if (socket.external) return `external runner at unix:${socket.path}`;
  if (options.watch !== undefined) {
    const runner = new WatchedRunner({
      command: options.watch.command,
      socketPath: socket.path,
      watch: options.watch.paths,
      cwd: options.cwd,
      runtime,
      log: (line) => console.log(line),
      onReplaced: () => context.client.closeIdle(),
    });
    await runner.start();
    cleanups.push(() => runner.stop());
    return `child process on ${runtime.name}, unix:${socket.path}, restarted when ` +
      `${options.watch.paths.map((p) => relative(options.cwd, p) || ".").join(", ")} changes`;
  }
  const registry = new PluginRegistry(options.plugins ?? []);
  const operations = await startOperations(options, runtime);
  const server = new RunnerServer({
    runtime,
    registry,
    socketPath: socket.path,
    confTtlMs: parseConfTtlMs(undefined),
    callTimeoutMs: options.callTimeoutMs,
    skipInvalidConf: options.skipInvalidConf,
    metrics: operations.metrics,
    filters: operations.tracing,
  });
  // As `run` does: the plugins' setup() first, their dispose() after the drain.
  const serving = servePlugins(registry, server, operations);
  cleanups.push(() => serving.stop(options.shutdownTimeoutMs));
  await serving.started;
  return `in-process on ${runtime.name}, unix:${socket.path}, plugins: ${
    registry.names().join(", ")
  }`;
}

async function _loadRoutes(options: DevOptions): Promise<Route[]> {
  let file = options.routesFile;
  if (file === undefined) {
    if (options.demo) return parseRoutes(demoRoutes, "the demo routes");
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
