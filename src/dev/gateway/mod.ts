// Public surface of the dev gateway: APISIX's ext-plugin client side over HTTP, for trying plugins.

export { applyArgsRewrite, decodeArgs, encodeArgs } from "./args.ts";
export { type BannerOptions, curlCommand, renderBanner, shellQuote } from "./banner.ts";
export { type EchoBody, echoUpstream } from "./echo.ts";
export {
  DEFAULT_UPSTREAM_TIMEOUT_MS,
  DevGateway,
  type DevGatewayOptions,
  errorResponse,
  serveEcho,
  SERVER_HEADER,
  stopResponse,
  upstreamRequestHeaders,
} from "./gateway.ts";
export {
  applyRequestHeaderRewrite,
  applyResponseHeaders,
  headerValue,
  HIDDEN_UPSTREAM_HEADERS,
  IGNORED_RESPONSE_HEADERS,
  lowerCaseHeaders,
  overlayHeaders,
  type RequestHeaderRewrite,
  withoutHeaders,
} from "./headers.ts";
export { type CallTarget, RequestState, type RequestStateInit } from "./request_state.ts";
export {
  EXT_PLUGIN_PHASES,
  type ExtPluginConf,
  type ExtPluginPhase,
  matchRoute,
  parseRoutes,
  parseRoutesJson,
  type Route,
  type RouteExample,
  RoutesError,
  type RouteUpstream,
} from "./routes.ts";
export {
  escapeUriPath,
  normalizeUri,
  percentDecode,
  type SplitTarget,
  splitTarget,
} from "./uri.ts";
export { type RequestFacts, resolveVar, type VarSource } from "./vars.ts";
