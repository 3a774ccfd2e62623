// Public types of the plugin API: a plugin, its filters, the request and response they see, the call behind them.

import type { ExtraInfoRequest, Method, StopAction } from "../protocol/types.ts";
import type { RequestArgs } from "./args.ts";
import type { HeaderMap } from "./headers.ts";

/**
 * What a filter may return: nothing (continue; mutations of the request or
 * response are kept), a web `Response`, or a {@linkcode StopAction} built with
 * `stop()`. In the request phase a response stops the request; in the response
 * phase it replaces the upstream response. Either way it ends the chain.
 */
export type FilterResult = void | undefined | Response | StopAction;

/** How a call asks APISIX for extra information: one ExtraInfo round trip per question. */
export interface ExtraInfoChannel {
  /** Sends `question` and resolves with `result` (`undefined` when absent). */
  ask(question: ExtraInfoRequest): Promise<Uint8Array | undefined>;
}

/**
 * One call as the views and the phase runner see it: its ExtraInfo questions,
 * asked one at a time, and its lifetime.
 */
export interface CallContext extends ExtraInfoChannel {
  /** Aborts at the call deadline, when APISIX closes the connection, or when the call failed. */
  readonly signal: AbortSignal;
  /** Same as `signal.aborted`, without making the signal (most calls never need one). */
  readonly aborted: boolean;
  /** Calls `listener` once when the call aborts; returns a function that removes it. */
  onAbort(listener: () => void): () => void;
  /** The `traceparent` of the running filter's span, set by the phase runner when tracing is on. */
  traceparent?: string | undefined;
}

/**
 * What request and response views share: the call's abort signal and the
 * ExtraInfo questions of the phase (variables by name and the one body), each
 * asked at most once per call and cached. Each costs one round trip to APISIX.
 */
export interface CallView {
  /** Fires at the call deadline, when APISIX closes the connection, or when the call failed. */
  readonly signal: AbortSignal;
  /**
   * An APISIX variable as text (ExtraInfo Var, once per name): nginx variables
   * and APISIX ones such as `route_id`; `undefined` when unknown or unset.
   */
  var(name: string): Promise<string | undefined>;
  /**
   * The body of this phase, asked at most once: the request body for request
   * filters (ExtraInfo ReqBody), the upstream body for response filters
   * (ExtraInfo RespBody); `undefined` when there is none (e.g. a GET).
   */
  body(): Promise<Uint8Array | undefined>;
  /** The body as UTF-8 text; `""` when there is none. */
  text(): Promise<string>;
  /** The body parsed as JSON; throws `SyntaxError` when absent or not JSON. */
  json<T = unknown>(): Promise<T>;
  /**
   * The W3C `traceparent` to send on this filter's own outgoing calls: with
   * tracing on (`--otel`), the one of the filter's span; otherwise the one the
   * call carries (`undefined` when none).
   */
  readonly traceparent: string | undefined;
}

/**
 * The request a request filter sees (`ext-plugin-pre-req` / `-post-req`).
 * Everything is decoded on first use; reading never produces a Rewrite.
 * Changes (path, headers, args, response headers, body) accumulate across the
 * chain and are sent as one Rewrite carrying only what really changed. A
 * Rewrite can only set or delete a request header, so `headers.append()` is
 * sent as one header whose value is all values joined with `", "`.
 *
 * Costs: `var()` and `body()` each ask APISIX once (an ExtraInfo round trip)
 * and are cached for the call; everything else is local.
 */
export interface PluginRequest extends CallView {
  /** The call id APISIX gave this request (for logs). */
  readonly id: number;
  /** Client address as text (IPv4 dotted, IPv6 RFC 5952), `undefined` when absent. */
  readonly srcIp: string | undefined;
  /** Request method, e.g. `"GET"`. */
  readonly method: Method;
  /** Path (decoded, never a query string); setting it rewrites the upstream path. */
  path: string;
  /** Request headers (lower-case names from APISIX; lookups are case-insensitive). */
  readonly headers: HeaderMap;
  /** Query args; `null` values are valueless (`?flag`). */
  readonly args: RequestArgs;
  /** Headers to add to the client response while still proxying (Rewrite `resp_headers`). */
  readonly respHeaders: HeaderMap;
  /** Replaces the body sent upstream. An empty body is no change (APISIX ignores it). */
  setBody(body: string | Uint8Array): void;
}

/**
 * The upstream response a response filter sees (`ext-plugin-post-resp`).
 * Changes accumulate across the chain. Because APISIX sends only the returned
 * headers when any is returned, a header change makes the runner return the
 * full set: the upstream headers minus hop-by-hop ones and `content-length`,
 * with the changes applied.
 */
export interface PluginResponse extends CallView {
  /** The call id APISIX gave this request (for logs). */
  readonly id: number;
  /** Client status: the upstream one until a filter sets it (100 to 999). */
  status: number;
  /** Upstream response headers, original case, one entry per value. */
  readonly headers: HeaderMap;
  /** Replaces the body sent to the client. An empty body keeps the upstream one. */
  setBody(body: string | Uint8Array): void;
}

/** Where a plugin's `setup()` logs: the runner's log, under the plugin's name. */
export interface PluginLogger {
  /** Logs at debug level; `{name}` in `message` is replaced by `properties.name`. */
  debug(message: string, properties?: Record<string, unknown>): void;
  /** Logs at info level. */
  info(message: string, properties?: Record<string, unknown>): void;
  /** Logs at warning level. */
  warn(message: string, properties?: Record<string, unknown>): void;
  /** Logs at error level. */
  error(message: string, properties?: Record<string, unknown>): void;
}

/** What a plugin's `setup()` gets. */
export interface PluginSetupContext {
  /** The runner's log, under `apisix-runner.plugin.<name>`. */
  readonly logger: PluginLogger;
  /** Fires when the runner begins to stop (SIGTERM): give up pending work. */
  readonly signal: AbortSignal;
}

/**
 * What `definePlugin` takes: a unique name, a conf parser (called once per
 * PrepareConf, never per request) and one or both filters. A plugin that
 * needs a client (Redis, an HTTP agent, a key set) makes it in `setup()`,
 * once per runner before it accepts connections; what `setup()` returns is
 * the state the filters receive, and `dispose()` gets it back during the
 * graceful shutdown.
 */
export interface PluginDefinition<C, S = undefined> {
  /** The name routes use in their `ext-plugin-*` `conf` list. */
  readonly name: string;
  /**
   * Runs once before the runner accepts connections; its result is the
   * plugin's state. A throw stops the start with one line naming the plugin.
   */
  setup?(ctx: PluginSetupContext): S | PromiseLike<S>;
  /** Runs once during the graceful shutdown, after the calls ended, within the drain budget. */
  dispose?(state: S): void | PromiseLike<void>;
  /** Parses the raw conf text; throws with a message naming the bad field. */
  parseConf(raw: string): C;
  /** Runs for `ext-plugin-pre-req` / `ext-plugin-post-req` calls. */
  requestFilter?(req: PluginRequest, conf: C, state: S): FilterResult | PromiseLike<FilterResult>;
  /** Runs for `ext-plugin-post-resp` calls. */
  responseFilter?(
    res: PluginResponse,
    conf: C,
    state: S,
  ): FilterResult | PromiseLike<FilterResult>;
}

/**
 * A plugin value, as returned by `definePlugin` and given to the registry.
 * `C` is the parsed conf type, `S` the state its `setup()` returns.
 */
export interface Plugin<C = unknown, S = unknown> extends PluginDefinition<C, S> {}

/**
 * A plugin of any conf type, as lists of plugins hold them (`Plugin<C>` is
 * invariant in `C`, so `Plugin<unknown>` would not accept a `Plugin<MyConf>`).
 */
// deno-lint-ignore no-explicit-any
export type AnyPlugin = Plugin<any, any>;
