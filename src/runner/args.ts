// The runner's command line (run, doctor, version, help), parsed with `parseArgs` from `node:util`.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { RUNTIME_NAMES, type RuntimeName } from "../runtime/detect.ts";
import { type MetricsAddress, parseMetricsAddress } from "../ops/metrics_address.ts";
import { ConfigError } from "./errors.ts";

/** Log levels accepted by `--log-level`. */
export const LOG_LEVELS = ["trace", "debug", "info", "warning", "error", "fatal"] as const;
/** A value of `--log-level`. */
export type LogLevelName = typeof LOG_LEVELS[number];
/** Commands of the runner executable. */
export const RUNNER_COMMANDS = ["run", "doctor", "version", "help"] as const;
/** A command of the runner executable. */
export type RunnerCommand = typeof RUNNER_COMMANDS[number];

/** How the runner serves: logging, runtime, deadlines, conf policy. */
export interface RunnerSettings {
  logLevel: LogLevelName;
  logFormat: "text" | "json";
  logFile: string | undefined;
  runtime: RuntimeName | undefined;
  shutdownTimeoutMs: number;
  callTimeoutMs: number;
  skipInvalidConf: boolean;
  /** `--metrics-listen`: where to serve `GET /metrics`; off when `undefined`. */
  metricsListen: MetricsAddress | undefined;
  /** `--otel`: trace plugin filters (also on through the `OTEL_*` variables). */
  otel: boolean;
}

/** The parsed command line of the runner executable. */
export interface RunnerArgs extends RunnerSettings {
  command: RunnerCommand;
  /** `doctor`: the socket path to check instead of `APISIX_LISTEN_ADDRESS`. */
  socket: string | undefined;
}

/** The `parseArgs` options of {@linkcode RunnerSettings}, shared with the CLI's `dev` command. */
export const RUNNER_OPTIONS = {
  "log-level": { type: "string", default: "info" },
  "log-format": { type: "string", default: "text" },
  "log-file": { type: "string" },
  "runtime": { type: "string" },
  "shutdown-timeout": { type: "string", default: "800" },
  "call-timeout": { type: "string", default: "55000" },
  "skip-invalid-conf": { type: "boolean", default: false },
  "metrics-listen": { type: "string" },
  "otel": { type: "boolean", default: false },
} as const satisfies ParseArgsConfig["options"];

/** Help lines of {@linkcode RUNNER_OPTIONS}, shared with the CLI's help. */
export const RUNNER_OPTIONS_HELP =
  `  --log-level <level>        trace, debug, info, warning, error or fatal (default: info)
  --log-format <format>      text or json (default: text)
  --log-file <path>          Append log lines to this file instead of stdout
                             (APISIX copies the runner's stdout into its error log)
  --runtime <name>           deno, bun or node (default: the one running this program)
  --shutdown-timeout <ms>    Time in-flight calls get to finish on SIGTERM (default: 800)
  --call-timeout <ms>        Deadline of one call's plugin chain (default: 55000)
  --skip-invalid-conf        Skip unknown plugins and invalid confs with a warning instead of
                             failing PrepareConf with BAD_REQUEST (the Go runner's behaviour)
  --metrics-listen <h:p>     Serve Prometheus metrics on http://<h:p>/metrics (e.g. 127.0.0.1:9091)
  --otel                     Trace each plugin filter of a call carrying traceparent, over OTLP/HTTP
                             to OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318)`;

/** The environment lines of the help texts. */
export const ENVIRONMENT_HELP = `Environment (set by APISIX):
  APISIX_LISTEN_ADDRESS      unix:<socket path> to listen on (required for run)
  APISIX_CONF_EXPIRE_TIME    APISIX's conf token lifetime in seconds (default 3600);
                             the runner keeps confs 1.2 times as long
  OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_TRACES_EXPORTER,
  OTEL_SERVICE_NAME, OTEL_SDK_DISABLED
                             Tracing, as the OpenTelemetry SDKs read them (list them in APISIX's
                             nginx_config.envs to pass them on)`;

/** Help text of the runner executable; `program` is how it was started. */
export function runnerHelpText(program: string): string {
  return `Apache APISIX plugin runner for TypeScript plugins.

Usage: ${program} [command] [options]

Commands:
  run        Serve APISIX on the socket named by APISIX_LISTEN_ADDRESS (default command)
  doctor     Check this deployment (socket path, permissions, APISIX variables) and print the
             ext-plugin config for APISIX's config.yaml; exit 1 with one line per problem
  version    Print the version, the runtime and the compiled-in plugins
  help       Print this help

Options:
${RUNNER_OPTIONS_HELP}
  --socket <path>            doctor: check this socket path instead of APISIX_LISTEN_ADDRESS
  -h, --help                 Print this help

${ENVIRONMENT_HELP}
`;
}

/** Parses the runner executable's `argv` (without the program name); throws ConfigError. */
export function parseRunnerArgs(argv: readonly string[]): RunnerArgs {
  const { values, positionals } = parseStrict(argv, {
    ...RUNNER_OPTIONS,
    "socket": { type: "string" },
    "help": { type: "boolean", short: "h", default: false },
  });
  if (positionals.length > 1) {
    throw new ConfigError(`Expected at most one command, got ${JSON.stringify(positionals)}`);
  }
  const command = values.help === true
    ? "help"
    : oneOf("command", positionals[0] ?? "run", RUNNER_COMMANDS);
  return {
    command,
    ...runnerSettings(values),
    socket: values.socket as string | undefined,
  };
}

/** Validates the {@linkcode RUNNER_OPTIONS} of a `parseArgs` result; throws ConfigError. */
export function runnerSettings(values: Record<string, unknown>): RunnerSettings {
  return {
    logLevel: oneOf("--log-level", String(values["log-level"]), LOG_LEVELS),
    logFormat: oneOf("--log-format", String(values["log-format"]), ["text", "json"] as const),
    logFile: values["log-file"] as string | undefined,
    runtime: values.runtime === undefined
      ? undefined
      : oneOf("--runtime", String(values.runtime), RUNTIME_NAMES),
    shutdownTimeoutMs: _milliseconds("--shutdown-timeout", String(values["shutdown-timeout"])),
    callTimeoutMs: _milliseconds("--call-timeout", String(values["call-timeout"])),
    skipInvalidConf: values["skip-invalid-conf"] === true,
    metricsListen: values["metrics-listen"] === undefined
      ? undefined
      : _metricsAddress(String(values["metrics-listen"])),
    otel: values.otel === true,
  };
}

function _metricsAddress(value: string): MetricsAddress {
  try {
    return parseMetricsAddress(value);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/** `parseArgs` in strict mode with positionals; its errors become ConfigError. */
export function parseStrict(
  argv: readonly string[],
  options: NonNullable<ParseArgsConfig["options"]>,
): { values: Record<string, unknown>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options,
    });
    return { values: values as Record<string, unknown>, positionals };
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/** `value` when it is one of `allowed`; else ConfigError naming `what` and the choices. */
export function oneOf<T extends string>(what: string, value: string, allowed: readonly T[]): T {
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
