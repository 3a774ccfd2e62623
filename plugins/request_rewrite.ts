// Bundled plugin "request-rewrite": edits path, headers, args and client response headers in one Rewrite.

import { definePlugin } from "../src/plugin/define_plugin.ts";
import type { Plugin } from "../src/plugin/types.ts";
import {
  optionalObject,
  optionalString,
  optionalStringArray,
  optionalStringMap,
  parseConfObject,
} from "./_conf.ts";

/** A set of names to set and names to remove. */
export interface SetRemove {
  /** Names to set, with their values. */
  readonly set: Readonly<Record<string, string>>;
  /** Names to remove. */
  readonly remove: readonly string[];
}

/** Parsed conf of {@linkcode requestRewrite}. */
export interface RequestRewriteConf {
  /** New upstream path; `undefined` keeps it. */
  readonly path: string | undefined;
  /** Request headers to set and remove. */
  readonly headers: SetRemove;
  /** Query args to set and remove. */
  readonly args: SetRemove;
  /** Headers added to the client response. */
  readonly respHeaders: Readonly<Record<string, string>>;
}

/**
 * `request-rewrite` — conf `{"path", "headers": {"set": {}, "remove": []},
 * "args": {"set": {}, "remove": []}, "resp_headers": {"set": {}}}`: one
 * Rewrite with exactly those changes (removals are entries without value;
 * a removal of something absent and a set to the current value are no
 * change).
 *
 * @example
 * ```ts
 * import { runRequestPlugin } from "../testing.ts";
 * import { requestRewrite } from "./request_rewrite.ts";
 * const { rewrite } = await runRequestPlugin(requestRewrite, { conf: { path: "/v2" } });
 * rewrite?.path; // "/v2"
 * ```
 */
export const requestRewrite: Plugin<RequestRewriteConf> = definePlugin<RequestRewriteConf>({
  name: "request-rewrite",
  parseConf(raw) {
    const conf = parseConfObject(raw);
    const path = conf.path === undefined ? undefined : optionalString(conf, "path", "");
    if (path !== undefined && !path.startsWith("/")) {
      throw new Error(`"path" must start with "/", got ${JSON.stringify(path)}`);
    }
    const respHeaders = optionalObject(conf, "resp_headers");
    return {
      path,
      headers: _setRemove(conf, "headers"),
      args: _setRemove(conf, "args"),
      respHeaders: _prefixed("resp_headers", () => optionalStringMap(respHeaders, "set")),
    };
  },
  requestFilter(req, conf) {
    if (conf.path !== undefined) req.path = conf.path;
    for (const name of conf.headers.remove) if (req.headers.has(name)) req.headers.delete(name);
    // for-in, not Object.entries(): same order (the confs are plain JSON objects), no arrays per call.
    const headers = conf.headers.set;
    for (const name in headers) req.headers.set(name, headers[name]!);
    for (const name of conf.args.remove) if (req.args.has(name)) req.args.delete(name);
    const args = conf.args.set;
    for (const name in args) req.args.set(name, args[name]!);
    const respHeaders = conf.respHeaders;
    for (const name in respHeaders) req.respHeaders.set(name, respHeaders[name]!);
  },
});

function _setRemove(conf: Record<string, unknown>, field: string): SetRemove {
  const part = optionalObject(conf, field);
  return _prefixed(field, () => ({
    set: optionalStringMap(part, "set"),
    remove: optionalStringArray(part, "remove"),
  }));
}

function _prefixed<T>(field: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw new Error(`"${field}".${(error as Error).message}`);
  }
}
