// The dev gateway's routes file: APISIX-shaped routes with ext-plugin-* phases, parsed and matched.

import { formatPrepareConfKey } from "../client/client.ts";
import type { TextEntry } from "../../protocol/types.ts";
import { confHash } from "../../plugin/conf_hash.ts";

/** The three APISIX plugins that talk to the runner, in the order they run. */
export const EXT_PLUGIN_PHASES = [
  "ext-plugin-pre-req",
  "ext-plugin-post-req",
  "ext-plugin-post-resp",
] as const;

/** One of {@linkcode EXT_PLUGIN_PHASES}. */
export type ExtPluginPhase = typeof EXT_PLUGIN_PHASES[number];

/** The conf of one `ext-plugin-*` plugin on a route. */
export interface ExtPluginConf {
  /** The `conf` array, in order; `undefined` when the route has none (APISIX omits it then). */
  readonly conf: readonly TextEntry[] | undefined;
  /** `allow_degradation`: on any runner failure, carry on as if the plugin were not there. */
  readonly allowDegradation: boolean;
  /** The PrepareConf key: `route#<id>#<plugin>#<version>`. */
  readonly key: string;
}

/** Where a route proxies to; `undefined` on a route means the built-in echo upstream. */
export interface RouteUpstream {
  readonly scheme: "http" | "https";
  readonly hostname: string;
  readonly port: number;
  /** APISIX `pass_host`: `pass` the client's Host (default), the `node` address, or `rewrite`. */
  readonly passHost: "pass" | "node" | "rewrite";
  /** The Host sent when `passHost` is `rewrite`. */
  readonly upstreamHost: string | undefined;
}

/** A sample request the `dev` banner prints as a curl line (dev-gateway extension field). */
export interface RouteExample {
  /** Defaults to GET, or POST with a body. */
  readonly method: string | undefined;
  /** Path and query, e.g. `/vars?name=ts`. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
  /** What the response shows. */
  readonly shows: string;
}

/** A parsed route. */
export interface Route {
  readonly id: string;
  readonly name: string | undefined;
  readonly desc: string | undefined;
  /** The `uri` as written: exact, or a prefix when it ends with `*`. */
  readonly uri: string;
  /** Upper-case methods the route accepts; `undefined` for all. */
  readonly methods: readonly string[] | undefined;
  readonly upstream: RouteUpstream | undefined;
  readonly plugins: Readonly<Partial<Record<ExtPluginPhase, ExtPluginConf>>>;
  readonly examples: readonly RouteExample[];
}

/** The routes file (or one of its routes) is malformed. */
export class RoutesError extends Error {
  /** `source` names the file, `message` what is wrong with which value. */
  constructor(source: string, message: string) {
    super(`Invalid routes in ${source}: ${message}`);
    this.name = "RoutesError";
  }
}

/**
 * Parses a routes document: `{"routes": [route, ...]}` where a route is
 * shaped like an APISIX route — `id`, `name`, `desc`, `uri` (exact, or
 * prefix with a trailing `*`), `methods`, `upstream` (a URL such as
 * `"http://127.0.0.1:8080"`, or APISIX's `{"scheme", "nodes": {"host:port":
 * weight}, "pass_host", "upstream_host"}`; absent → the built-in echo
 * upstream) and `plugins` holding only `ext-plugin-pre-req`,
 * `ext-plugin-post-req` and `ext-plugin-post-resp`, each `{"conf": [{"name",
 * "value"}], "allow_degradation"}` with `value` a string as in APISIX. The
 * optional `examples` field (dev gateway only) lists sample requests.
 *
 * The conf version in each PrepareConf key is a hash of the route, so an
 * edited route gets new tokens from a runner that outlives the gateway.
 *
 * @throws {RoutesError} naming the route and field that is wrong.
 * @example
 * ```ts
 * const routes = parseRoutes({
 *   routes: [{
 *     id: "1",
 *     uri: "/hi",
 *     plugins: { "ext-plugin-pre-req": { conf: [{ name: "say", value: '{"body":"hi"}' }] } },
 *   }],
 * }, "inline");
 * routes[0].plugins["ext-plugin-pre-req"]?.key; // "route#1#ext-plugin-pre-req#<hash>"
 * ```
 */
export function parseRoutes(document: unknown, source: string): Route[] {
  if (!_isObject(document) || !Array.isArray(document.routes)) {
    throw new RoutesError(source, `expected an object {"routes": [...]}`);
  }
  const ids = new Set<string>();
  return document.routes.map((value, index) => {
    const route = _parseRoute(value, index, source);
    if (ids.has(route.id)) {
      throw new RoutesError(source, `routes[${index}]: duplicate id ${JSON.stringify(route.id)}`);
    }
    ids.add(route.id);
    return route;
  });
}

/**
 * {@linkcode parseRoutes} of a JSON text, e.g. a routes file's content.
 *
 * @throws {RoutesError} when the text is not JSON or the routes are malformed.
 * @example
 * ```ts
 * parseRoutesJson('{"routes": []}', "routes.json"); // []
 * ```
 */
export function parseRoutesJson(text: string, source: string): Route[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new RoutesError(source, `not valid JSON: ${(error as Error).message}`);
  }
  return parseRoutes(document, source);
}

/**
 * Finds the route for a request like APISIX's radixtree router does for
 * these routes: an exact `uri` first, then the longest matching prefix
 * (`/p*`), skipping routes whose `methods` exclude the request's.
 *
 * @example
 * ```ts
 * matchRoute(routes, { uri: "/rewrite/x", method: "GET" })?.id;
 * ```
 */
export function matchRoute(
  routes: readonly Route[],
  request: { uri: string; method: string },
): Route | undefined {
  const { uri, method } = request;
  let best: Route | undefined;
  let bestLength = -1;
  for (const route of routes) {
    if (route.methods !== undefined && !route.methods.includes(method)) continue;
    if (!route.uri.endsWith("*")) {
      if (route.uri === uri) return route;
      continue;
    }
    const prefix = route.uri.slice(0, -1);
    if (uri.startsWith(prefix) && prefix.length > bestLength) {
      best = route;
      bestLength = prefix.length;
    }
  }
  return best;
}

function _parseRoute(value: unknown, index: number, source: string): Route {
  const where = `routes[${index}]`;
  const fail = (message: string): never => {
    throw new RoutesError(source, `${where}${message}`);
  };
  if (!_isObject(value)) return fail(` must be an object, got ${JSON.stringify(value)}`);
  const id = value.id === undefined ? String(index + 1) : value.id;
  if (typeof id !== "string" && typeof id !== "number") {
    return fail(`.id must be a string or number, got ${JSON.stringify(value.id)}`);
  }
  const uri = value.uri;
  if (typeof uri !== "string" || !uri.startsWith("/")) {
    return fail(`.uri must be a string starting with "/", got ${JSON.stringify(uri)}`);
  }
  let methods: string[] | undefined;
  if (value.methods !== undefined) {
    if (!Array.isArray(value.methods) || value.methods.some((m) => typeof m !== "string")) {
      return fail(`.methods must be an array of strings, got ${JSON.stringify(value.methods)}`);
    }
    methods = value.methods.map((m: string) => m.toUpperCase());
  }
  const version = confHash(JSON.stringify(value));
  const routeId = String(id);
  const plugins: Partial<Record<ExtPluginPhase, ExtPluginConf>> = {};
  const rawPlugins = value.plugins ?? {};
  if (!_isObject(rawPlugins)) {
    return fail(`.plugins must be an object, got ${JSON.stringify(rawPlugins)}`);
  }
  for (const [plugin, conf] of Object.entries(rawPlugins)) {
    if (!(EXT_PLUGIN_PHASES as readonly string[]).includes(plugin)) {
      return fail(
        `.plugins: the dev gateway only runs ${EXT_PLUGIN_PHASES.join(", ")}, got ${
          JSON.stringify(plugin)
        }`,
      );
    }
    plugins[plugin as ExtPluginPhase] = _parsePluginConf(conf, `${where}.plugins["${plugin}"]`, {
      source,
      key: formatPrepareConfKey({ confId: routeId, plugin, version }),
    });
  }
  return {
    id: routeId,
    name: _optionalString(value, "name", where, source),
    desc: _optionalString(value, "desc", where, source),
    uri,
    methods,
    upstream: _parseUpstream(value.upstream, `${where}.upstream`, source),
    plugins,
    examples: _parseExamples(value.examples, `${where}.examples`, source),
  };
}

function _parsePluginConf(
  value: unknown,
  where: string,
  context: { source: string; key: string },
): ExtPluginConf {
  const fail = (message: string): never => {
    throw new RoutesError(context.source, `${where}${message}`);
  };
  if (!_isObject(value)) return fail(` must be an object, got ${JSON.stringify(value)}`);
  const allow = value.allow_degradation ?? false;
  if (typeof allow !== "boolean") {
    return fail(`.allow_degradation must be a boolean, got ${JSON.stringify(allow)}`);
  }
  let conf: TextEntry[] | undefined;
  if (value.conf !== undefined) {
    if (!Array.isArray(value.conf) || value.conf.length === 0) {
      return fail(`.conf must be a non-empty array, got ${JSON.stringify(value.conf)}`);
    }
    conf = value.conf.map((entry, i) => {
      if (!_isObject(entry)) return fail(`.conf[${i}] must be an object {"name", "value"}`);
      const { name, value: text } = entry;
      if (typeof name !== "string" || name.length < 1 || name.length > 128) {
        return fail(`.conf[${i}].name must be a string of 1 to 128 characters`);
      }
      if (typeof text !== "string") {
        return fail(
          `.conf[${i}].value must be a string (APISIX passes confs as text: write the JSON as a string), got ${
            JSON.stringify(text)
          }`,
        );
      }
      return { name, value: text };
    });
  }
  return { conf, allowDegradation: allow, key: context.key };
}

function _parseUpstream(value: unknown, where: string, source: string): RouteUpstream | undefined {
  const fail = (message: string): never => {
    throw new RoutesError(source, `${where}${message}`);
  };
  if (value === undefined) return undefined;
  if (typeof value === "string") {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return fail(` is not a URL: ${JSON.stringify(value)}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return fail(` must be an http:// or https:// URL, got ${JSON.stringify(value)}`);
    }
    if ((url.pathname !== "/" && url.pathname !== "") || url.search !== "") {
      return fail(` must not have a path or query (APISIX nodes are host:port), got ${value}`);
    }
    const scheme = url.protocol === "https:" ? "https" : "http";
    return {
      scheme,
      hostname: url.hostname.replace(/^\[|\]$/g, ""),
      port: url.port === "" ? (scheme === "https" ? 443 : 80) : Number(url.port),
      passHost: "pass",
      upstreamHost: undefined,
    };
  }
  if (!_isObject(value)) return fail(` must be a URL or an object, got ${JSON.stringify(value)}`);
  const scheme = value.scheme ?? "http";
  if (scheme !== "http" && scheme !== "https") {
    return fail(`.scheme must be "http" or "https", got ${JSON.stringify(scheme)}`);
  }
  const node = _firstNode(value.nodes);
  if (node === undefined) {
    return fail(
      `.nodes must be {"host:port": weight} or [{"host", "port"}] with at least one node`,
    );
  }
  const passHost = value.pass_host ?? "pass";
  if (passHost !== "pass" && passHost !== "node" && passHost !== "rewrite") {
    return fail(`.pass_host must be "pass", "node" or "rewrite", got ${JSON.stringify(passHost)}`);
  }
  const upstreamHost = value.upstream_host;
  if (passHost === "rewrite" && typeof upstreamHost !== "string") {
    return fail(`.upstream_host must be a string when pass_host is "rewrite"`);
  }
  return {
    scheme,
    hostname: node.host,
    port: node.port ?? (scheme === "https" ? 443 : 80),
    passHost,
    upstreamHost: typeof upstreamHost === "string" ? upstreamHost : undefined,
  };
}

function _firstNode(nodes: unknown): { host: string; port: number | undefined } | undefined {
  if (Array.isArray(nodes)) {
    const node = nodes[0];
    if (!_isObject(node) || typeof node.host !== "string") return undefined;
    return { host: node.host, port: typeof node.port === "number" ? node.port : undefined };
  }
  if (!_isObject(nodes)) return undefined;
  const first = Object.keys(nodes)[0];
  if (first === undefined) return undefined;
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(first);
  if (match === null) return undefined;
  return {
    host: match[1]!.replace(/^\[|\]$/g, ""),
    port: match[2] === undefined ? undefined : Number(match[2]),
  };
}

function _parseExamples(value: unknown, where: string, source: string): RouteExample[] {
  const fail = (message: string): never => {
    throw new RoutesError(source, `${where}${message}`);
  };
  if (value === undefined) return [];
  if (!Array.isArray(value)) return fail(` must be an array`);
  return value.map((example, i) => {
    if (!_isObject(example)) return fail(`[${i}] must be an object`);
    const { method, path, headers = {}, body, shows = "" } = example;
    if (typeof path !== "string" || !path.startsWith("/")) {
      return fail(`[${i}].path must be a string starting with "/"`);
    }
    if (method !== undefined && typeof method !== "string") {
      return fail(`[${i}].method must be a string`);
    }
    if (body !== undefined && typeof body !== "string") return fail(`[${i}].body must be a string`);
    if (typeof shows !== "string") return fail(`[${i}].shows must be a string`);
    if (!_isObject(headers) || Object.values(headers).some((v) => typeof v !== "string")) {
      return fail(`[${i}].headers must be an object of strings`);
    }
    return {
      method,
      path,
      headers: headers as Record<string, string>,
      body,
      shows,
    };
  });
}

function _optionalString(
  value: Record<string, unknown>,
  field: string,
  where: string,
  source: string,
): string | undefined {
  const text = value[field];
  if (text === undefined) return undefined;
  if (typeof text !== "string") {
    throw new RoutesError(
      source,
      `${where}.${field} must be a string, got ${JSON.stringify(text)}`,
    );
  }
  return text;
}

function _isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
