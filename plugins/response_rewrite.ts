// Bundled plugin "response-rewrite": changes the upstream response's status, headers and body.

import { definePlugin } from "../src/plugin/define_plugin.ts";
import type { Plugin } from "../src/plugin/types.ts";
import {
  type ConfObject,
  optionalNumber,
  optionalString,
  optionalStringMap,
  parseConfObject,
} from "./_conf.ts";

/** One body filter of `response-rewrite`. */
export interface ResponseRewriteFilter {
  /** Compiled from the conf's `regex`. */
  readonly regex: RegExp;
  /** `once`: first match only; `global`: every match. */
  readonly scope: "once" | "global";
  /** Literal replacement text (no `$1` expansion). */
  readonly replace: string;
}

/** Parsed conf of {@linkcode responseRewrite}. */
export interface ResponseRewriteConf {
  /** Client status; `undefined` keeps the upstream one. */
  readonly status: number | undefined;
  /** Response headers to set. */
  readonly headers: Readonly<Record<string, string>>;
  /** Replacement body; empty keeps the upstream one (or the filtered one). */
  readonly body: string;
  /** Regex replacements on the upstream body, in order. */
  readonly filters: readonly ResponseRewriteFilter[];
}

/**
 * `response-rewrite` — conf `{"status", "headers": {name: value}, "body",
 * "filters": [{"regex", "scope": "once"|"global", "replace"}]}`. `status`
 * really sets the client status; `headers` are set on the upstream set, and
 * the full set is returned (docs/PROTOCOL.md §3.4). With `filters`, the upstream
 * body (read once through RespBody, UTF-8) is rewritten and `body` is ignored;
 * when no filter matches, the upstream body is kept.
 *
 * @example
 * ```ts
 * import { runResponsePlugin } from "../testing.ts";
 * import { responseRewrite } from "./response_rewrite.ts";
 * const result = await runResponsePlugin(responseRewrite, {
 *   conf: { filters: [{ regex: "world", scope: "once", replace: "there" }] },
 *   response: { body: "hello world" },
 * });
 * result.bodyText; // "hello there"
 * ```
 */
export const responseRewrite: Plugin<ResponseRewriteConf> = definePlugin<ResponseRewriteConf>({
  name: "response-rewrite",
  parseConf(raw) {
    const conf = parseConfObject(raw);
    const status = optionalNumber(conf, "status");
    if (status !== undefined && (!Number.isInteger(status) || status < 100 || status > 599)) {
      throw new Error(`"status" must be an integer from 100 to 599, got ${status}`);
    }
    const filtersValue = conf.filters ?? [];
    if (!Array.isArray(filtersValue)) {
      throw new Error(`"filters" must be an array, got ${JSON.stringify(filtersValue)}`);
    }
    return {
      status,
      headers: optionalStringMap(conf, "headers"),
      body: optionalString(conf, "body", ""),
      filters: filtersValue.map(_parseFilter),
    };
  },
  async responseFilter(res, conf) {
    if (conf.status !== undefined) res.status = conf.status;
    for (const [name, value] of Object.entries(conf.headers)) res.headers.set(name, value);
    if (conf.filters.length > 0) {
      const original = await res.text();
      let body = original;
      for (const filter of conf.filters) body = body.replace(filter.regex, () => filter.replace);
      if (body !== original) res.setBody(body);
    } else if (conf.body !== "") {
      res.setBody(conf.body);
    }
  },
});

function _parseFilter(value: unknown, index: number): ResponseRewriteFilter {
  const where = `"filters[${index}]"`;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${where} must be an object, got ${JSON.stringify(value)}`);
  }
  const filter = value as ConfObject;
  const source = optionalString(filter, "regex", "");
  if (source === "") throw new Error(`${where}.regex must be a non-empty string`);
  const scope = optionalString(filter, "scope", "once");
  if (scope !== "once" && scope !== "global") {
    throw new Error(`${where}.scope must be "once" or "global", got ${JSON.stringify(scope)}`);
  }
  let regex: RegExp;
  try {
    regex = new RegExp(source, scope === "global" ? "g" : "");
  } catch (error) {
    throw new Error(
      `${where}.regex ${JSON.stringify(source)} does not compile: ${(error as Error).message}`,
    );
  }
  return { regex, scope, replace: optionalString(filter, "replace", "") };
}
