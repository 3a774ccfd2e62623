// The `dev` command: the runner plus an APISIX-playing HTTP gateway in one process, for trying plugins.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getLogger } from "@logtape/logtape";
import { ApisixClient } from "../apisix/client.ts";
import { DevGateway, serveEcho } from "../gateway/gateway.ts";
import { renderBanner } from "../gateway/banner.ts";
import { parseRoutes, parseRoutesJson, type Route } from "../gateway/routes.ts";
import type { PluginRegistry } from "../plugin/registry.ts";
import { createNodeHttpRuntime } from "../runtime/http_node.ts";
import { HttpListenError, type HttpServer } from "../runtime/http_types.ts";
import type { SocketRuntime } from "../runtime/types.ts";
import { RunnerServer } from "../server/server.ts";
import type { CliArgs } from "./args.ts";
import { parseConfTtlMs } from "./env.ts";
import { installLastResortHandlers } from "./last_resort.ts";
import { setupLogging, shutdownLogging } from "./logging.ts";

const logger = getLogger(["apisix-runner", "cli"]);

/** The address the dev gateway and the echo upstream listen on: loopback only. */
export const DEV_HOSTNAME = "127.0.0.1";

/** Options of {@linkcode runDev}. */
export interface RunDevOptions {
  /** The parsed command line (`--port`, `--upstream-port`, `--routes`, `--runner-socket`, logging). */
  args: CliArgs;
  /** The plugins of the in-process runner. */
  registry: PluginRegistry;
  /** Sockets and signals of the runtime. */
  runtime: SocketRuntime;
  /** Routes document used without `--routes`; without both, `dev` refuses to start. */
  defaultRoutes: unknown;
  /** How the program is called, for messages. */
  program: string;
}

/**
 * Runs `dev`: an in-process runner on a fresh temp socket (or the runner at
 * `--runner-socket`), the built-in echo upstream on `--upstream-port` and
 * the gateway on `--port`, both on 127.0.0.1; prints a banner with curl lines,
 * then serves until SIGINT/SIGTERM and stops everything (the runner removes
 * its socket). Resolves with the exit code: 0 after a signal, 2 for bad
 * routes, 1 when something cannot listen.
 *
 * @example
 * ```ts
 * const code = await runDev({ args, registry, runtime, defaultRoutes: demoRoutes, program: "runner" });
 * ```
 */
export async function runDev(options: RunDevOptions): Promise<number> {
  const { args, registry, runtime } = options;
  let routes: Route[];
  try {
    routes = await _loadRoutes(args.routesFile, options.defaultRoutes, options.program);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
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

  let socketPath: string;
  let runnerLine: string;
  try {
    if (args.runnerSocket !== undefined) {
      socketPath = args.runnerSocket;
      runnerLine = `external runner at unix:${socketPath}`;
    } else {
      const dir = await _makeTempDir();
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      socketPath = join(dir, "runner.sock");
      const server = new RunnerServer({
        runtime,
        registry,
        socketPath,
        confTtlMs: parseConfTtlMs(undefined),
        callTimeoutMs: args.callTimeoutMs,
        skipInvalidConf: args.skipInvalidConf,
      });
      await server.start();
      cleanups.push(() => server.shutdown(args.shutdownTimeoutMs));
      runnerLine = `in-process on ${runtime.name}, unix:${socketPath}, plugins: ${
        registry.names().join(", ")
      }`;
    }
    const http = createNodeHttpRuntime();
    cleanups.push(() => http.close());
    const client = new ApisixClient({ runtime, socketPath });
    cleanups.push(() => client.close());
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
    return 1;
  }

  const signal = await signalled;
  logger.info("Received {signal}, stopping the dev gateway and the runner", { signal });
  await cleanUp();
  console.log("Stopped.");
  return 0;
}

async function _loadRoutes(
  file: string | undefined,
  defaultRoutes: unknown,
  program: string,
): Promise<Route[]> {
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      throw new Error(`Cannot read routes file ${file}: ${(error as Error).message}`);
    }
    return parseRoutesJson(text, file);
  }
  if (defaultRoutes === undefined) {
    throw new Error(
      `"${program} dev" needs a routes file: pass --routes <file> (see the dev gateway section of the README)`,
    );
  }
  return parseRoutes(defaultRoutes, "the default routes");
}

interface _DenoTemp {
  Deno?: { makeTempDir(options: { prefix: string }): Promise<string> };
}

/**
 * A fresh private directory for the runner socket. Deno's own call needs only
 * --allow-write, where node:os `tmpdir()` would also need env access to TMPDIR.
 */
function _makeTempDir(): Promise<string> {
  const deno = (globalThis as _DenoTemp).Deno;
  if (deno !== undefined) return deno.makeTempDir({ prefix: "apisix-dev-" });
  let base = tmpdir();
  // A long TMPDIR (macOS) would leave no room for the socket name (sun_path is 104 bytes).
  if (base.length > 60) base = "/tmp";
  return mkdtemp(join(base, "apisix-dev-"));
}
