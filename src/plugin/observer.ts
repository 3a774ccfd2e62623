// The hook metrics and tracing use to watch each plugin filter; the phase runner calls it only when one is set.

import type { TextEntry } from "../protocol/types.ts";

/** The phase a filter runs in: `requestFilter` or `responseFilter`. */
export type PhaseName = "request" | "response";

/**
 * How one filter ended: it let the call go on (`ok`), ended the chain with a
 * stop or a Response (`stop`), threw or rejected (`throw`), was still pending
 * at the deadline or disconnect (`timeout`), or returned something else than
 * `undefined`, a Response or `stop()` (`bad_return`).
 */
export type FilterOutcome = "ok" | "stop" | "throw" | "timeout" | "bad_return";

/** What an observer learns of the call a filter runs in (the decoded call itself). */
export interface ObservedCall {
  /** The call's id. */
  readonly id: number;
  /** The conf token of the route. */
  readonly confToken: number;
  /**
   * The headers the call carries: the request's (request phase), the upstream
   * response's. Decoded on first read: an observer that does not need them
   * (metrics) must not touch them.
   */
  readonly headers: readonly TextEntry[];
}

/** One filter being watched. */
export interface FilterWatch {
  /** The W3C `traceparent` of the filter's own span, if tracing made one. */
  readonly traceparent?: string | undefined;
  /** Called once, when the filter settled. */
  end(outcome: FilterOutcome): void;
}

/**
 * Watches plugin filters. The phase runner calls {@linkcode FilterObserver.start}
 * right before each filter and `end()` on what it returns once the filter
 * settled; with no observer set it does nothing but one branch per filter.
 */
export interface FilterObserver {
  /** A filter of `plugin` starts in `phase` for `call`. */
  start(plugin: string, phase: PhaseName, call: ObservedCall): FilterWatch;
}

/**
 * One observer calling each of `observers` in turn (metrics and tracing both on);
 * the first `traceparent` any of them gives is the filter's.
 *
 * @example
 * ```ts
 * const observer = combineObservers([metrics, tracing]);
 * ```
 */
export function combineObservers(observers: readonly FilterObserver[]): FilterObserver {
  if (observers.length === 1) return observers[0]!;
  return {
    start(plugin, phase, call) {
      const watches = observers.map((observer) => observer.start(plugin, phase, call));
      return {
        traceparent: watches.find((watch) => watch.traceparent !== undefined)?.traceparent,
        end(outcome) {
          for (const watch of watches) watch.end(outcome);
        },
      };
    },
  };
}
