// Bundled plugin "fault-injection": stops a percentage of requests with a fixed status and body.

import { definePlugin } from "../src/plugin/define_plugin.ts";
import { stop } from "../src/plugin/stop.ts";
import type { Plugin } from "../src/plugin/types.ts";
import type { StopAction } from "../src/protocol/types.ts";
import { optionalNumber, optionalString, parseConfObject } from "./_conf.ts";

/** Parsed conf of `fault-injection`. */
export interface FaultInjectionConf {
  /** Percentage of requests stopped, 0–100. */
  readonly percentage: number;
  /** The prebuilt stop. */
  readonly response: StopAction;
}

/** Options of {@linkcode createFaultInjection}. */
export interface FaultInjectionOptions {
  /** Returns a number in [0, 1); default `Math.random`. Inject one in tests. */
  readonly random?: () => number;
}

/**
 * Builds the `fault-injection` plugin — conf `{"http_status": ≥200, "body":
 * "...", "percentage": 0–100 (default 100)}` — with an injectable random source.
 *
 * @example
 * ```ts
 * import { createFaultInjection } from "./fault_injection.ts";
 * const always = createFaultInjection({ random: () => 0 });
 * ```
 */
export function createFaultInjection(
  options: FaultInjectionOptions = {},
): Plugin<FaultInjectionConf> {
  const random = options.random ?? Math.random;
  return definePlugin<FaultInjectionConf>({
    name: "fault-injection",
    parseConf(raw) {
      const conf = parseConfObject(raw);
      const status = optionalNumber(conf, "http_status");
      if (status === undefined || !Number.isInteger(status) || status < 200 || status > 599) {
        throw new Error(
          `"http_status" must be an integer from 200 to 599, got ${
            JSON.stringify(conf.http_status)
          }`,
        );
      }
      const percentage = optionalNumber(conf, "percentage") ?? 100;
      if (percentage < 0 || percentage > 100) {
        throw new Error(`"percentage" must be from 0 to 100, got ${percentage}`);
      }
      const body = optionalString(conf, "body", "");
      return { percentage, response: stop(status, { body }) };
    },
    requestFilter(_req, conf) {
      return random() * 100 < conf.percentage ? conf.response : undefined;
    },
  });
}

/**
 * The bundled `fault-injection` plugin (real randomness).
 *
 * @example
 * ```ts
 * import { faultInjection } from "./fault_injection.ts";
 * faultInjection.name; // "fault-injection"
 * ```
 */
export const faultInjection: Plugin<FaultInjectionConf> = createFaultInjection();
