// The runner executable's composition root: command line and env in, a serving runner out, until a signal.
import { getLogger } from "@logtape/logtape";
import { DISPOSE_BUDGET_MS, PluginRegistry } from "../plugin/registry.ts";
import type { AnyPlugin } from "../plugin/types.ts";
import {
  detectRuntimeName,
  executablePath,
  exitProcess,
  loadRuntime,
  processArgs,
} from "../runtime/detect.ts";
import type { SocketRuntime } from "../runtime/types.ts";
import { RunnerServer } from "../server/server.ts";
import { parseRunnerArgs, type RunnerArgs, runnerHelpText } from "./args.ts";
import { runDoctor } from "./doctor.ts";
import {
  CONF_EXPIRE_TIME_VAR,
  LISTEN_ADDRESS_VAR,
  parseConfTtlMs,
  parseListenAddress,
} from "./env.ts";
import { installLastResortHandlers } from "./last_resort.ts";
import { setupLogging, shutdownLogging } from "./logging.ts";
import { type Operations, startOperations } from "./operations.ts";
import { servePlugins } from "./serving.ts";
import { versionLine } from "./version_line.ts";

const logger = getLogger(["apisix-runner", "runner"]);

/**
 * Exit code when the runner cannot start as configured: a bad command line or
 * environment, a socket path it cannot listen on, a log file it cannot open.
 */
export const EXIT_USAGE = 2;
/** Exit code when a plugin's `setup()` threw. */
export const EXIT_SETUP_FAILED = 1;

/** Options of {@linkcode runRunner}. */
export interface RunRunnerOptions {
  /** The plugins the runner serves; route confs name them. */
  plugins: readonly AnyPlugin[];
  /** Command line without the program name; defaults to the process's own arguments. */
  args?: readonly string[];
  /** How the program is called in the help text; defaults to `apisix-ts-runner`. */
  programName?: string;
  /**
   * How APISIX starts this runner, for the `config.yaml` snippet `doctor` prints:
   * defaults to `[<this executable>, "run"]`.
   */
  command?: readonly string[];
}

/**
 * Runs the plugin runner executable: `run` (the default, what APISIX's
 * `ext-plugin.cmd` starts), `doctor`, `version` or `help`. Never returns: the
 * process exits 0 after a graceful shutdown on SIGTERM or SIGINT, and 2 with
 * one line on stderr when it cannot start: a bad command line or environment,
 * a socket path it cannot listen on, a log file it cannot open; 1 when a
 * plugin's `setup()` threw (`doctor` exits 1 when it found a problem).
 *
 * @example Your own runner executable with your plugins compiled in
 * ```ts
 * // main.ts — compile with `deno compile -A main.ts` or `bun build --compile main.ts`
 * import { runRunner } from "apisix-ts-plugin-runner/runner";
 * import { myAuth } from "./my_auth.ts";
 *
 * await runRunner({ plugins: [myAuth] });
 * ```
 */
export async function runRunner(options: RunRunnerOptions): Promise<never> {
  const program = options.programName ?? "apisix-ts-runner";
  let args: RunnerArgs;
  let registry: PluginRegistry;
  try {
    args = parseRunnerArgs(options.args ?? processArgs());
    registry = new PluginRegistry(options.plugins);
  } catch (error) {
    return _fail(`${(error as Error).message}\nRun "${program} --help" for usage.`, EXIT_USAGE);
  }
  if (args.command === "help") {
    console.log(runnerHelpText(program));
    return exitProcess(0);
  }
  const runtimeName = args.runtime ?? detectRuntimeName();
  if (args.command === "version") {
    console.log(
      `${versionLine(runtimeName)}\nplugins: ${registry.names().join(", ")}`,
    );
    return exitProcess(0);
  }
  const runtime = await loadRuntime(runtimeName);
  if (args.command === "doctor") {
    const report = await runDoctor({
      runtime,
      pluginNames: registry.names(),
      socket: args.socket,
      command: options.command ?? [executablePath(), "run"],
    });
    console.log(versionLine(runtimeName, "doctor"));
    for (const line of report.lines) console.log(line);
    console.log(`\nAPISIX's conf/config.yaml for this runner:\n\n${report.configSnippet}`);
    console.log(
      report.problems.length === 0
        ? "All is well."
        : `${report.problems.length} problem(s) to fix.`,
    );
    return runtime.exit(report.problems.length === 0 ? 0 : 1);
  }
  return await serve(runtime, registry, args);
}

/** `run`: listens on APISIX's socket and serves until SIGTERM or SIGINT. */
async function serve(
  runtime: SocketRuntime,
  registry: PluginRegistry,
  args: RunnerArgs,
): Promise<never> {
  let socketPath: string;
  let confTtlMs: number;
  try {
    socketPath = parseListenAddress(runtime.env(LISTEN_ADDRESS_VAR));
    confTtlMs = parseConfTtlMs(runtime.env(CONF_EXPIRE_TIME_VAR));
  } catch (error) {
    return _fail((error as Error).message, EXIT_USAGE, runtime);
  }
  try {
    await setupLogging({ level: args.logLevel, format: args.logFormat, file: args.logFile });
  } catch (error) {
    return _fail((error as Error).message, EXIT_USAGE, runtime);
  }
  installLastResortHandlers();
  let ops: Operations;
  try {
    ops = await startOperations(args, runtime);
  } catch (error) {
    await shutdownLogging();
    return _fail((error as Error).message, EXIT_USAGE, runtime);
  }
  const server = new RunnerServer({
    runtime,
    registry,
    socketPath,
    confTtlMs,
    callTimeoutMs: args.callTimeoutMs,
    skipInvalidConf: args.skipInvalidConf,
    metrics: ops.metrics,
    filters: ops.tracing,
  });
  // The plugins' setup, then listening; a signal during either stops what began.
  const serving = servePlugins(registry, server, ops);
  // Signal handlers go in before listening: APISIX may send SIGTERM as soon as the socket exists.
  _stopOnSignal(runtime, () => serving.stop(args.shutdownTimeoutMs));
  // One line, no stack (it names the user's path or plugin); the stack is for debugging the runner.
  const cannotStart = async (error: unknown, code: number, release: () => Promise<unknown>) => {
    const message = error instanceof Error ? error.message : String(error);
    if (args.logFile !== undefined) logger.fatal("Cannot start: {message}", { message });
    logger.debug("Start failure: {error}", { error });
    await release();
    await shutdownLogging();
    return _fail(`Cannot start: ${message}`, code, runtime);
  };
  try {
    await serving.setUp;
  } catch (error) {
    return await cannotStart(error, EXIT_SETUP_FAILED, ops.stop);
  }
  try {
    await serving.started;
  } catch (error) {
    return await cannotStart(error, EXIT_USAGE, () => registry.dispose(DISPOSE_BUDGET_MS));
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

function _fail(message: string, code: number, runtime?: SocketRuntime): never {
  console.error(message);
  return runtime === undefined ? exitProcess(code) : runtime.exit(code);
}
