// The state of one proxied request as APISIX keeps it between ext-plugin phases (ngx vars, headers).

import type { RewriteAction, TextEntry } from "../../protocol/types.ts";
import type { HttpHeader } from "../http/http_types.ts";
import { applyArgsRewrite, decodeArgs, encodeArgs } from "./args.ts";
import {
  applyRequestHeaderRewrite,
  applyResponseHeaders,
  IGNORED_RESPONSE_HEADERS,
} from "./headers.ts";
import { escapeUriPath, splitTarget } from "./uri.ts";
import type { RequestFacts, VarSource } from "./vars.ts";

/** How a request starts out: what nginx knows before any plugin ran. */
export interface RequestStateInit extends RequestFacts {
  readonly method: string;
  /** The request target as received, in origin form (`/path?query`). */
  readonly target: string;
  /** nginx `$uri` of the target (see `normalizeUri`). */
  readonly uri: string;
  /** Request header lines (any case). */
  readonly headers: readonly HttpHeader[];
  readonly body: Uint8Array;
}

/** Path and args of an HTTPReqCall, as APISIX derives them from the current state. */
export interface CallTarget {
  readonly path: string;
  readonly args: TextEntry[];
}

/**
 * One request on its way through the phases. Mirrors the nginx/APISIX
 * variables ext-plugin reads and writes: `$uri` (fixed), `$args` (rewritten
 * by `set_uri_args`), `$upstream_uri` (set by a Rewrite path),
 * `$upstream_host` (starts as the client's Host, set by a `host` header
 * rewrite), the request headers and body, and the response headers set so
 * far (Rewrite `resp_headers`).
 */
export class RequestState implements VarSource {
  readonly method: string;
  readonly uri: string;
  readonly realRequestUri: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly serverAddress: string;
  readonly serverPort: number;
  readonly serverProtocol: string;
  readonly routeId: string;
  readonly routeName: string | undefined;
  /** nginx `$args`; `undefined` when there is no query. */
  args: string | undefined;
  /** Whether `$args` was replaced: nginx then re-sends the escaped `$uri` instead of the raw target. */
  argsChanged = false;
  /** nginx `$upstream_uri`: `""` until a Rewrite path sets it (escaped, maybe with `?args`). */
  upstreamUri = "";
  upstreamHost: string;
  /** Request headers, lower-case names, one entry per line. */
  headers: HttpHeader[];
  body: Uint8Array;
  /** Client response headers set so far (Rewrite `resp_headers`), lower-case names. */
  readonly respHeaders: HttpHeader[] = [];

  /** Starts from what the client sent. */
  constructor(init: RequestStateInit) {
    this.method = init.method;
    this.uri = init.uri;
    this.realRequestUri = init.target;
    this.remoteAddress = init.remoteAddress;
    this.remotePort = init.remotePort;
    this.serverAddress = init.serverAddress;
    this.serverPort = init.serverPort;
    this.serverProtocol = init.serverProtocol;
    this.routeId = init.routeId;
    this.routeName = init.routeName;
    this.args = splitTarget(init.target).query;
    this.headers = init.headers.map(({ name, value }) => ({ name: name.toLowerCase(), value }));
    this.body = init.body;
    // APISIX's nginx.conf: `set $upstream_host $http_host;`
    this.upstreamHost = this.headers.find((h) => h.name === "host")?.value ?? "";
  }

  /**
   * HTTPReqCall `path` and `args` (docs/PROTOCOL.md §3.2): `$uri` and the current
   * args, or — once a Rewrite path set `$upstream_uri` — its path part, with
   * a query part in it replacing the args first (as APISIX does).
   */
  callTarget(): CallTarget {
    if (this.upstreamUri === "") return { path: this.uri, args: decodeArgs(this.args) };
    const { path, query } = splitTarget(this.upstreamUri);
    if (query !== undefined) this.#setArgs(query);
    return { path, args: decodeArgs(this.args) };
  }

  /**
   * HTTPReqCall `headers`: the current request headers with the `host` entry
   * carrying `$upstream_host`.
   */
  callHeaders(): TextEntry[] {
    return this.headers.map((h) =>
      h.name === "host" ? { name: "host", value: this.upstreamHost } : h
    );
  }

  /**
   * Applies a Rewrite in APISIX's order: path (escaped), headers (`host`
   * also sets the upstream host), body (only when non-empty), `resp_headers`
   * (minus the ignored names), args; then, when a path was given, the
   * upstream URI = escaped path + `?` + current args (args are kept on a
   * path-only rewrite, as since APISIX 3.16).
   */
  applyRewrite(rewrite: RewriteAction): void {
    const path = rewrite.path === undefined ? undefined : escapeUriPath(rewrite.path);
    if (rewrite.headers !== undefined && rewrite.headers.length > 0) {
      const result = applyRequestHeaderRewrite(this.headers, rewrite.headers);
      this.headers = result.headers;
      if (result.upstreamHost !== undefined) this.upstreamHost = result.upstreamHost;
    }
    if (rewrite.body !== undefined && rewrite.body.length > 0) this.body = rewrite.body;
    if (rewrite.respHeaders !== undefined) {
      applyResponseHeaders(this.respHeaders, rewrite.respHeaders, {
        ignore: IGNORED_RESPONSE_HEADERS,
      });
    }
    if (rewrite.args !== undefined && rewrite.args.length > 0) {
      this.#setArgs(encodeArgs(applyArgsRewrite(decodeArgs(this.args), rewrite.args)));
    }
    if (path !== undefined) {
      this.upstreamUri = this.args === undefined ? path : `${path}?${this.args}`;
    }
  }

  /**
   * The request target sent upstream, as nginx builds it: `$upstream_uri`
   * when set; else the client's raw target while the args are untouched;
   * else the escaped `$uri` plus the current args.
   */
  upstreamTarget(): string {
    if (this.upstreamUri !== "") return this.upstreamUri;
    if (!this.argsChanged) return this.realRequestUri;
    const path = escapeUriPath(this.uri);
    return this.args === undefined ? path : `${path}?${this.args}`;
  }

  #setArgs(query: string): void {
    this.args = query === "" ? undefined : query;
    this.argsChanged = true;
  }
}
