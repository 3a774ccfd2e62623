// Bundled plugin "say": answers the request itself with a fixed body.

import { definePlugin } from "../src/plugin/define_plugin.ts";
import type { Plugin } from "../src/plugin/types.ts";
import { stop } from "../src/plugin/stop.ts";
import type { StopAction } from "../src/protocol/types.ts";
import { optionalString, parseConfObject } from "./_conf.ts";

/** Parsed conf of {@linkcode say}: the prebuilt stop, or `undefined` to pass. */
export interface SayConf {
  /** Built once per PrepareConf and returned as is on every call. */
  readonly response: StopAction | undefined;
}

/**
 * `say` — conf `{"body": "..."}`: stops with 200, that body and an
 * `X-Resp-A6-Runner` header; an empty or missing body lets the request pass.
 * The stop is built once in `parseConf` with `stop()` (no per-call work).
 *
 * @example
 * ```ts
 * import { runRequestPlugin } from "../testing.ts";
 * import { say } from "./say.ts";
 * (await runRequestPlugin(say, { conf: { body: "hello" } })).bodyText; // "hello"
 * ```
 */
export const say: Plugin<SayConf> = definePlugin<SayConf>({
  name: "say",
  parseConf(raw) {
    const body = optionalString(parseConfObject(raw), "body", "");
    return {
      response: body === ""
        ? undefined
        : stop(200, { body, headers: { "X-Resp-A6-Runner": "TypeScript" } }),
    };
  },
  requestFilter(_req, conf) {
    return conf.response;
  },
});
