// The phase runner: a route conf's prepared plugins, run in order on one call's view.

import type {
  Action,
  HttpReqCallRequest,
  HttpRespCallRequest,
  HttpRespCallResponse,
  StopAction,
} from "../protocol/types.ts";
import { Call } from "./call.ts";
import { PluginFilterError, PluginTimeoutError } from "./errors.ts";
import type {
  FilterObserver,
  FilterOutcome,
  FilterWatch,
  ObservedCall,
  PhaseName,
} from "./observer.ts";
import type { PreparedPlugin } from "./prepare.ts";
import { RequestView } from "./request.ts";
import { ResponseView } from "./response.ts";
import { isStopAction, responseToStop } from "./stop.ts";
import type { CallContext, ExtraInfoChannel, FilterResult, Plugin } from "./types.ts";

/** The result of the request phase: the HttpReqCall action, `undefined` for none. */
export type RequestResult = Action | undefined;
/** The result of the response phase: the HttpRespCall reply fields (empty: no change). */
export type ResponseResult = Omit<HttpRespCallResponse, "id">;

/** A filter of one phase, as the phase runner calls it (with the plugin as `this`). */
export type Filter<View> = (
  view: View,
  conf: unknown,
  state: unknown,
) => FilterResult | PromiseLike<FilterResult>;

/**
 * How one phase runs: which filter it calls, the view its filters share, and
 * what the view's changes or a stop amount to.
 */
export interface Phase<Raw, View, Result> {
  /** `"request"` or `"response"`, as metrics and traces name it. */
  readonly name: PhaseName;
  /** The plugin's filter of this phase, if it has one. */
  filterOf(plugin: Plugin<unknown>): Filter<View> | undefined;
  /** The view one call's filters share. */
  open(raw: Raw, call: CallContext): View;
  /** The result when no filter stopped: the changes the filters made. */
  finish(view: View): Result;
  /** The result when a filter stopped. */
  stopWith(stop: StopAction): Result;
  /** The result of an empty chain: no change. */
  readonly unchanged: Result;
}

/**
 * `ext-plugin-pre-req` / `-post-req`: a stop answers the client (earlier edits
 * are dropped); otherwise the edits give one Rewrite, or no action.
 */
export const REQUEST_PHASE: Phase<HttpReqCallRequest, RequestView, RequestResult> = {
  name: "request",
  filterOf: (plugin) => plugin.requestFilter,
  open: (raw, call) => new RequestView(raw, call),
  finish: (view) => view.toRewrite(),
  stopWith: (stop) => stop,
  unchanged: undefined,
};

/**
 * `ext-plugin-post-resp`: changes to status, headers and body accumulate; a
 * stop replaces the upstream response.
 */
export const RESPONSE_PHASE: Phase<HttpRespCallRequest, ResponseView, ResponseResult> = {
  name: "response",
  filterOf: (plugin) => plugin.responseFilter,
  open: (raw, call) => new ResponseView(raw, call),
  finish: (view) => view.toResult(),
  stopWith: (stop) => ({ status: stop.status, headers: stop.headers, body: stop.body }),
  unchanged: Object.freeze({}),
};

/**
 * Runs the filters of `chain` for `phase` in order on one view of `raw`. The
 * first filter that stops ends the chain. A filter that throws, rejects or
 * returns something else than `undefined`, a `Response` or `stop()` fails the
 * call with {@linkcode PluginFilterError}; when the call aborts while a filter
 * is pending (deadline, disconnect) it fails at once with
 * {@linkcode PluginTimeoutError}, without waiting for the filter. When every
 * filter returns synchronously the result is synchronous too (and failures
 * throw): the server's fast path costs no promise. An `observer` (metrics,
 * tracing) watches each filter; without one, watching costs one branch.
 *
 * @example
 * ```ts
 * const action = runPhase(REQUEST_PHASE, chain, request, call); // an Action, or a promise of one
 * ```
 */
export function runPhase<Raw extends ObservedCall, View, Result>(
  phase: Phase<Raw, View, Result>,
  chain: readonly PreparedPlugin[],
  raw: Raw,
  call: CallContext,
  observer?: FilterObserver,
): Result | Promise<Result> {
  const view = phase.open(raw, call);
  for (let i = 0; i < chain.length; i++) {
    const { plugin, conf, state } = chain[i]!;
    const filter = phase.filterOf(plugin);
    if (filter === undefined) continue;
    if (call.aborted) throw _timeout(plugin, raw.id, call);
    const watch = observer === undefined ? undefined : _watch(observer, plugin, phase, raw, call);
    let result: FilterResult | PromiseLike<FilterResult>;
    try {
      result = filter.call(plugin, view, conf, state);
    } catch (cause) {
      watch?.end("throw");
      throw new PluginFilterError(plugin.name, { requestId: raw.id, cause });
    }
    if (result === undefined) {
      watch?.end("ok");
      continue;
    }
    if (isStopAction(result)) {
      watch?.end("stop");
      return phase.stopWith(result);
    }
    return _finishAsync(phase, chain, i, result, view, raw, call, observer, watch);
  }
  return phase.finish(view);
}

/** Starts watching one filter; the call's `traceparent` becomes the filter span's, if any. */
function _watch(
  observer: FilterObserver,
  plugin: Plugin<unknown>,
  phase: { readonly name: PhaseName },
  raw: ObservedCall,
  call: CallContext,
): FilterWatch {
  // The raw call itself: its headers are decoded only if read (tracing reads them, metrics not).
  const watch = observer.start(plugin.name, phase.name, raw);
  call.traceparent = watch.traceparent;
  return watch;
}

/** How a filter that failed with `error` ended, for its observer. */
function _outcomeOf(error: unknown): FilterOutcome {
  if (error instanceof PluginTimeoutError) return "timeout";
  if (error instanceof PluginFilterError && !(error.cause instanceof Error)) return "bad_return";
  return "throw";
}

/** The rest of {@linkcode runPhase} once filter `index` returned `first`, something to wait for. */
async function _finishAsync<View, Result>(
  phase: Phase<never, View, Result>,
  chain: readonly PreparedPlugin[],
  index: number,
  first: FilterResult | PromiseLike<FilterResult>,
  view: View,
  raw: ObservedCall,
  call: CallContext,
  observer: FilterObserver | undefined,
  firstWatch: FilterWatch | undefined,
): Promise<Result> {
  const requestId = raw.id;
  let result = first;
  let watch = firstWatch;
  for (let i = index; i < chain.length; i++) {
    const { plugin, conf, state } = chain[i]!;
    if (i !== index) {
      const filter = phase.filterOf(plugin);
      if (filter === undefined) continue;
      if (call.aborted) throw _timeout(plugin, requestId, call);
      watch = observer === undefined ? undefined : _watch(observer, plugin, phase, raw, call);
      try {
        result = filter.call(plugin, view, conf, state);
      } catch (cause) {
        watch?.end("throw");
        throw new PluginFilterError(plugin.name, { requestId, cause });
      }
    }
    let stop: StopAction | undefined;
    try {
      stop = await _settle(plugin, result, requestId, call);
    } catch (error) {
      watch?.end(_outcomeOf(error));
      throw error;
    }
    watch?.end(stop === undefined ? "ok" : "stop");
    if (stop !== undefined) return phase.stopWith(stop);
  }
  return phase.finish(view);
}

/** Waits for a filter result (racing the call's abort) and turns it into a stop, or `undefined` to go on. */
async function _settle(
  plugin: Plugin<unknown>,
  result: FilterResult | PromiseLike<FilterResult>,
  requestId: number,
  call: CallContext,
): Promise<StopAction | undefined> {
  let value: unknown = result;
  if (_isThenable(value)) value = await _race(value, plugin, requestId, call);
  if (value === undefined) return undefined;
  if (isStopAction(value)) return value;
  if (value instanceof Response) return await _race(responseToStop(value), plugin, requestId, call);
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
  call: CallContext,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(_timeout(plugin, requestId, call));
    let stopListening = _noop;
    if (call.aborted) onAbort();
    else stopListening = call.onAbort(onAbort);
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

/** Options of {@linkcode runRequestFilters} and {@linkcode runResponseFilters}. */
export interface RunFiltersOptions {
  /** Where `var()` / `body()` questions go. */
  readonly extraInfo: ExtraInfoChannel;
  /** Aborts the call (a test's deadline); default never. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Runs the request phase with a channel and a signal of the caller's, always
 * asynchronously (the test kit and tests; the server uses {@linkcode runPhase}).
 */
export function runRequestFilters(
  chain: readonly PreparedPlugin[],
  request: HttpReqCallRequest,
  options: RunFiltersOptions,
): Promise<RequestResult> {
  return _runFilters(REQUEST_PHASE, chain, request, options);
}

/** The response phase like {@linkcode runRequestFilters}. */
export function runResponseFilters(
  chain: readonly PreparedPlugin[],
  request: HttpRespCallRequest,
  options: RunFiltersOptions,
): Promise<ResponseResult> {
  return _runFilters(RESPONSE_PHASE, chain, request, options);
}

async function _runFilters<Raw extends ObservedCall, View, Result>(
  phase: Phase<Raw, View, Result>,
  chain: readonly PreparedPlugin[],
  raw: Raw,
  options: RunFiltersOptions,
): Promise<Result> {
  const call = new Call(options.extraInfo);
  const signal = options.signal;
  const abort = () => call.abort(signal!.reason);
  if (signal?.aborted) abort();
  signal?.addEventListener("abort", abort, { once: true });
  try {
    return await runPhase(phase, chain, raw, call);
  } finally {
    signal?.removeEventListener("abort", abort);
    call.end();
  }
}

function _noop(): void {}

function _timeout(
  plugin: Plugin<unknown>,
  requestId: number,
  call: CallContext,
): PluginTimeoutError {
  return new PluginTimeoutError(plugin.name, { requestId, reason: call.signal.reason });
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
