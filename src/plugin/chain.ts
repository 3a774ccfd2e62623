// The plugin chain: conf preparation (once per PrepareConf) and running filters per call (PROTOCOL.md §6).

import { getLogger } from "@logtape/logtape";
import type {
  Action,
  ExtraInfoRequest,
  HttpReqCallRequest,
  HttpRespCallRequest,
  HttpRespCallResponse,
  StopAction,
  TextEntry,
} from "../protocol/types.ts";
import {
  PluginConfError,
  PluginFilterError,
  PluginTimeoutError,
  UnknownPluginError,
} from "./errors.ts";
import type { PluginRegistry } from "./registry.ts";
import { PluginRequest } from "./request.ts";
import { PluginResponse } from "./response.ts";
import { isStopAction, responseToStop } from "./stop.ts";
import type { FilterResult, Plugin } from "./types.ts";

const logger = getLogger(["apisix-runner", "plugin"]);

/**
 * How a call asks APISIX for extra information: the server sends an ExtraInfo
 * frame and reads the answer on the same connection. The chain never has two
 * questions in flight for one call.
 */
export interface ExtraInfoChannel {
  /** Sends `question` and resolves with `result` (`undefined` when absent). */
  ask(question: ExtraInfoRequest): Promise<Uint8Array | undefined>;
}

/** One entry of a prepared conf: the plugin and its parsed conf, in conf order. */
export interface PreparedPlugin {
  /** The plugin to run. */
  readonly plugin: Plugin<unknown>;
  /** What its `parseConf` returned. */
  readonly conf: unknown;
}

/** Options of {@linkcode prepareConfs}. */
export interface PrepareConfsOptions {
  /** Skip unknown plugins and invalid confs with a warning (the Go runner's behaviour). */
  readonly skipInvalid: boolean;
}

/** Per-call options of {@linkcode runRequestFilters} and {@linkcode runResponseFilters}. */
export interface CallOptions {
  /** Where `var()` / `body()` questions go. */
  readonly extraInfo: ExtraInfoChannel;
  /** Aborts at the call deadline or when APISIX closes the connection (the server owns the timer). */
  readonly signal: AbortSignal;
  /**
   * Same as `signal.aborted`. The chain reads this instead when it is defined,
   * so that a server can create `signal` only when someone uses it: a call
   * whose filters all return synchronously never touches `signal`.
   */
  readonly aborted?: boolean;
  /**
   * Calls `listener` once when the call aborts; returns a function that removes
   * it. Lets the chain race a pending filter against the abort without making
   * the server create `signal` (an AbortController costs ~0.3 µs on Bun, ~3 µs
   * on Node). Without it the chain listens on `signal`.
   */
  readonly onAbort?: (listener: () => void) => () => void;
}

/** Whether the call was aborted, without touching a lazily created signal. */
export function isCallAborted(options: CallOptions): boolean {
  return options.aborted ?? options.signal.aborted;
}

/**
 * Parses the confs of one PrepareConf, in order. Throws
 * {@linkcode UnknownPluginError} or {@linkcode PluginConfError} unless
 * `skipInvalid`, in which case the entry is skipped with a warning.
 *
 * @example
 * ```ts
 * import { PluginRegistry } from "./registry.ts";
 * import { prepareConfs } from "./chain.ts";
 * import { say } from "../../plugins/say.ts";
 * const chain = prepareConfs(new PluginRegistry([say]), [{ name: "say", value: '{"body":"hi"}' }], {
 *   skipInvalid: false,
 * });
 * chain.length; // 1
 * ```
 */
export function prepareConfs(
  registry: PluginRegistry,
  entries: readonly TextEntry[],
  options: PrepareConfsOptions,
): PreparedPlugin[] {
  const prepared: PreparedPlugin[] = [];
  for (const entry of entries) {
    const plugin = registry.get(entry.name);
    if (plugin === undefined) {
      const error = new UnknownPluginError(entry.name);
      if (!options.skipInvalid) throw error;
      logger.warn("Skipping conf entry: {error}", { pluginName: entry.name, error: error.message });
      continue;
    }
    let conf: unknown;
    try {
      conf = plugin.parseConf(entry.value ?? "");
    } catch (cause) {
      const detail = cause instanceof Error ? cause.message : String(cause);
      const error = new PluginConfError(entry.name, detail, { cause });
      if (!options.skipInvalid) throw error;
      logger.warn("Skipping conf entry: {error}", { pluginName: entry.name, error: error.message });
      continue;
    }
    prepared.push({ plugin, conf });
  }
  return prepared;
}

/**
 * Runs the request filters of `chain` in order. The first filter that returns
 * a stop ends the chain and its Stop is the action (earlier edits are
 * dropped); otherwise the accumulated edits give one Rewrite, or `undefined`
 * when nothing really changed. Rejects with {@linkcode PluginFilterError} or,
 * when `options.signal` aborts while a filter is pending,
 * {@linkcode PluginTimeoutError} without waiting for the filter.
 *
 * @example
 * ```ts
 * import { runRequestFilters } from "./chain.ts";
 * const action = await runRequestFilters([], { id: 1, srcIp: undefined, method: 0, path: "/", args: [], headers: [], confToken: 1 }, {
 *   extraInfo: { ask: () => Promise.resolve(undefined) },
 *   signal: new AbortController().signal,
 * });
 * action; // undefined
 * ```
 */
export function runRequestFilters(
  chain: readonly PreparedPlugin[],
  request: HttpReqCallRequest,
  options: CallOptions,
): Promise<Action | undefined> {
  try {
    return Promise.resolve(runRequestChain(chain, request, options));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * {@linkcode runRequestFilters} for the server's fast path: when every filter
 * returns synchronously, the action comes back synchronously (and failures
 * throw), with no promise at all; otherwise a promise of it.
 *
 * @example
 * ```ts
 * import { runRequestChain } from "./chain.ts";
 * const action = runRequestChain([], { id: 1, srcIp: undefined, method: 0, path: "/", args: [], headers: [], confToken: 1 }, {
 *   extraInfo: { ask: () => Promise.resolve(undefined) },
 *   signal: new AbortController().signal,
 * });
 * action; // undefined, synchronously
 * ```
 */
export function runRequestChain(
  chain: readonly PreparedPlugin[],
  request: HttpReqCallRequest,
  options: CallOptions,
): Action | undefined | Promise<Action | undefined> {
  const req = new PluginRequest(request, options);
  for (let i = 0; i < chain.length; i++) {
    const { plugin, conf } = chain[i]!;
    if (plugin.requestFilter === undefined) continue;
    if (isCallAborted(options)) throw _timeout(plugin, request.id, options.signal);
    let result: FilterResult | PromiseLike<FilterResult>;
    try {
      result = plugin.requestFilter(req, conf);
    } catch (cause) {
      throw new PluginFilterError(plugin.name, { requestId: request.id, cause });
    }
    if (result === undefined) continue;
    if (isStopAction(result)) return result;
    return _requestAsync(chain, i, result, req, options);
  }
  return req.toRewrite();
}

/**
 * Runs the response filters of `chain` in order. Changes to status, headers
 * and body accumulate; a filter that returns a stop replaces the response
 * with it and ends the chain. Same failure rules as
 * {@linkcode runRequestFilters}.
 *
 * @example
 * ```ts
 * import { runResponseFilters } from "./chain.ts";
 * const result = await runResponseFilters([], { id: 1, status: 200, headers: [], confToken: 1 }, {
 *   extraInfo: { ask: () => Promise.resolve(undefined) },
 *   signal: new AbortController().signal,
 * });
 * result; // {}
 * ```
 */
export function runResponseFilters(
  chain: readonly PreparedPlugin[],
  request: HttpRespCallRequest,
  options: CallOptions,
): Promise<Omit<HttpRespCallResponse, "id">> {
  try {
    return Promise.resolve(runResponseChain(chain, request, options));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * {@linkcode runResponseFilters} for the server's fast path: synchronous
 * result (or throw) when every filter returned synchronously, else a promise.
 */
export function runResponseChain(
  chain: readonly PreparedPlugin[],
  request: HttpRespCallRequest,
  options: CallOptions,
): Omit<HttpRespCallResponse, "id"> | Promise<Omit<HttpRespCallResponse, "id">> {
  const res = new PluginResponse(request, options);
  for (let i = 0; i < chain.length; i++) {
    const { plugin, conf } = chain[i]!;
    if (plugin.responseFilter === undefined) continue;
    if (isCallAborted(options)) throw _timeout(plugin, request.id, options.signal);
    let result: FilterResult | PromiseLike<FilterResult>;
    try {
      result = plugin.responseFilter(res, conf);
    } catch (cause) {
      throw new PluginFilterError(plugin.name, { requestId: request.id, cause });
    }
    if (result === undefined) continue;
    if (isStopAction(result)) return _replacement(result);
    return _responseAsync(chain, i, result, res, options);
  }
  return res.toResult();
}

async function _requestAsync(
  chain: readonly PreparedPlugin[],
  index: number,
  first: FilterResult | PromiseLike<FilterResult>,
  req: PluginRequest,
  options: CallOptions,
): Promise<Action | undefined> {
  let result = first;
  for (let i = index; i < chain.length; i++) {
    const { plugin, conf } = chain[i]!;
    if (i !== index) {
      if (plugin.requestFilter === undefined) continue;
      if (isCallAborted(options)) throw _timeout(plugin, req.id, options.signal);
      try {
        result = plugin.requestFilter(req, conf);
      } catch (cause) {
        throw new PluginFilterError(plugin.name, { requestId: req.id, cause });
      }
    }
    const stopAction = await _settle(plugin, result, req.id, options);
    if (stopAction !== undefined) return stopAction;
  }
  return req.toRewrite();
}

async function _responseAsync(
  chain: readonly PreparedPlugin[],
  index: number,
  first: FilterResult | PromiseLike<FilterResult>,
  res: PluginResponse,
  options: CallOptions,
): Promise<Omit<HttpRespCallResponse, "id">> {
  let result = first;
  for (let i = index; i < chain.length; i++) {
    const { plugin, conf } = chain[i]!;
    if (i !== index) {
      if (plugin.responseFilter === undefined) continue;
      if (isCallAborted(options)) throw _timeout(plugin, res.id, options.signal);
      try {
        result = plugin.responseFilter(res, conf);
      } catch (cause) {
        throw new PluginFilterError(plugin.name, { requestId: res.id, cause });
      }
    }
    const stopAction = await _settle(plugin, result, res.id, options);
    if (stopAction !== undefined) return _replacement(stopAction);
  }
  return res.toResult();
}

/** Waits for a filter result (racing the signal) and turns it into a stop, or `undefined` to go on. */
async function _settle(
  plugin: Plugin<unknown>,
  result: FilterResult | PromiseLike<FilterResult>,
  requestId: number,
  options: CallOptions,
): Promise<StopAction | undefined> {
  let value: unknown = result;
  if (_isThenable(value)) value = await _race(value, plugin, requestId, options);
  if (value === undefined) return undefined;
  if (isStopAction(value)) return value;
  if (value instanceof Response) {
    return await _race(responseToStop(value), plugin, requestId, options);
  }
  throw new PluginFilterError(plugin.name, {
    requestId,
    cause: value,
    detail: `filter returned ${_typeName(value)}; expected undefined, a Response or stop()`,
  });
}

function _race<T>(
  pending: PromiseLike<T>,
  plugin: Plugin<unknown>,
  requestId: number,
  options: CallOptions,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(_timeout(plugin, requestId, options.signal));
    let stopListening = _noop;
    if (isCallAborted(options)) onAbort();
    else stopListening = _listenForAbort(options, onAbort);
    // Attaching both handlers also keeps a late rejection from going unhandled.
    pending.then(
      (value) => {
        stopListening();
        resolve(value);
      },
      (cause) => {
        stopListening();
        reject(
          cause instanceof PluginTimeoutError || cause instanceof PluginFilterError
            ? cause
            : new PluginFilterError(plugin.name, { requestId, cause }),
        );
      },
    );
  });
}

/** Calls `listener` on abort; returns its removal. */
function _listenForAbort(options: CallOptions, listener: () => void): () => void {
  if (options.onAbort !== undefined) return options.onAbort(listener);
  const signal = options.signal;
  signal.addEventListener("abort", listener, { once: true });
  return () => signal.removeEventListener("abort", listener);
}

function _noop(): void {}

function _timeout(
  plugin: Plugin<unknown>,
  requestId: number,
  signal: AbortSignal,
): PluginTimeoutError {
  return new PluginTimeoutError(plugin.name, { requestId, reason: signal.reason });
}

function _replacement(stopAction: StopAction): Omit<HttpRespCallResponse, "id"> {
  return { status: stopAction.status, headers: stopAction.headers, body: stopAction.body };
}

function _isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}

function _typeName(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return `a ${typeof value} (${String(value)})`;
  const name = (value as { constructor?: { name?: string } }).constructor?.name;
  return name ? `a ${name} object` : "an object";
}
