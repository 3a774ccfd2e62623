// RequestView: the lazy, change-tracking PluginRequest of an HttpReqCall that request filters receive.

import {
  type HttpReqCallRequest,
  type Method,
  METHODS,
  type RewriteAction,
  type TextEntry,
} from "../protocol/types.ts";
import { textEntryHasValue, textEntryLowerName } from "../protocol/lazy_text_entries.ts";
import { RequestArgs } from "./args.ts";
import { CallViewBase } from "./call_view.ts";
import { HeaderMap } from "./headers.ts";
import { formatIp } from "./ip.ts";
import type { CallContext, PluginRequest } from "./types.ts";

const ENCODER = new TextEncoder();

/**
 * The {@linkcode PluginRequest} of one HttpReqCall. Headers come from the
 * request's `lazyHeaders` when the decoder offers them (values decoded on
 * first read), else from `headers`.
 *
 * @example
 * ```ts
 * import { definePlugin } from "../../mod.ts";
 * export const tag = definePlugin({
 *   name: "tag",
 *   parseConf: () => ({}),
 *   async requestFilter(req) {
 *     const route = await req.var("route_id");
 *     if (route !== undefined) req.headers.set("x-route", route);
 *   },
 * });
 * ```
 */
export class RequestView extends CallViewBase implements PluginRequest {
  #raw: HttpReqCallRequest;
  #path: string | undefined;
  #pathSet = false;
  #headers: HeaderMap | undefined;
  #args: RequestArgs | undefined;
  #respHeaders: HeaderMap | undefined;
  #newBody: Uint8Array | undefined;

  /** Wraps a decoded HttpReqCall; the phase runner builds one per call. */
  constructor(raw: HttpReqCallRequest, call: CallContext) {
    super(call, "reqBody");
    this.#raw = raw;
  }

  /** The call id APISIX gave this request (for logs). */
  get id(): number {
    return this.#raw.id;
  }

  /** Client address as text (IPv4 dotted, IPv6 RFC 5952), `undefined` when absent. */
  get srcIp(): string | undefined {
    const bytes = this.#raw.srcIp;
    return bytes === undefined ? undefined : formatIp(bytes);
  }

  /** Request method, e.g. `"GET"`. */
  get method(): Method {
    return METHODS[this.#raw.method] ?? "GET";
  }

  /** Path (decoded, never a query string); setting it rewrites the upstream path. */
  get path(): string {
    return this.#pathSet ? this.#path! : this.#raw.path ?? "";
  }

  set path(value: string) {
    this.#path = value;
    this.#pathSet = true;
  }

  /** Request headers (lower-case names from APISIX; lookups are case-insensitive). */
  get headers(): HeaderMap {
    return this.#headers ??= HeaderMap.fromEntries(this.#raw.lazyHeaders ?? this.#raw.headers);
  }

  /** Query args; `null` values are valueless (`?flag`). */
  get args(): RequestArgs {
    return this.#args ??= RequestArgs.fromEntries(this.#raw.args);
  }

  /** Headers to add to the client response while still proxying (Rewrite `resp_headers`). */
  get respHeaders(): HeaderMap {
    return this.#respHeaders ??= new HeaderMap();
  }

  /** Replaces the body sent upstream. An empty body is no change (APISIX ignores it). */
  setBody(body: string | Uint8Array): void {
    this.#newBody = typeof body === "string" ? ENCODER.encode(body) : body;
  }

  /** The Rewrite the changes made so far amount to, or `undefined` when nothing changed. */
  toRewrite(): RewriteAction | undefined {
    const path = this.#pathSet && this.#path !== this.#raw.path ? this.#path : undefined;
    const headers = this.#headers?.touched
      ? _headerChanges(this.#raw.lazyHeaders ?? this.#raw.headers, this.#headers)
      : undefined;
    const args = this.#args?.toRewriteEntries();
    const respHeaders = this.#respHeaders !== undefined && this.#respHeaders.size > 0
      ? this.#respHeaders.toTextEntries()
      : undefined;
    const body = this.#newBody !== undefined && this.#newBody.length > 0
      ? this.#newBody
      : undefined;
    if (
      path === undefined && headers === undefined && args === undefined &&
      respHeaders === undefined && body === undefined
    ) return undefined;
    return { type: "rewrite", path, headers, args, respHeaders, body };
  }
}

function _headerChanges(original: readonly TextEntry[], now: HeaderMap): TextEntry[] | undefined {
  // Only names a mutator saw can differ; list them the way APISIX would see them change:
  // names of the original request first (in its order), then new ones (in their order).
  const changed = now.changedNames();
  // Lower-case names of the original entries that have a value (undefined for the others).
  const lowers: (string | undefined)[] = new Array(original.length);
  for (let i = 0; i < original.length; i++) {
    const entry = original[i]!;
    lowers[i] = textEntryHasValue(entry) ? textEntryLowerName(entry) : undefined;
  }
  let ordered: readonly string[] = changed;
  if (changed.length > 1) {
    let later: string[] | undefined;
    const ranks = changed.map((name) => {
      const i = lowers.indexOf(name);
      return i >= 0 ? i : original.length + (later ??= now.names()).indexOf(name);
    });
    ordered = _sortByRank(changed, ranks);
  }
  let result: TextEntry[] | undefined;
  for (const name of ordered) {
    const before = _valuesOf(original, lowers, name);
    const after = now.getAll(name);
    if (before.length === after.length && before.every((v, i) => v === after[i])) continue;
    result ??= [];
    result.push(after.length === 0 ? { name } : { name, value: after.join(", ") });
  }
  return result;
}

/** `names` sorted by `ranks` (same indexes), stably: a copy, `names` is not changed. */
function _sortByRank(names: readonly string[], ranks: readonly number[]): string[] {
  const n = names.length;
  if (n > 16) {
    const order = names.map((_, i) => i).sort((a, b) => ranks[a]! - ranks[b]!);
    return order.map((i) => names[i]!);
  }
  const sorted = names.slice();
  const keys = ranks.slice();
  for (let i = 1; i < n; i++) {
    const name = sorted[i]!;
    const key = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > key) {
      sorted[j + 1] = sorted[j]!;
      keys[j + 1] = keys[j]!;
      j--;
    }
    sorted[j + 1] = name;
    keys[j + 1] = key;
  }
  return sorted;
}

/** The values of the entries whose lower-case name (in `lowers`) is `lower`, in order. */
function _valuesOf(
  entries: readonly TextEntry[],
  lowers: readonly (string | undefined)[],
  lower: string,
): string[] {
  const values: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    if (lowers[i] === lower) values.push(entries[i]!.value!);
  }
  return values;
}
