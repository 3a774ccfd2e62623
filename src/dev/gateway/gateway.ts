// The dev gateway: routes HTTP requests through ext-plugin-pre-req/post-req/post-resp like APISIX.

import { getLogger } from "@logtape/logtape";
import type { ApisixClient, ExtraInfoAnswerer } from "../client/mod.ts";
import {
  errorCodeName,
  type ExtraInfoRequest,
  METHODS,
  type StopAction,
} from "../../protocol/types.ts";
import {
  type HttpClientResponse,
  type HttpHeader,
  type HttpRuntime,
  type HttpServer,
  type HttpServerRequest,
  type HttpServerResponse,
  UpstreamTimeoutError,
} from "../http/http_types.ts";
import { VERSION } from "../../version.ts";
import { ipToBytes } from "../../plugin/ip.ts";
import { echoUpstream } from "./echo.ts";
import {
  applyResponseHeaders,
  HIDDEN_UPSTREAM_HEADERS,
  IGNORED_RESPONSE_HEADERS,
  overlayHeaders,
  withoutHeaders,
} from "./headers.ts";
import { RequestState } from "./request_state.ts";
import { type ExtPluginConf, matchRoute, type Route, type RouteUpstream } from "./routes.ts";
import { normalizeUri } from "./uri.ts";
import { resolveVar } from "./vars.ts";

const logger = getLogger(["apisix-runner", "gateway"]);

const ENCODER = new TextEncoder();

/** APISIX's upstream read timeout. */
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 60_000;

/** The `Server` header of every gateway response. */
export const SERVER_HEADER = `apisix-ts-plugin-runner/${VERSION} (dev gateway)`;

/** Request headers nginx does not forward (hop-by-hop, or set by the proxy itself). */
const NOT_FORWARDED: ReadonlySet<string> = new Set([
  "host",
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "upgrade",
  "transfer-encoding",
  "content-length",
  "x-real-ip",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "x-forwarded-port",
]);

/** Options of {@linkcode DevGateway}. */
export interface DevGatewayOptions {
  /** The APISIX-playing client that talks to the runner (pool, token cache, retries). */
  client: Pick<ApisixClient, "call">;
  /** Sends the upstream requests. */
  http: Pick<HttpRuntime, "request">;
  /** The routes, in file order. */
  routes: readonly Route[];
  /** Where routes without `upstream` go: the built-in echo upstream. */
  echo: { hostname: string; port: number };
  /** Upstream read timeout; default {@linkcode DEFAULT_UPSTREAM_TIMEOUT_MS}. */
  upstreamTimeoutMs?: number;
}

/** How one request ended, for the access log. */
type Outcome = "stop" | "proxied" | "post-resp" | "error" | "no route" | "bad request";

interface Handled {
  response: HttpServerResponse;
  outcome: Outcome;
}

/**
 * Plays APISIX for HTTP requests: matches a route, runs its
 * `ext-plugin-pre-req` (rewrite phase) then `ext-plugin-post-req` (access
 * phase) through the runner, proxies to the upstream, and runs
 * `ext-plugin-post-resp` on the upstream response — applying every reply
 * with APISIX's semantics (docs/PROTOCOL.md §3) and answering ExtraInfo questions
 * for vars, the request body and the response body. A runner failure gives
 * 503 unless the plugin has `allow_degradation`.
 *
 * @example
 * ```ts
 * const gateway = new DevGateway({ client, http: httpRuntime, routes, echo: { hostname: "127.0.0.1", port: 9081 } });
 * const server = await httpRuntime.serve({ hostname: "127.0.0.1", port: 9080 }, (req) => gateway.handle(req));
 * ```
 */
export class DevGateway {
  #client: Pick<ApisixClient, "call">;
  #http: Pick<HttpRuntime, "request">;
  #routes: readonly Route[];
  #echo: RouteUpstream;
  #timeoutMs: number;

  /** Creates a gateway; it serves nothing until its `handle` is given to an HTTP server. */
  constructor(options: DevGatewayOptions) {
    this.#client = options.client;
    this.#http = options.http;
    this.#routes = options.routes;
    this.#echo = {
      scheme: "http",
      hostname: options.echo.hostname,
      port: options.echo.port,
      passHost: "pass",
      upstreamHost: undefined,
    };
    this.#timeoutMs = options.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
  }

  /** Handles one HTTP request; never rejects (failures become 4xx/5xx responses). */
  async handle(request: HttpServerRequest): Promise<HttpServerResponse> {
    const started = performance.now();
    let handled: Handled;
    try {
      handled = await this.#handle(request);
    } catch (error) {
      logger.error("Request {method} {target} failed: {error}", {
        method: request.method,
        target: request.target,
        error,
      });
      handled = { response: errorResponse(500), outcome: "error" };
    }
    const { response, outcome } = handled;
    logger.info("{method} {target} -> {status} ({outcome}, {ms} ms)", () => ({
      method: request.method,
      target: request.target,
      status: response.status,
      outcome,
      ms: Math.round(performance.now() - started),
    }));
    return {
      status: response.status,
      headers: _finalHeaders(response.headers, request.method === "HEAD"),
      body: response.body,
    };
  }

  async #handle(request: HttpServerRequest): Promise<Handled> {
    const target = _originForm(request.target);
    const rawPath = target.split("?", 1)[0]!;
    const uri = normalizeUri(rawPath);
    if (uri === undefined) return { response: errorResponse(400), outcome: "bad request" };
    const route = matchRoute(this.#routes, { uri, method: request.method });
    if (route === undefined) {
      return {
        response: _json(404, { error_msg: "404 Route Not Found" }),
        outcome: "no route",
      };
    }
    const state = new RequestState({
      method: request.method,
      target,
      uri,
      headers: request.headers,
      body: request.body,
      remoteAddress: request.remoteAddress,
      remotePort: request.remotePort,
      serverAddress: request.localAddress,
      serverPort: request.localPort,
      serverProtocol: `HTTP/${request.httpVersion}`,
      routeId: route.id,
      routeName: route.name,
    });
    for (const phase of ["ext-plugin-pre-req", "ext-plugin-post-req"] as const) {
      const conf = route.plugins[phase];
      if (conf === undefined) continue;
      const stopped = await this.#reqCall(phase, conf, state);
      if (stopped !== undefined) return { response: stopped, outcome: "stop" };
    }
    const upstream = await this.#proxy(route.upstream ?? this.#echo, state);
    if ("response" in upstream) return upstream;
    const postResp = route.plugins["ext-plugin-post-resp"];
    if (postResp !== undefined) return await this.#respCall(postResp, state, upstream);
    return { response: _proxied(state, upstream), outcome: "proxied" };
  }

  /** One HTTPReqCall; resolves a response when the request ends here (Stop or failure). */
  async #reqCall(
    phase: string,
    conf: ExtPluginConf,
    state: RequestState,
  ): Promise<HttpServerResponse | undefined> {
    const method = (METHODS as readonly string[]).indexOf(state.method);
    if (method === -1) {
      // APISIX cannot encode such a method (A6.Method has no value for it).
      return this.#failed(phase, conf, `method ${state.method} has no A6.Method value`);
    }
    const { path, args } = state.callTarget();
    let outcome;
    try {
      outcome = await this.#client.call({
        type: "req",
        key: conf.key,
        conf: conf.conf,
        request: {
          srcIp: ipToBytes(state.remoteAddress),
          method,
          path,
          args,
          headers: state.callHeaders(),
        },
        answer: _answerer(state, undefined),
      });
    } catch (error) {
      return this.#failed(phase, conf, error);
    }
    if (outcome.kind === "error") {
      return this.#failed(phase, conf, _errorFrame(outcome.code));
    }
    const action = outcome.response.action;
    if (action?.type === "stop") return stopResponse(action, state.respHeaders);
    if (action?.type === "rewrite") state.applyRewrite(action);
    return undefined;
  }

  /** The HTTPRespCall of `ext-plugin-post-resp` on the fetched upstream response. */
  async #respCall(
    conf: ExtPluginConf,
    state: RequestState,
    upstream: HttpClientResponse,
  ): Promise<Handled> {
    let outcome;
    try {
      outcome = await this.#client.call({
        type: "resp",
        key: conf.key,
        conf: conf.conf,
        request: { status: upstream.status, headers: upstream.headers },
        answer: _answerer(state, upstream.body),
      });
    } catch (error) {
      return this.#respCallFailed(conf, state, upstream, error);
    }
    if (outcome.kind === "error") {
      return this.#respCallFailed(conf, state, upstream, _errorFrame(outcome.code));
    }
    const reply = outcome.response;
    let headers: HttpHeader[];
    if (reply.headers !== undefined && reply.headers.length > 0) {
      // The runner's headers are all the client gets (plus resp_headers set earlier).
      headers = state.respHeaders.slice();
      applyResponseHeaders(headers, reply.headers);
    } else {
      headers = overlayHeaders(
        state.respHeaders,
        withoutHeaders(upstream.headers, IGNORED_RESPONSE_HEADERS),
      );
    }
    const body = reply.body !== undefined && reply.body.length > 0 ? reply.body : upstream.body;
    return {
      response: {
        status: reply.status !== undefined && reply.status !== 0 ? reply.status : upstream.status,
        headers: _withLength(headers, state, upstream, body),
        body,
      },
      outcome: "post-resp",
    };
  }

  /** A failed post-resp: 503, or the upstream response as is with `allow_degradation`. */
  #respCallFailed(
    conf: ExtPluginConf,
    state: RequestState,
    upstream: HttpClientResponse,
    reason: unknown,
  ): Handled {
    const failed = this.#failed("ext-plugin-post-resp", conf, reason);
    if (failed !== undefined) return { response: failed, outcome: "error" };
    return { response: _proxied(state, upstream), outcome: "proxied" };
  }

  /** 503, or `undefined` (carry on) when the plugin allows degradation. */
  #failed(phase: string, conf: ExtPluginConf, reason: unknown): HttpServerResponse | undefined {
    if (conf.allowDegradation) {
      logger.warn("{phase} ({key}) failed, degrading (allow_degradation): {reason}", {
        phase,
        key: conf.key,
        reason: _describeFailure(reason),
      });
      return undefined;
    }
    logger.error("{phase} ({key}) failed, answering 503: {reason}", {
      phase,
      key: conf.key,
      reason: _describeFailure(reason),
    });
    return errorResponse(503);
  }

  async #proxy(
    upstream: RouteUpstream,
    state: RequestState,
  ): Promise<HttpClientResponse | Handled> {
    try {
      return await this.#http.request({
        scheme: upstream.scheme,
        hostname: upstream.hostname,
        port: upstream.port,
        method: state.method,
        target: state.upstreamTarget(),
        headers: upstreamRequestHeaders(state, upstream),
        body: state.body,
        timeoutMs: this.#timeoutMs,
      });
    } catch (error) {
      const status = error instanceof UpstreamTimeoutError ? 504 : 502;
      logger.error("Upstream {host}:{port} failed: {error}", {
        host: upstream.hostname,
        port: upstream.port,
        error,
      });
      return { response: errorResponse(status), outcome: "error" };
    }
  }
}

/**
 * The client response for a Stop action (docs/PROTOCOL.md §3.2): status 0 → 200,
 * headers set-then-append on top of the response headers set so far, body
 * only when non-empty.
 *
 * @example
 * ```ts
 * stopResponse({ type: "stop", status: 0, headers: [{ name: "X-A", value: "1" }] }, []);
 * // { status: 200, headers: [{ name: "x-a", value: "1" }], body: undefined }
 * ```
 */
export function stopResponse(
  stop: StopAction,
  respHeaders: readonly HttpHeader[],
): HttpServerResponse {
  const headers = respHeaders.slice();
  if (stop.headers !== undefined) applyResponseHeaders(headers, stop.headers);
  return {
    status: stop.status === 0 ? 200 : stop.status,
    headers,
    body: stop.body !== undefined && stop.body.length > 0 ? stop.body : undefined,
  };
}

/**
 * The headers nginx sends upstream: the request headers minus hop-by-hop
 * ones, `Host` from `pass_host` (the current `$upstream_host` by default),
 * and APISIX's `X-Real-IP` / `X-Forwarded-*` set, plus `Content-Length` of
 * the (maybe rewritten) body.
 */
export function upstreamRequestHeaders(
  state: RequestState,
  upstream: RouteUpstream,
): HttpHeader[] {
  const defaultPort = upstream.scheme === "https" ? 443 : 80;
  const node = upstream.port === defaultPort
    ? _bracketed(upstream.hostname)
    : `${_bracketed(upstream.hostname)}:${upstream.port}`;
  // nginx drops an empty Host (an HTTP/1.0 client sent none); HTTP/1.1 upstreams need one.
  const host =
    (upstream.passHost === "rewrite"
      ? upstream.upstreamHost!
      : upstream.passHost === "node"
      ? node
      : state.upstreamHost) || node;
  const headers: HttpHeader[] = [{ name: "Host", value: host }];
  let hadLength = false;
  for (const header of state.headers) {
    if (header.name === "content-length" || header.name === "transfer-encoding") hadLength = true;
    if (!NOT_FORWARDED.has(header.name)) headers.push(header);
  }
  const forwardedFor = resolveVar("http_x_forwarded_for", state);
  headers.push(
    { name: "X-Real-IP", value: state.remoteAddress },
    {
      name: "X-Forwarded-For",
      value: forwardedFor === undefined
        ? state.remoteAddress
        : `${forwardedFor}, ${state.remoteAddress}`,
    },
    { name: "X-Forwarded-Proto", value: resolveVar("http_x_forwarded_proto", state) ?? "http" },
    {
      name: "X-Forwarded-Host",
      value: resolveVar("http_x_forwarded_host", state) ?? resolveVar("host", state)!,
    },
    {
      name: "X-Forwarded-Port",
      value: resolveVar("http_x_forwarded_port", state) ?? String(state.serverPort),
    },
  );
  if (hadLength || state.body.length > 0) {
    headers.push({ name: "Content-Length", value: String(state.body.length) });
  }
  return headers;
}

/** nginx-style error page for a status the gateway itself answers. */
export function errorResponse(status: number): HttpServerResponse {
  const title = `${status} ${REASONS[status] ?? "Error"}`;
  return {
    status,
    headers: [{ name: "Content-Type", value: "text/html" }],
    body: ENCODER.encode(
      `<html>\n<head><title>${title}</title></head>\n<body>\n<center><h1>${title}</h1></center>\n` +
        `<hr><center>apisix-ts-plugin-runner dev gateway</center>\n</body>\n</html>\n`,
    ),
  };
}

/** A server that answers every request with {@linkcode echoUpstream}. */
export function serveEcho(
  http: Pick<HttpRuntime, "serve">,
  options: { hostname: string; port: number },
): Promise<HttpServer> {
  return http.serve(options, (request) => Promise.resolve(echoUpstream(request)));
}

const REASONS: Record<number, string> = {
  400: "Bad Request",
  404: "Not Found",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Temporarily Unavailable",
  504: "Gateway Time-out",
};

/** Upstream response proxied as nginx does, with `resp_headers` on top. */
function _proxied(state: RequestState, upstream: HttpClientResponse): HttpServerResponse {
  const headers = overlayHeaders(
    withoutHeaders(upstream.headers, HIDDEN_UPSTREAM_HEADERS),
    state.respHeaders,
  );
  return {
    status: upstream.status,
    headers: _withLength(headers, state, upstream, upstream.body),
    body: upstream.body,
  };
}

/** A HEAD response keeps the upstream's Content-Length (its body is empty). */
function _withLength(
  headers: HttpHeader[],
  state: RequestState,
  upstream: HttpClientResponse,
  body: Uint8Array,
): HttpHeader[] {
  if (state.method !== "HEAD" || body.length > 0) return headers;
  const length = upstream.headers.find((h) => h.name.toLowerCase() === "content-length");
  return length === undefined ? headers : [...headers, length];
}

function _answerer(state: RequestState, respBody: Uint8Array | undefined): ExtraInfoAnswerer {
  return (question: ExtraInfoRequest) => {
    switch (question.type) {
      case "var": {
        const value = resolveVar(question.name, state);
        return value === undefined ? undefined : ENCODER.encode(value);
      }
      case "reqBody":
        return state.body.length > 0 ? state.body : undefined;
      case "respBody":
        if (respBody === undefined) {
          logger.error("The runner asked for the response body during an HTTPReqCall");
        }
        return respBody;
    }
  };
}

/** The reason of an error frame, by the code's name. */
function _errorFrame(code: number): string {
  return `the runner answered ${errorCodeName(code)} (code ${code})`;
}

/**
 * One line for a failed call, no stack: the runner's error frame, the runner
 * being down (the socket refused or missing), or the error's message.
 */
function _describeFailure(reason: unknown): string {
  if (!(reason instanceof Error)) return String(reason);
  const code = (reason as { code?: unknown }).code;
  if (code === "ECONNREFUSED" || code === "ENOENT" || reason.name === "ConnectionRefused") {
    return `the runner is not running (${code ?? reason.name}: nothing accepts on its socket)`;
  }
  return reason.message;
}

function _json(status: number, body: unknown): HttpServerResponse {
  return {
    status,
    headers: [{ name: "Content-Type", value: "application/json" }],
    body: ENCODER.encode(JSON.stringify(body) + "\n"),
  };
}

/**
 * The headers sent to the client: framing headers are the HTTP server's job
 * (a HEAD answer keeps its Content-Length), and `Server` is set last, as
 * APISIX's header filter does.
 */
function _finalHeaders(headers: readonly HttpHeader[], head: boolean): HttpHeader[] {
  const out: HttpHeader[] = [];
  for (const header of headers) {
    const lower = header.name.toLowerCase();
    if (lower === "content-length" ? !head : FRAMING_HEADERS.has(lower)) continue;
    out.push(header);
  }
  out.push({ name: "Server", value: SERVER_HEADER });
  return out;
}

const FRAMING_HEADERS: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "server",
]);

/** `http://host/p?q` (absolute form, sent to proxies) → `/p?q`. */
function _originForm(target: string): string {
  const match = /^https?:\/\/[^/?#]*/i.exec(target);
  if (match === null) return target;
  const rest = target.slice(match[0].length);
  return rest.startsWith("/") ? rest : "/" + rest;
}

function _bracketed(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}
