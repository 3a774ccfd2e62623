// definePlugin(): turns a plugin definition into a checked, frozen plugin value.

import type { Plugin, PluginDefinition } from "./types.ts";

/**
 * Defines a plugin. The conf type is inferred from `parseConf`, the state
 * type from `setup` (see {@linkcode PluginDefinition}).
 *
 * @example
 * ```ts
 * import { definePlugin } from "./define_plugin.ts";
 * import { stop } from "./stop.ts";
 *
 * const deny = definePlugin({
 *   name: "deny",
 *   parseConf(raw) {
 *     const conf = JSON.parse(raw) as { status?: unknown };
 *     if (typeof conf.status !== "number") throw new Error("status must be a number");
 *     return { status: conf.status };
 *   },
 *   requestFilter(req, conf) {
 *     if (!req.headers.has("authorization")) return stop(conf.status);
 *   },
 * });
 * ```
 */
export function definePlugin<C, S = undefined>(definition: PluginDefinition<C, S>): Plugin<C, S> {
  const { name, parseConf, requestFilter, responseFilter, setup, dispose } = definition;
  if (typeof name !== "string" || name.length === 0 || name.length > 128) {
    throw new TypeError(`Plugin name must be a string of 1 to 128 characters, got ${String(name)}`);
  }
  if (typeof parseConf !== "function") {
    throw new TypeError(`Plugin "${name}" needs a parseConf function`);
  }
  if (requestFilter !== undefined && typeof requestFilter !== "function") {
    throw new TypeError(`Plugin "${name}": requestFilter must be a function`);
  }
  if (responseFilter !== undefined && typeof responseFilter !== "function") {
    throw new TypeError(`Plugin "${name}": responseFilter must be a function`);
  }
  for (const [hook, value] of [["setup", setup], ["dispose", dispose]] as const) {
    if (value !== undefined && typeof value !== "function") {
      throw new TypeError(`Plugin "${name}": ${hook} must be a function`);
    }
  }
  const plugin: Plugin<C, S> = { name, parseConf };
  if (requestFilter !== undefined) plugin.requestFilter = requestFilter;
  if (responseFilter !== undefined) plugin.responseFilter = responseFilter;
  if (setup !== undefined) plugin.setup = setup;
  if (dispose !== undefined) plugin.dispose = dispose;
  return Object.freeze(plugin);
}
