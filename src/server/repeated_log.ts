// Keeps the log bounded whatever a peer sends: each kind of failure is logged once, then counted and summarised.
import type { Logger } from "@logtape/logtape";

/** How often repeats are summarised, and the window the kind budget applies to (10 s). */
export const DEFAULT_SUMMARY_INTERVAL_MS = 10_000;
/** Kinds of failure logged in full per window; more kinds are only counted (20). */
export const DEFAULT_MAX_KINDS = 20;
/** Characters kept of a value a peer controls (a conf key, a plugin name, a message). */
export const MAX_PEER_VALUE_LENGTH = 200;

/** Levels a repeated line may have. */
export type RepeatedLevel = "debug" | "info" | "warning" | "error";

/** Options of {@linkcode RepeatedLog}. */
export interface RepeatedLogOptions {
  /** Defaults to {@linkcode DEFAULT_SUMMARY_INTERVAL_MS}. */
  readonly intervalMs?: number;
  /** Defaults to {@linkcode DEFAULT_MAX_KINDS}. */
  readonly maxKinds?: number;
  /** Monotonic milliseconds; defaults to `performance.now`. */
  readonly now?: () => number;
}

interface _Kind {
  readonly level: RepeatedLevel;
  repeats: number;
}

/**
 * A log for failures a peer can trigger at will. The first occurrence of a kind
 * (the caller names it: conf key, plugin, error class) is logged as given; later
 * ones are counted, and {@linkcode RepeatedLog.tick} logs one summary per kind
 * and window: `<kind>: repeated 7,412 times in the last 10 s`. A kind quiet for a
 * whole window is forgotten, so its next occurrence is logged in full again. At
 * most `maxKinds` kinds are tracked per window; occurrences of further kinds are
 * counted into one line. Whatever arrives, a window therefore holds at most
 * 2 × `maxKinds` + 1 lines.
 *
 * @example
 * ```ts
 * import { getLogger } from "@logtape/logtape";
 * const log = new RepeatedLog(getLogger(["app"]));
 * log.log("PrepareConf k: UnknownPluginError", "warning", "PrepareConf k refused: {reason}", { reason: "…" });
 * log.log("PrepareConf k: UnknownPluginError", "warning", "…", {}); // counted
 * log.tick(); // after 10 s: "PrepareConf k: UnknownPluginError: repeated 1 times in the last 10 s"
 * ```
 */
export class RepeatedLog {
  #logger: Logger;
  #intervalMs: number;
  #maxKinds: number;
  #now: () => number;
  #kinds = new Map<string, _Kind>();
  #untracked = 0;
  #windowStart: number;

  /** Logs through `logger`. */
  constructor(logger: Logger, options: RepeatedLogOptions = {}) {
    this.#logger = logger;
    this.#intervalMs = options.intervalMs ?? DEFAULT_SUMMARY_INTERVAL_MS;
    this.#maxKinds = options.maxKinds ?? DEFAULT_MAX_KINDS;
    this.#now = options.now ?? (() => performance.now());
    this.#windowStart = this.#now();
  }

  /**
   * Logs `message` with `properties` at `level` unless `kind` was logged in this
   * window or the one before and occurred since; then it only counts. Returns
   * whether the line was written.
   */
  log(
    kind: string,
    level: RepeatedLevel,
    message: string,
    properties: Record<string, unknown>,
  ): boolean {
    const seen = this.#kinds.get(kind);
    if (seen !== undefined) {
      seen.repeats++;
      return false;
    }
    if (this.#kinds.size >= this.#maxKinds) {
      this.#untracked++;
      return false;
    }
    this.#kinds.set(kind, { level, repeats: 0 });
    this.#logger[level](message, properties);
    return true;
  }

  /** Writes the summaries when the window is over (the server calls this on its timer). */
  tick(): void {
    if (this.#now() - this.#windowStart >= this.#intervalMs) this.flush();
  }

  /** Writes the summaries of the window now and starts a new one (also at shutdown). */
  flush(): void {
    const seconds = Math.max(1, Math.round((this.#now() - this.#windowStart) / 1000));
    for (const [kind, entry] of this.#kinds) {
      if (entry.repeats === 0) {
        this.#kinds.delete(kind);
        continue;
      }
      this.#logger[entry.level]("{kind}: repeated {repeats} times in the last {seconds} s", {
        kind,
        repeats: entry.repeats.toLocaleString("en-US"),
        seconds,
      });
      entry.repeats = 0;
    }
    if (this.#untracked > 0) {
      this.#logger.warn(
        "{count} more failures of other kinds in the last {seconds} s were not logged (at most {maxKinds} kinds per {interval} s)",
        {
          count: this.#untracked.toLocaleString("en-US"),
          seconds,
          maxKinds: this.#maxKinds,
          interval: Math.round(this.#intervalMs / 1000),
        },
      );
      this.#untracked = 0;
    }
    this.#windowStart = this.#now();
  }
}

/**
 * Clips a value a peer controls to {@linkcode MAX_PEER_VALUE_LENGTH} characters,
 * marking the cut, so one log line stays small whatever the peer sent.
 *
 * @example
 * ```ts
 * clipPeerValue("x".repeat(500)).length; // 201: 200 characters and "…"
 * ```
 */
export function clipPeerValue(value: string): string {
  return value.length <= MAX_PEER_VALUE_LENGTH
    ? value
    : `${value.slice(0, MAX_PEER_VALUE_LENGTH)}…`;
}
