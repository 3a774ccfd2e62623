// Header rules of APISIX's ext-plugin: request header rewrites and the response header tables.

import type { TextEntry } from "../../protocol/types.ts";
import type { HttpHeader } from "../http/http_types.ts";

/**
 * Response headers APISIX silently drops from Rewrite `resp_headers` and does
 * not copy from the upstream in post-resp when the runner returns no header
 * (docs/PROTOCOL.md §3.2, §3.4).
 */
export const IGNORED_RESPONSE_HEADERS: ReadonlySet<string> = new Set([
  "connection",
  "content-length",
  "transfer-encoding",
  "location",
  "server",
  "www-authenticate",
  "content-encoding",
  "content-type",
  "content-location",
  "content-language",
]);

/**
 * Upstream response headers nginx does not pass on when proxying: hop-by-hop
 * headers, plus `server` and `x-pad` (`proxy_hide_header` defaults; APISIX
 * passes `date`). `content-length` is recomputed for the body actually sent.
 */
export const HIDDEN_UPSTREAM_HEADERS: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "content-length",
  "server",
  "x-pad",
]);

/**
 * Request header lines as HTTPReqCall `headers`: names lower-cased, one entry
 * per line, order kept.
 *
 * @example
 * ```ts
 * lowerCaseHeaders([{ name: "X-A", value: "1" }]); // [{ name: "x-a", value: "1" }]
 * ```
 */
export function lowerCaseHeaders(lines: readonly HttpHeader[]): HttpHeader[] {
  return lines.map(({ name, value }) => ({ name: name.toLowerCase(), value }));
}

/** Result of {@linkcode applyRequestHeaderRewrite}. */
export interface RequestHeaderRewrite {
  /** The request headers after the rewrite (lower-case names). */
  readonly headers: HttpHeader[];
  /** The new upstream host when an entry named `host` had a value. */
  readonly upstreamHost: string | undefined;
}

/**
 * Applies Rewrite `headers` as APISIX does (`core.request.set_header`): each
 * entry replaces every line of that name (names compared case-insensitively),
 * an entry without value (or, as OpenResty treats it, with an empty value)
 * deletes the header, duplicates in the list → the last wins. An entry named
 * `host` also becomes the upstream host.
 *
 * @example
 * ```ts
 * applyRequestHeaderRewrite([{ name: "a", value: "1" }], [{ name: "A", value: "2" }, { name: "host", value: "h" }]);
 * // { headers: [{name:"a",value:"2"}, {name:"host",value:"h"}], upstreamHost: "h" }
 * ```
 */
export function applyRequestHeaderRewrite(
  headers: readonly HttpHeader[],
  rewrite: readonly TextEntry[],
): RequestHeaderRewrite {
  let result = headers.slice();
  let upstreamHost: string | undefined;
  for (const { name, value } of rewrite) {
    const lower = name.toLowerCase();
    const index = result.findIndex((header) => header.name === lower);
    result = result.filter((header) => header.name !== lower);
    if (value !== undefined && value !== "") {
      // Keep the header where it was, as nginx replaces the first line in place.
      result.splice(index === -1 ? result.length : index, 0, { name: lower, value });
    }
    if (lower === "host" && value !== undefined) upstreamHost = value;
  }
  return { headers: result, upstreamHost };
}

/**
 * Applies a runner's header list to response headers with the rule APISIX
 * uses for Stop, Rewrite `resp_headers` and the post-resp reply: within this
 * list the first entry of a name sets (replaces earlier lines of that name),
 * later entries of the same name append; an entry without value deletes.
 * Names are lower-cased. `options.ignore` names are skipped (`resp_headers` only).
 *
 * @example
 * ```ts
 * const out = [{ name: "x-a", value: "old" }];
 * applyResponseHeaders(out, [{ name: "X-A", value: "1" }, { name: "x-a", value: "2" }]);
 * // out: [{name:"x-a",value:"1"}, {name:"x-a",value:"2"}]
 * ```
 */
export function applyResponseHeaders(
  target: HttpHeader[],
  entries: readonly TextEntry[],
  options: { ignore?: ReadonlySet<string> } = {},
): void {
  const ignore = options.ignore;
  const seen = new Set<string>();
  for (const { name, value } of entries) {
    const lower = name.toLowerCase();
    if (ignore?.has(lower)) continue;
    if (!seen.has(lower)) {
      seen.add(lower);
      _removeAll(target, lower);
    }
    if (value !== undefined) target.push({ name: lower, value });
  }
}

/**
 * Upstream headers minus `drop` (matched case-insensitively), in order and
 * with their original case.
 *
 * @example
 * ```ts
 * withoutHeaders([{ name: "Content-Type", value: "a" }, { name: "X", value: "1" }], IGNORED_RESPONSE_HEADERS);
 * // [{ name: "X", value: "1" }]
 * ```
 */
export function withoutHeaders(
  headers: readonly HttpHeader[],
  drop: ReadonlySet<string>,
): HttpHeader[] {
  return headers.filter(({ name }) => !drop.has(name.toLowerCase()));
}

/**
 * Puts `extra` on top of `base`: every name present in `extra` replaces all
 * lines of that name in `base` (case-insensitive); the rest of `base` stays.
 *
 * @example
 * ```ts
 * overlayHeaders([{ name: "X", value: "1" }, { name: "Y", value: "2" }], [{ name: "x", value: "3" }]);
 * // [{ name: "Y", value: "2" }, { name: "x", value: "3" }]
 * ```
 */
export function overlayHeaders(
  base: readonly HttpHeader[],
  extra: readonly HttpHeader[],
): HttpHeader[] {
  if (extra.length === 0) return base.slice();
  const names = new Set(extra.map(({ name }) => name.toLowerCase()));
  return [...base.filter(({ name }) => !names.has(name.toLowerCase())), ...extra];
}

/** First value of a header (case-insensitive name), `undefined` when absent. */
export function headerValue(headers: readonly HttpHeader[], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const header of headers) if (header.name.toLowerCase() === lower) return header.value;
  return undefined;
}

function _removeAll(target: HttpHeader[], lower: string): void {
  let write = 0;
  for (let read = 0; read < target.length; read++) {
    const header = target[read]!;
    if (header.name.toLowerCase() !== lower) target[write++] = header;
  }
  target.length = write;
}
