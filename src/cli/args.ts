// Parses the command line of the runner executable with `parseArgs` from `node:util`.
import { parseArgs } from "node:util";
import { ConfigError } from "./env.ts";

/** Log levels accepted by `--log-level`. */
export const LOG_LEVELS = ["trace", "debug", "info", "warning", "error", "fatal"] as const;
/** A value of `--log-level`. */
export type LogLevelName = typeof LOG_LEVELS[number];
/** Runtimes accepted by `--runtime`. */
export const RUNTIME_NAMES = ["deno", "bun", "node"] as const;
/** A value of `--runtime`. */
export type RuntimeName = typeof RUNTIME_NAMES[number];
/** Commands of the executable. */
export const COMMANDS = ["run", "dev", "version", "help"] as const;
/** A command. */
export type CommandName = typeof COMMANDS[number];

/** The parsed command line. */
export interface CliArgs {
  command: CommandName;
  logLevel: LogLevelName;
  logFormat: "text" | "json";
  logFile: string | undefined;
  runtime: RuntimeName | undefined;
  shutdownTimeoutMs: number;
  callTimeoutMs: number;
  skipInvalidConf: boolean;
  /** `dev`: port of the gateway (`--port`, default 9080). */
  port: number;
  /** `dev`: port of the built-in echo upstream (`--upstream-port`, default 9081). */
  upstreamPort: number;
  /** `dev`: routes file (`--routes`); `undefined` means the default routes. */
  routesFile: string | undefined;
  /** `dev`: socket of an external runner (`--runner-socket`); `undefined` runs one in-process. */
  runnerSocket: string | undefined;
}

/** Help text of the executable; `program` is how it was started. */
export function helpText(program: string): string {
  return `Apache APISIX plugin runner for TypeScript plugins.

Usage: ${program} [command] [options]

Commands:
  run        Serve APISIX on the socket named by APISIX_LISTEN_ADDRESS (default command)
  version    Print the version, the runtime and the compiled-in plugins
  dev        Start the runner and a local APISIX-playing HTTP gateway on 127.0.0.1 to try
             plugins with curl (no APISIX needed)
  help       Print this help

Options:
  --log-level <level>        trace, debug, info, warning, error or fatal (default: info)
  --log-format <format>      text or json (default: text)
  --log-file <path>          Append log lines to this file instead of stdout
                             (APISIX copies the runner's stdout into its error log)
  --runtime <name>           deno, bun or node (default: the one running this program)
  --shutdown-timeout <ms>    Time in-flight calls get to finish on SIGTERM (default: 800)
  --call-timeout <ms>        Deadline of one call's plugin chain (default: 55000)
  --skip-invalid-conf        Skip unknown plugins and invalid confs with a warning instead of
                             failing PrepareConf with BAD_REQUEST (the Go runner's behaviour)
  -h, --help                 Print this help

Options of dev:
  --port <port>              Port of the gateway (default: 9080; 0 picks a free one)
  --upstream-port <port>     Port of the built-in echo upstream (default: 9081)
  --routes <file>            Routes file, APISIX-shaped JSON (default: the demo routes)
  --runner-socket <path>     Use the runner listening on this unix socket (e.g. a compiled
                             binary started by hand) instead of an in-process one

Environment (set by APISIX):
  APISIX_LISTEN_ADDRESS      unix:<socket path> to listen on (required for run)
  APISIX_CONF_EXPIRE_TIME    APISIX's conf token lifetime in seconds (default 3600);
                             the runner keeps confs 1.2 times as long
`;
}

/** Parses `argv` (without the program name); throws ConfigError on a bad command line. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        "log-level": { type: "string", default: "info" },
        "log-format": { type: "string", default: "text" },
        "log-file": { type: "string" },
        "runtime": { type: "string" },
        "shutdown-timeout": { type: "string", default: "800" },
        "call-timeout": { type: "string", default: "55000" },
        "skip-invalid-conf": { type: "boolean", default: false },
        "port": { type: "string", default: "9080" },
        "upstream-port": { type: "string", default: "9081" },
        "routes": { type: "string" },
        "runner-socket": { type: "string" },
        "help": { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) {
    throw new ConfigError(`Expected at most one command, got ${JSON.stringify(positionals)}`);
  }
  const command = values.help ? "help" : _oneOf("command", positionals[0] ?? "run", COMMANDS);
  return {
    command,
    logLevel: _oneOf("--log-level", values["log-level"], LOG_LEVELS),
    logFormat: _oneOf("--log-format", values["log-format"], ["text", "json"] as const),
    logFile: values["log-file"],
    runtime: values.runtime === undefined
      ? undefined
      : _oneOf("--runtime", values.runtime, RUNTIME_NAMES),
    shutdownTimeoutMs: _milliseconds("--shutdown-timeout", values["shutdown-timeout"]),
    callTimeoutMs: _milliseconds("--call-timeout", values["call-timeout"]),
    skipInvalidConf: values["skip-invalid-conf"],
    port: _port("--port", values.port),
    upstreamPort: _port("--upstream-port", values["upstream-port"]),
    routesFile: values.routes,
    runnerSocket: values["runner-socket"],
  };
}

function _oneOf<T extends string>(what: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(
    `Unknown ${what} ${JSON.stringify(value)}: expected one of ${allowed.join(", ")}`,
  );
}

function _milliseconds(flag: string, value: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new ConfigError(
      `${flag} must be a positive whole number of milliseconds, got "${value}"`,
    );
  }
  return ms;
}

function _port(flag: string, value: string): number {
  const port = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(port) || port > 65535) {
    throw new ConfigError(`${flag} must be a port number from 0 to 65535, got "${value}"`);
  }
  return port;
}
