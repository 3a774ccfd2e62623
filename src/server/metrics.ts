// What the server counts when metrics are on: frames, confs, tokens, ExtraInfo questions, connections.

import type { FilterObserver } from "../plugin/observer.ts";

/** The frame types metrics name; anything else is `unknown`. */
export type FrameKind = "prepare_conf" | "http_req_call" | "http_resp_call" | "unknown";

/** How a frame ended: a reply (`ok`), an error frame (`error`), or a closed connection (`closed`). */
export type FrameOutcome = "ok" | "error" | "closed";

/** What a PrepareConf did: a new conf, the conf of a key it already held, or a refusal. */
export type ConfOutcome = "prepared" | "reused_key" | "bad_conf" | "unknown_plugin";

/** The ExtraInfo questions metrics name. */
export type ExtraInfoKind = "var" | "req_body" | "resp_body";

/**
 * Where the server reports what it does when metrics are on (`--metrics-listen`;
 * `ops/prometheus.ts` is the implementation). With metrics off the server holds
 * none and each report point is one branch.
 */
export interface RunnerMetrics {
  /** Watches plugin filters (durations, errors). */
  readonly filters: FilterObserver;
  /** A frame was answered, or its connection closed. */
  frame(kind: FrameKind, outcome: FrameOutcome): void;
  /** A PrepareConf ended. */
  conf(outcome: ConfOutcome): void;
  /** A call named a token the runner does not hold. */
  tokenNotFound(): void;
  /** A plugin asked APISIX a question. */
  extraInfo(kind: ExtraInfoKind): void;
  /** A connection was accepted. */
  connectionOpened(): void;
  /** Reads the gauges the server knows (open connections, confs held) at scrape time. */
  observe(gauges: { connections(): number; confs(): number }): void;
}
