// The composition root: parses the command line and env, builds a runner and serves until a signal.
import { getLogger } from "@logtape/logtape";
import type { AnyPlugin } from "../plugin/types.ts";
import { PluginRegistry } from "../plugin/registry.ts";
import { detectRuntimeName, loadRuntime } from "../runtime/detect.ts";
import type { SocketRuntime } from "../runtime/types.ts";
import { RunnerServer } from "../server/server.ts";
import { VERSION } from "../version.ts";
import { type CliArgs, helpText, parseCliArgs } from "./args.ts";
import { runDev } from "./dev.ts";
import {
  CONF_EXPIRE_TIME_VAR,
  LISTEN_ADDRESS_VAR,
  parseConfTtlMs,
  parseListenAddress,
} from "./env.ts";
import { installLastResortHandlers } from "./last_resort.ts";
import { setupLogging, shutdownLogging } from "./logging.ts";

const logger = getLogger(["apisix-runner", "cli"]);

/** Exit code for a bad command line or environment. */
export const EXIT_USAGE = 2;
/** Exit code when the runner cannot start (socket path taken, listen failed). */
export const EXIT_START_FAILED = 1;

/** Options of {@linkcode runRunner}. */
export interface RunRunnerOptions {
  /** The plugins the runner serves; route confs name them. */
  plugins: readonly AnyPlugin[];
  /** Command line without the program name; defaults to the process's own arguments. */
  args?: readonly string[];
  /** How the program is called in the help text; defaults to `apisix-ts-runner`. */
  programName?: string;
  /** Routes document the `dev` command serves without `--routes` (see `parseRoutes`). */
  devRoutes?: unknown;
}

/**
 * Runs the plugin runner executable: `run` (the default, what APISIX's
 * `ext-plugin.cmd` starts), `version` or `help`. Never returns: the process
 * exits 0 after a graceful shutdown on SIGTERM or SIGINT, 2 on a bad command
 * line or environment, 1 when it cannot listen.
 *
 * @example Your own runner executable with your plugins compiled in
 * ```ts
 * // main.ts — compile with `deno compile -A main.ts` or `bun build --compile main.ts`
 * import { runRunner } from "apisix-ts-plugin-runner";
 * import { myAuth } from "./my_auth.ts";
 *
 * await runRunner({ plugins: [myAuth] });
 * ```
 */
export async function runRunner(options: RunRunnerOptions): Promise<never> {
  const program = options.programName ?? "apisix-ts-runner";
  let args: CliArgs;
  try {
    args = parseCliArgs(options.args ?? _processArgs());
  } catch (error) {
    return _fail(`${(error as Error).message}\nRun "${program} --help" for usage.`, EXIT_USAGE);
  }
  if (args.command === "help") {
    console.log(helpText(program));
    return _exit(0);
  }
  let registry: PluginRegistry;
  try {
    registry = new PluginRegistry(options.plugins);
  } catch (error) {
    return _fail((error as Error).message, EXIT_USAGE);
  }
  const runtimeName = args.runtime ?? detectRuntimeName();
  if (args.command === "version") {
    console.log(
      `apisix-ts-plugin-runner ${VERSION} (${runtimeName} ${_runtimeVersion(runtimeName)})\n` +
        `plugins: ${registry.names().join(", ")}`,
    );
    return _exit(0);
  }
  const runtime = await loadRuntime(runtimeName);
  if (args.command === "dev") {
    const code = await runDev({
      args,
      registry,
      runtime,
      defaultRoutes: options.devRoutes,
      program,
    });
    return _exit(code, runtime);
  }
  let socketPath: string;
  let confTtlMs: number;
  try {
    socketPath = parseListenAddress(runtime.env(LISTEN_ADDRESS_VAR));
    confTtlMs = parseConfTtlMs(runtime.env(CONF_EXPIRE_TIME_VAR));
  } catch (error) {
    return _fail((error as Error).message, EXIT_USAGE);
  }
  await setupLogging({ level: args.logLevel, format: args.logFormat, file: args.logFile });
  installLastResortHandlers();
  const server = new RunnerServer({
    runtime,
    registry,
    socketPath,
    confTtlMs,
    callTimeoutMs: args.callTimeoutMs,
    skipInvalidConf: args.skipInvalidConf,
  });
  // Signal handlers go in before listening: APISIX may send SIGTERM as soon as the socket exists.
  const started = server.start();
  _stopOnSignal(runtime, () => started.then(() => server.shutdown(args.shutdownTimeoutMs)));
  try {
    await started;
  } catch (error) {
    logger.fatal("Cannot start: {error}", { error });
    await shutdownLogging();
    return _fail(`Cannot start: ${(error as Error).message}`, EXIT_START_FAILED, runtime);
  }
  logger.info("Serving plugins {plugins} on {runtime}", {
    plugins: registry.names().join(", "),
    runtime: runtime.name,
  });
  return await new Promise<never>(() => {});
}

// On the first SIGTERM or SIGINT: shut down, flush the logs, exit 0. Later signals are ignored.
function _stopOnSignal(runtime: SocketRuntime, shutdown: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info("Received {signal}, shutting down", { signal });
    shutdown()
      .catch((error) => logger.error("Shutdown failed: {error}", { error }))
      .then(shutdownLogging)
      .finally(() => runtime.exit(0));
  };
  runtime.onSignal("SIGTERM", () => stop("SIGTERM"));
  runtime.onSignal("SIGINT", () => stop("SIGINT"));
}

interface _Globals {
  Deno?: { args: string[]; version: { deno: string }; exit(code: number): never };
  Bun?: { version: string };
  process?: { argv: string[]; version: string; exit(code: number): never };
}

const _globals = globalThis as unknown as _Globals;

function _processArgs(): string[] {
  return _globals.Deno?.args ?? _globals.process?.argv.slice(2) ?? [];
}

function _runtimeVersion(name: string): string {
  if (name === "deno") return _globals.Deno?.version.deno ?? "?";
  if (name === "bun") return _globals.Bun?.version ?? "?";
  return _globals.process?.version ?? "?";
}

function _fail(message: string, code: number, runtime?: SocketRuntime): never {
  console.error(message);
  return _exit(code, runtime);
}

function _exit(code: number, runtime?: SocketRuntime): never {
  if (runtime !== undefined) runtime.exit(code);
  if (_globals.Deno !== undefined) _globals.Deno.exit(code);
  if (_globals.process !== undefined) _globals.process.exit(code);
  throw new Error(`exit ${code}`);
}
