// Bundled plugin "forward-vars": copies APISIX variables into request headers.

import { definePlugin } from "../src/plugin/define_plugin.ts";
import type { Plugin } from "../src/plugin/types.ts";
import { optionalString, optionalStringArray, parseConfObject } from "./_conf.ts";

/** Parsed conf of {@linkcode forwardVars}. */
export interface ForwardVarsConf {
  /** Variable names to ask APISIX for. */
  readonly vars: readonly string[];
  /** Header name = prefix + var name; default `"x-var-"`. */
  readonly prefix: string;
}

/**
 * `forward-vars` — conf `{"vars": [name], "prefix": "..."}`: asks APISIX for
 * each var (ExtraInfo Var) and sets request header `prefix + name` to its
 * value; unknown vars are skipped. The questions are issued together and the
 * runner serialises them on the connection.
 *
 * @example
 * ```ts
 * import { runRequestPlugin } from "../testing.ts";
 * import { forwardVars } from "./forward_vars.ts";
 * const { rewrite } = await runRequestPlugin(forwardVars, {
 *   conf: { vars: ["route_id"], prefix: "x-" },
 *   request: { vars: { route_id: "r1" } },
 * });
 * rewrite?.headers; // [{ name: "x-route_id", value: "r1" }]
 * ```
 */
export const forwardVars: Plugin<ForwardVarsConf> = definePlugin<ForwardVarsConf>({
  name: "forward-vars",
  parseConf(raw) {
    const conf = parseConfObject(raw);
    const vars = optionalStringArray(conf, "vars");
    if (vars.length === 0) throw new Error(`"vars" must list at least one variable name`);
    const prefix = optionalString(conf, "prefix", "x-var-");
    const bad = vars.find((name) => !/^[A-Za-z0-9_-]+$/.test(prefix + name));
    if (bad !== undefined) {
      throw new Error(
        `"prefix" + "vars" entry ${JSON.stringify(prefix + bad)} is not a valid header name`,
      );
    }
    return { vars, prefix };
  },
  async requestFilter(req, conf) {
    const values = await Promise.all(conf.vars.map((name) => req.var(name)));
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (value !== undefined) req.headers.set(conf.prefix + conf.vars[i], value);
    }
  },
});
