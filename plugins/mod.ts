// The bundled plugins, listed explicitly (no registration by import side effect).

import type { AnyPlugin } from "../src/plugin/types.ts";
import { faultInjection } from "./fault_injection.ts";
import { forwardVars } from "./forward_vars.ts";
import { jwtAuth } from "./jwt_auth.ts";
import { limitCount } from "./limit_count.ts";
import { limitReq } from "./limit_req.ts";
import { requestBodyRewrite } from "./request_body_rewrite.ts";
import { requestRewrite } from "./request_rewrite.ts";
import { requestValidation } from "./request_validation.ts";
import { responseRewrite } from "./response_rewrite.ts";
import { say } from "./say.ts";

export { createFaultInjection, faultInjection } from "./fault_injection.ts";
export type { FaultInjectionConf, FaultInjectionOptions } from "./fault_injection.ts";
export { forwardVars } from "./forward_vars.ts";
export type { ForwardVarsConf } from "./forward_vars.ts";
export { jwtAuth, parseJwtAuthConf } from "./jwt_auth.ts";
export type { JwtAuthConf, JwtKeyResolver } from "./jwt_auth.ts";
export { limitCount, parseLimitCountConf } from "./limit_count.ts";
export type {
  LimitCountConf,
  LimitCountState,
  RedisCounter,
  RedisSettings,
} from "./limit_count.ts";
export { createLimitReq, limitReq, RequestBucket } from "./limit_req.ts";
export type { LimitReqConf, LimitReqOptions } from "./limit_req.ts";
export { requestBodyRewrite } from "./request_body_rewrite.ts";
export type { RequestBodyRewriteConf } from "./request_body_rewrite.ts";
export { requestRewrite } from "./request_rewrite.ts";
export type { RequestRewriteConf, SetRemove } from "./request_rewrite.ts";
export { requestValidation } from "./request_validation.ts";
export type { RequestValidationConf } from "./request_validation.ts";
export { responseRewrite } from "./response_rewrite.ts";
export type { ResponseRewriteConf, ResponseRewriteFilter } from "./response_rewrite.ts";
export { say } from "./say.ts";
export type { SayConf } from "./say.ts";

/**
 * Every bundled plugin, ready for a `PluginRegistry`.
 *
 * @example
 * ```ts
 * import { bundledPlugins } from "./mod.ts";
 * bundledPlugins.map((plugin) => plugin.name).includes("say"); // true
 * ```
 */
export const bundledPlugins: readonly AnyPlugin[] = Object.freeze([
  say,
  faultInjection,
  limitReq,
  requestBodyRewrite,
  responseRewrite,
  requestRewrite,
  forwardVars,
  requestValidation,
  jwtAuth,
  limitCount,
]);
