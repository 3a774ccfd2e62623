// Entry point `./testing`: unit-test plugins without sockets (fake requests, responses and ExtraInfo).

/**
 * Test kit for plugin authors. Build a fake request or response, run a
 * plugin's filters with a conf through the same chain code the server uses,
 * and inspect the action and which vars or bodies were asked for.
 *
 * @example
 * ```ts
 * import { definePlugin, stop } from "apisix-ts-plugin-runner";
 * import { runRequestPlugin } from "apisix-ts-plugin-runner/testing";
 *
 * const deny = definePlugin({
 *   name: "deny",
 *   parseConf: (raw) => JSON.parse(raw) as { header: string },
 *   requestFilter: (req, conf) => (req.headers.has(conf.header) ? undefined : stop(401)),
 * });
 * const result = await runRequestPlugin(deny, { conf: { header: "authorization" } });
 * result.stop?.status; // 401
 * ```
 *
 * @module
 */
export * from "./src/testing/mod.ts";
export type {
  Action,
  ExtraInfoChannel,
  ExtraInfoRequest,
  HttpReqCallRequest,
  HttpRespCallRequest,
  HttpRespCallResponse,
  Method,
  RewriteAction,
  StopAction,
} from "./mod.ts";
