// APISIX context variables (nginx vars plus APISIX ones) answered to ExtraInfo Var questions.

import type { HttpHeader } from "../http/http_types.ts";

/** What the gateway knows of a request's connection and route; fixed for the request's life. */
export interface RequestFacts {
  /** Client address, e.g. `"127.0.0.1"`. */
  readonly remoteAddress: string;
  /** Client port. */
  readonly remotePort: number;
  /** Address the gateway accepted the request on. */
  readonly serverAddress: string;
  /** Port the gateway accepted the request on. */
  readonly serverPort: number;
  /** `"HTTP/1.1"` or `"HTTP/1.0"`. */
  readonly serverProtocol: string;
  /** Route `id`. */
  readonly routeId: string;
  /** Route `name`, if any. */
  readonly routeName: string | undefined;
}

/** What {@linkcode resolveVar} reads: the request as it stands at the time of the question. */
export interface VarSource extends RequestFacts {
  /** Request method, e.g. `"GET"`. */
  readonly method: string;
  /** nginx `$uri`: the normalized, decoded path. */
  readonly uri: string;
  /** The request target as the client sent it (APISIX `real_request_uri`). */
  readonly realRequestUri: string;
  /** Current raw query string (nginx `$args`); `undefined` when the request has none. */
  readonly args: string | undefined;
  /** Current request headers, lower-case names, one entry per line. */
  readonly headers: readonly HttpHeader[];
  /** `upstream_uri` once something rewrote the path, else `""` (as in nginx). */
  readonly upstreamUri: string;
  /** `upstream_host`: the `Host` sent upstream. */
  readonly upstreamHost: string;
}

/**
 * Value of an APISIX variable as text, `undefined` when unknown or unset
 * (ExtraInfo answers "absent" then). Supported: `request_method` and
 * `method`, `uri`, `request_uri` (APISIX sets it to `uri` + current args),
 * `real_request_uri`, `args` / `query_string`, `is_args`, `scheme`, `host`,
 * `server_protocol`, `remote_addr`, `remote_port`, `server_addr`,
 * `server_port`, `content_type`, `content_length`, `route_id`, `route_name`,
 * `upstream_uri`, `upstream_host`, `upstream_scheme`, `arg_<name>` (raw
 * value, first match, case-insensitive name), `http_<name>` (`_` for `-`,
 * repeated lines joined with `, `, cookies with `; `), `cookie_<name>`.
 *
 * @example
 * ```ts
 * resolveVar("arg_name", source); // "ts" for "?name=ts"
 * resolveVar("no_such_var", source); // undefined
 * ```
 */
export function resolveVar(name: string, source: VarSource): string | undefined {
  switch (name) {
    case "request_method":
    case "method":
      return source.method;
    case "uri":
      return source.uri;
    case "request_uri":
      return source.uri + (source.args === undefined ? "" : "?" + source.args);
    case "real_request_uri":
      return source.realRequestUri;
    case "args":
    case "query_string":
      return source.args;
    case "is_args":
      return source.args === undefined ? "" : "?";
    case "scheme":
    case "upstream_scheme":
      return "http";
    case "host":
      return _host(source);
    case "server_protocol":
      return source.serverProtocol;
    case "remote_addr":
      return source.remoteAddress;
    case "remote_port":
      return String(source.remotePort);
    case "server_addr":
      return source.serverAddress;
    case "server_port":
      return String(source.serverPort);
    case "content_type":
      return _header(source.headers, "content-type");
    case "content_length":
      return _header(source.headers, "content-length");
    case "route_id":
      return source.routeId;
    case "route_name":
      return source.routeName;
    case "upstream_uri":
      return source.upstreamUri;
    case "upstream_host":
      return source.upstreamHost;
  }
  if (name.startsWith("http_")) {
    return _header(source.headers, name.slice(5).replaceAll("_", "-").toLowerCase());
  }
  if (name.startsWith("arg_")) return _arg(source.args, name.slice(4));
  if (name.startsWith("cookie_")) return _cookie(source.headers, name.slice(7));
  return undefined;
}

/** nginx `$host`: the Host header without port, lower-cased; else the server address. */
function _host(source: VarSource): string {
  const host = _header(source.headers, "host");
  if (host === undefined || host === "") return source.serverAddress;
  const end = host.startsWith("[") ? host.indexOf("]") + 1 : host.indexOf(":");
  return (end <= 0 ? host : host.slice(0, end)).toLowerCase();
}

/** nginx `$http_*`: every line of the header joined (`; ` for cookies), `undefined` when none. */
function _header(headers: readonly HttpHeader[], lower: string): string | undefined {
  let value: string | undefined;
  const separator = lower === "cookie" ? "; " : ", ";
  for (const header of headers) {
    if (header.name !== lower) continue;
    value = value === undefined ? header.value : value + separator + header.value;
  }
  return value;
}

/** nginx `$arg_*`: the raw (not decoded) value of the first `name=` in the query. */
function _arg(args: string | undefined, name: string): string | undefined {
  if (args === undefined || name === "") return undefined;
  const lower = name.toLowerCase();
  for (const part of args.split("&")) {
    const eq = part.indexOf("=");
    if (eq !== -1 && part.slice(0, eq).toLowerCase() === lower) return part.slice(eq + 1);
  }
  return undefined;
}

/** nginx `$cookie_*`: the value of the first cookie of that name. */
function _cookie(headers: readonly HttpHeader[], name: string): string | undefined {
  const cookies = _header(headers, "cookie");
  if (cookies === undefined) return undefined;
  for (const part of cookies.split(";")) {
    const eq = part.indexOf("=");
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
