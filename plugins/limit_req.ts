// Bundled plugin "limit-req": rate limiting per route conf with a bucket, 503 past the burst.

import { definePlugin } from "../src/plugin/define_plugin.ts";
import { stop } from "../src/plugin/stop.ts";
import type { Plugin } from "../src/plugin/types.ts";
import { optionalNumber, parseConfObject } from "./_conf.ts";

const REJECTED = stop(503);

/**
 * A bucket of `burst` tokens refilled at `rate` tokens per second; each
 * request takes one (same model as Go's `rate.Limiter` used by the Go runner).
 */
export class RequestBucket {
  #rate: number;
  #burst: number;
  #tokens: number;
  #last: number;
  #now: () => number;

  /** A full bucket; `now` returns milliseconds. */
  constructor(rate: number, burst: number, now: () => number) {
    this.#rate = rate;
    this.#burst = burst;
    this.#tokens = burst;
    this.#now = now;
    this.#last = now();
  }

  /** Takes a token if one is available. */
  take(): boolean {
    const now = this.#now();
    const elapsed = Math.max(0, now - this.#last) / 1000;
    this.#last = now;
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#rate);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/**
 * Parsed conf of `limit-req`. The bucket lives in the conf, so each
 * PrepareConf (each route and version) has its own state.
 */
export interface LimitReqConf {
  /** Requests per second allowed in the long run. */
  readonly rate: number;
  /** Requests allowed at once. */
  readonly burst: number;
  /** The state of this conf's limiter. */
  readonly bucket: RequestBucket;
}

/** Options of {@linkcode createLimitReq}. */
export interface LimitReqOptions {
  /** Monotonic clock in milliseconds; default `performance.now`. Inject a fake one in tests. */
  readonly now?: () => number;
}

/**
 * Builds the `limit-req` plugin — conf `{"rate": > 0, "burst": integer ≥ 1}` —
 * with an injectable clock. Past the burst a request is stopped with 503.
 * Unlike the Go example, which sleeps until a token is free, it never delays.
 *
 * @example
 * ```ts
 * import { createLimitReq } from "./limit_req.ts";
 * let now = 0;
 * const limitReq = createLimitReq({ now: () => now });
 * ```
 */
export function createLimitReq(options: LimitReqOptions = {}): Plugin<LimitReqConf> {
  const now = options.now ?? (() => performance.now());
  return definePlugin<LimitReqConf>({
    name: "limit-req",
    parseConf(raw) {
      const conf = parseConfObject(raw);
      const rate = optionalNumber(conf, "rate");
      if (rate === undefined || rate <= 0) {
        throw new Error(`"rate" must be a number above 0, got ${JSON.stringify(conf.rate)}`);
      }
      const burst = optionalNumber(conf, "burst");
      if (burst === undefined || !Number.isInteger(burst) || burst < 1) {
        throw new Error(
          `"burst" must be an integer of at least 1, got ${JSON.stringify(conf.burst)}`,
        );
      }
      return { rate, burst, bucket: new RequestBucket(rate, burst, now) };
    },
    requestFilter(_req, conf) {
      return conf.bucket.take() ? undefined : REJECTED;
    },
  });
}

/**
 * The bundled `limit-req` plugin (real clock).
 *
 * @example
 * ```ts
 * import { limitReq } from "./limit_req.ts";
 * limitReq.name; // "limit-req"
 * ```
 */
export const limitReq: Plugin<LimitReqConf> = createLimitReq();
