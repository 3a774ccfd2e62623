// Public types of a plugin: its definition, its filters and what a filter may return.

import type { StopAction } from "../protocol/types.ts";
import type { PluginRequest } from "./request.ts";
import type { PluginResponse } from "./response.ts";

/**
 * What a filter may return: nothing (continue; mutations of the request or
 * response are kept), a web `Response`, or a {@linkcode StopAction} built with
 * `stop()`. In the request phase a response stops the request; in the response
 * phase it replaces the upstream response. Either way it ends the chain.
 */
export type FilterResult = void | undefined | Response | StopAction;

/**
 * What {@linkcode definePlugin} takes: a unique name, a conf parser (called
 * once per PrepareConf, never per request) and one or both filters.
 */
export interface PluginDefinition<C> {
  /** The name routes use in their `ext-plugin-*` `conf` list. */
  readonly name: string;
  /** Parses the raw conf text; throws with a message naming the bad field. */
  parseConf(raw: string): C;
  /** Runs for `ext-plugin-pre-req` / `ext-plugin-post-req` calls. */
  requestFilter?(req: PluginRequest, conf: C): FilterResult | PromiseLike<FilterResult>;
  /** Runs for `ext-plugin-post-resp` calls. */
  responseFilter?(res: PluginResponse, conf: C): FilterResult | PromiseLike<FilterResult>;
}

/**
 * A plugin value, as returned by {@linkcode definePlugin} and given to the
 * registry. `C` is the parsed conf type.
 */
export interface Plugin<C = unknown> extends PluginDefinition<C> {}

/**
 * A plugin of any conf type, as lists of plugins hold them (`Plugin<C>` is
 * invariant in `C`, so `Plugin<unknown>` would not accept a `Plugin<MyConf>`).
 */
// deno-lint-ignore no-explicit-any
export type AnyPlugin = Plugin<any>;
