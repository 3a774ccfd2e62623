// The text the `dev` command prints once listening: where things run, the routes, curls to try.

import { EXT_PLUGIN_PHASES, type Route, type RouteExample } from "./routes.ts";

/** Options of {@linkcode renderBanner}. */
export interface BannerOptions {
  /** Base URL of the gateway, e.g. `http://127.0.0.1:9080`. */
  readonly gatewayUrl: string;
  /** Base URL of the built-in echo upstream. */
  readonly echoUrl: string;
  /** One line saying which runner the gateway talks to. */
  readonly runner: string;
  readonly routes: readonly Route[];
}

/**
 * Renders the banner: addresses, one line per route with its runner plugins
 * per phase, and a curl line per route example followed by what it shows.
 *
 * @example
 * ```ts
 * console.log(renderBanner({ gatewayUrl: "http://127.0.0.1:9080", echoUrl, runner, routes }));
 * ```
 */
export function renderBanner(options: BannerOptions): string {
  const lines = [
    `APISIX dev gateway listening on ${options.gatewayUrl} (echo upstream: ${options.echoUrl})`,
    `Runner: ${options.runner}`,
    "",
    "Routes:",
  ];
  const width = Math.max(0, ...options.routes.map((route) => route.uri.length));
  for (const route of options.routes) {
    const phases = EXT_PLUGIN_PHASES.flatMap((phase) => {
      const conf = route.plugins[phase];
      if (conf === undefined) return [];
      const names = conf.conf?.map((entry) => entry.name).join(", ") ?? "(no conf)";
      const degrade = conf.allowDegradation ? ", allow_degradation" : "";
      return [`${phase.slice("ext-plugin-".length)}: ${names}${degrade}`];
    });
    const upstream = route.upstream === undefined
      ? "echo"
      : `${route.upstream.scheme}://${route.upstream.hostname}:${route.upstream.port}`;
    lines.push(
      `  ${route.uri.padEnd(width)}  ${phases.join("; ") || "(no ext-plugin)"} -> ${upstream}`,
    );
  }
  const examples = options.routes.flatMap((route) => route.examples);
  if (examples.length > 0) {
    lines.push("", "Try:");
    for (const example of examples) {
      lines.push(`  ${curlCommand(options.gatewayUrl, example)}`);
      if (example.shows !== "") lines.push(`    # ${example.shows}`);
    }
  }
  lines.push("", "Ctrl-C stops the gateway and the runner.");
  return lines.join("\n");
}

/**
 * A ready-to-paste curl command for a route example (`-i` to show headers;
 * `-X` only when curl would not infer the method; arguments shell-quoted).
 *
 * @example
 * ```ts
 * curlCommand("http://127.0.0.1:9080", { method: undefined, path: "/vars?name=ts", headers: {}, body: undefined, shows: "" });
 * // "curl -i 'http://127.0.0.1:9080/vars?name=ts'"
 * ```
 */
export function curlCommand(baseUrl: string, example: RouteExample): string {
  const parts = ["curl", "-i"];
  const inferred = example.body === undefined ? "GET" : "POST";
  if (example.method !== undefined && example.method.toUpperCase() !== inferred) {
    parts.push("-X", example.method.toUpperCase());
  }
  for (const [name, value] of Object.entries(example.headers)) {
    parts.push("-H", shellQuote(`${name}: ${value}`));
  }
  if (example.body !== undefined) parts.push("-d", shellQuote(example.body));
  parts.push(shellQuote(baseUrl + example.path));
  return parts.join(" ");
}

/**
 * Quotes `text` for a POSIX shell: as is when it only has safe characters,
 * else in single quotes (a `'` inside becomes `'\''`).
 *
 * @example
 * ```ts
 * shellQuote("a b"); // "'a b'"
 * shellQuote("it's"); // "'it'\\''s'"
 * ```
 */
export function shellQuote(text: string): string {
  if (/^[A-Za-z0-9_\-.,:/=@%+]+$/.test(text)) return text;
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
