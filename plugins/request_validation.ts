// Bundled plugin "request-validation": rejects requests whose JSON body lacks required fields.

import { definePlugin } from "../src/plugin/define_plugin.ts";
import type { Plugin } from "../src/plugin/types.ts";
import { stop } from "../src/plugin/stop.ts";
import type { StopAction } from "../src/protocol/types.ts";
import { optionalStringArray, parseConfObject } from "./_conf.ts";

/** Parsed conf of {@linkcode requestValidation}. */
export interface RequestValidationConf {
  /** Top-level fields the JSON body must have. */
  readonly required: readonly string[];
}

const JSON_HEADERS = { "content-type": "application/json" };
const NOT_JSON: StopAction = stop(400, {
  body: JSON.stringify({ error: "request body must be a JSON object" }),
  headers: JSON_HEADERS,
});

/**
 * `request-validation` — conf `{"required": [field]}`: reads the request body
 * (ExtraInfo ReqBody) as JSON. A missing body, one that is not a JSON object,
 * or one without a required field gets a 400 stop with a JSON error body
 * (`{"error": "...", "field": "..."}` naming the first missing field); a valid
 * body passes unchanged (no action).
 *
 * @example
 * ```ts
 * import { runRequestPlugin } from "../testing.ts";
 * import { requestValidation } from "./request_validation.ts";
 * const { stop } = await runRequestPlugin(requestValidation, {
 *   conf: { required: ["name"] },
 *   request: { method: "POST", body: "{}" },
 * });
 * stop?.status; // 400
 * ```
 */
export const requestValidation: Plugin<RequestValidationConf> = definePlugin<RequestValidationConf>(
  {
    name: "request-validation",
    parseConf(raw) {
      return { required: optionalStringArray(parseConfObject(raw), "required") };
    },
    async requestFilter(req, conf) {
      let body: unknown;
      try {
        body = await req.json();
      } catch (error) {
        if (error instanceof SyntaxError) return NOT_JSON;
        throw error;
      }
      if (typeof body !== "object" || body === null || Array.isArray(body)) return NOT_JSON;
      for (const field of conf.required) {
        if (!Object.hasOwn(body, field)) {
          return stop(400, {
            body: JSON.stringify({ error: `missing required field "${field}"`, field }),
            headers: JSON_HEADERS,
          });
        }
      }
      return undefined;
    },
  },
);
