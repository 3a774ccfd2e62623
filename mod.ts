// Entry point `.`: the plugin API. It loads no runner, CLI or dev tool, and no `node:` module.

/**
 * Write Apache APISIX plugins in TypeScript for APISIX's `ext-plugin-pre-req`,
 * `ext-plugin-post-req` and `ext-plugin-post-resp`, on Deno, Bun or Node. The
 * runner that serves them is `apisix-ts-plugin-runner/runner`, or the
 * `apisix-ts-runner` command (`run`, `dev`, `build`).
 *
 * @example A plugin
 * ```ts
 * import { definePlugin, stop } from "apisix-ts-plugin-runner";
 *
 * const requireToken = definePlugin({
 *   name: "require-token",
 *   parseConf(raw) {
 *     const conf = JSON.parse(raw) as { header?: unknown };
 *     if (typeof conf.header !== "string") throw new Error('"header" must be a string');
 *     return { header: conf.header.toLowerCase() };
 *   },
 *   requestFilter(req, conf) {
 *     if (!req.headers.has(conf.header)) return stop(401, { body: "token required" });
 *     req.headers.delete(conf.header);
 *   },
 * });
 * ```
 *
 * @module
 */

export { definePlugin } from "./src/plugin/define_plugin.ts";
export type {
  AnyPlugin,
  CallView,
  ExtraInfoChannel,
  FilterResult,
  Plugin,
  PluginDefinition,
  PluginLogger,
  PluginRequest,
  PluginResponse,
  PluginSetupContext,
} from "./src/plugin/types.ts";
export { responseToStop, stop } from "./src/plugin/stop.ts";
export type { StopInit } from "./src/plugin/stop.ts";
export { HeaderMap } from "./src/plugin/headers.ts";
export type { HeaderInit } from "./src/plugin/headers.ts";
export { RequestArgs } from "./src/plugin/args.ts";
export {
  PluginConfError,
  PluginFilterError,
  PluginSetupError,
  PluginTimeoutError,
  UnknownPluginError,
} from "./src/plugin/errors.ts";
export type {
  Action,
  ExtraInfoRequest,
  HttpReqCallRequest,
  HttpRespCallRequest,
  HttpRespCallResponse,
  Method,
  PreparedStop,
  RewriteAction,
  StopAction,
  TextEntry,
} from "./src/protocol/types.ts";
export { VERSION } from "./src/version.ts";
