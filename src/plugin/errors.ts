// Error classes of the plugin layer: conf preparation, filter failures, questions after a call.

/**
 * A plugin's `parseConf` threw: the conf text of that plugin is invalid.
 *
 * @example
 * ```ts
 * import { PluginConfError } from "./errors.ts";
 * const error = new PluginConfError("say", "body must be a string");
 * error.message; // 'Cannot parse conf of plugin "say": body must be a string'
 * ```
 */
export class PluginConfError extends Error {
  /** Name of the plugin whose conf failed to parse. */
  readonly pluginName: string;

  /** Builds the error from the plugin name and the parser's message. */
  constructor(pluginName: string, detail: string, options?: ErrorOptions) {
    super(`Cannot parse conf of plugin "${pluginName}": ${detail}`, options);
    this.name = "PluginConfError";
    this.pluginName = pluginName;
  }
}

/**
 * A conf names a plugin that is not in the registry.
 *
 * @example
 * ```ts
 * import { UnknownPluginError } from "./errors.ts";
 * new UnknownPluginError("sya").message; // 'Unknown plugin "sya"'
 * ```
 */
export class UnknownPluginError extends Error {
  /** The unknown name, as it appeared in the conf. */
  readonly pluginName: string;

  /** Builds the error from the unknown plugin name. */
  constructor(pluginName: string) {
    super(`Unknown plugin "${pluginName}"`);
    this.name = "UnknownPluginError";
    this.pluginName = pluginName;
  }
}

/**
 * Two plugins given to a registry share a name.
 *
 * @example
 * ```ts
 * import { DuplicatePluginError } from "./errors.ts";
 * new DuplicatePluginError("say").message; // 'Duplicate plugin name "say"'
 * ```
 */
export class DuplicatePluginError extends Error {
  /** The name used twice. */
  readonly pluginName: string;

  /** Builds the error from the duplicated name. */
  constructor(pluginName: string) {
    super(`Duplicate plugin name "${pluginName}"`);
    this.name = "DuplicatePluginError";
    this.pluginName = pluginName;
  }
}

/**
 * A filter threw, rejected, or returned something that is neither `undefined`
 * nor a stop response. `cause` holds what was thrown.
 *
 * @example
 * ```ts
 * import { PluginFilterError } from "./errors.ts";
 * const error = new PluginFilterError("say", { requestId: 7, cause: new Error("boom") });
 * error.message; // 'Plugin "say" failed: boom'
 * ```
 */
export class PluginFilterError extends Error {
  /** Name of the plugin whose filter failed. */
  readonly pluginName: string;
  /** Id of the call (HttpReqCall/HttpRespCall `id`). */
  readonly requestId: number;

  /** Builds the error; the message is taken from `cause` unless `detail` is given. */
  constructor(
    pluginName: string,
    options: { requestId: number; cause: unknown; detail?: string },
  ) {
    const detail = options.detail ?? _describe(options.cause);
    super(`Plugin "${pluginName}" failed: ${detail}`, { cause: options.cause });
    this.name = "PluginFilterError";
    this.pluginName = pluginName;
    this.requestId = options.requestId;
  }
}

/**
 * The call's `AbortSignal` fired (deadline or disconnect) while a filter was
 * pending. `reason` is the signal's abort reason, which says which one.
 *
 * @example
 * ```ts
 * import { PluginTimeoutError } from "./errors.ts";
 * const error = new PluginTimeoutError("slow", { requestId: 1, reason: "deadline" });
 * error.message; // 'Plugin "slow" did not finish: aborted (deadline)'
 * ```
 */
export class PluginTimeoutError extends Error {
  /** Name of the plugin whose filter was pending. */
  readonly pluginName: string;
  /** Id of the call. */
  readonly requestId: number;
  /** The abort reason of the call's signal. */
  readonly reason: unknown;

  /** Builds the error from the pending plugin and the signal's reason. */
  constructor(pluginName: string, options: { requestId: number; reason: unknown }) {
    super(`Plugin "${pluginName}" did not finish: aborted (${_describe(options.reason)})`, {
      cause: options.reason,
    });
    this.name = "PluginTimeoutError";
    this.pluginName = pluginName;
    this.requestId = options.requestId;
    this.reason = options.reason;
  }
}

/** A question asked after its call ended: nothing is written. */
export class CallEndedError extends Error {
  /** Creates the error; `what` names the question. */
  constructor(what: string) {
    super(`Cannot ask ${what}: the call has ended`);
    this.name = "CallEndedError";
  }
}

function _describe(value: unknown): string {
  if (value instanceof Error) return value.message || value.name;
  if (typeof value === "string") return value;
  try {
    return String(value);
  } catch {
    return "unprintable value";
  }
}

/** A plugin's `setup()` threw: the runner does not start. */
export class PluginSetupError extends Error {
  /** Name of the plugin whose setup failed. */
  readonly pluginName: string;
  /** Builds the error from the plugin's name and what its setup threw. */
  constructor(pluginName: string, cause: unknown) {
    super(
      `Plugin "${pluginName}" setup failed: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      {
        cause,
      },
    );
    this.name = "PluginSetupError";
    this.pluginName = pluginName;
  }
}
