// Bundled plugin "request-body-rewrite": replaces the request body sent upstream.

import { definePlugin } from "../src/plugin/define_plugin.ts";
import type { Plugin } from "../src/plugin/types.ts";
import { optionalString, parseConfObject } from "./_conf.ts";

/** Parsed conf of {@linkcode requestBodyRewrite}. */
export interface RequestBodyRewriteConf {
  /** UTF-8 encoded once per PrepareConf. */
  readonly newBody: Uint8Array;
}

const ENCODER = new TextEncoder();

/**
 * `request-body-rewrite` — conf `{"new_body": "..."}` (non-empty): the
 * request goes upstream with that body (Rewrite `body`).
 *
 * @example
 * ```ts
 * import { runRequestPlugin } from "../testing.ts";
 * import { requestBodyRewrite } from "./request_body_rewrite.ts";
 * (await runRequestPlugin(requestBodyRewrite, { conf: { new_body: "x" } })).bodyText; // "x"
 * ```
 */
export const requestBodyRewrite: Plugin<RequestBodyRewriteConf> = definePlugin<
  RequestBodyRewriteConf
>({
  name: "request-body-rewrite",
  parseConf(raw) {
    const newBody = optionalString(parseConfObject(raw), "new_body", "");
    if (newBody === "") throw new Error(`"new_body" must be a non-empty string`);
    return { newBody: ENCODER.encode(newBody) };
  },
  requestFilter(req, conf) {
    req.setBody(conf.newBody);
  },
});
