// Paired comparison of A/B rounds: each round's new figure over the same round's old one.

/** One tree's figures in one round of an A/B run. */
export interface RoundFigures {
  /** Calls per second. */
  cps: number;
  /** Runner CPU microseconds per call. */
  cpuUs: number;
  /** Cores used by processes other than the runner and the load generator meanwhile. */
  otherCores: number;
}

/** Summary of the per-round ratios new / old over the pairs kept. */
export interface PairedSummary {
  /** Pairs taken into account. */
  pairs: number;
  /** Pairs left out because another process used more than the limit meanwhile. */
  noisy: number;
  /** Median, first and third quartile of new/old calls per second. */
  cps: Quartiles;
  /** Median, first and third quartile of new/old CPU µs per call. */
  cpuUs: Quartiles;
}

/** Median and quartiles of a list of ratios. */
export interface Quartiles {
  median: number;
  q1: number;
  q3: number;
}

/**
 * Pairs round `i` of `oldRounds` with round `i` of `newRounds` (taken one right
 * after the other) and summarises the ratios new / old. A shared machine drifts
 * 2–3x between minutes; a ratio within one round cancels most of that drift,
 * which comparing each tree's median does not. Pairs during which a neighbour
 * used more than `maxOtherCores` are left out, unless that would leave none.
 *
 * @example
 * ```ts
 * const summary = summarisePairs(
 *   [{ cps: 100, cpuUs: 10, otherCores: 0 }],
 *   [{ cps: 110, cpuUs: 9, otherCores: 0 }],
 * );
 * summary.cpuUs.median; // 0.9
 * ```
 */
export function summarisePairs(
  oldRounds: readonly RoundFigures[],
  newRounds: readonly RoundFigures[],
  maxOtherCores = 0.1,
): PairedSummary {
  const count = Math.min(oldRounds.length, newRounds.length);
  const all: [RoundFigures, RoundFigures][] = [];
  for (let i = 0; i < count; i++) all.push([oldRounds[i]!, newRounds[i]!]);
  const quiet = all.filter(([a, b]) =>
    a.otherCores <= maxOtherCores && b.otherCores <= maxOtherCores
  );
  const kept = quiet.length > 0 ? quiet : all;
  return {
    pairs: kept.length,
    noisy: all.length - kept.length,
    cps: quartiles(kept.map(([a, b]) => b.cps / a.cps)),
    cpuUs: quartiles(kept.map(([a, b]) => b.cpuUs / a.cpuUs)),
  };
}

/** Median and quartiles of `values` (linear interpolation); NaN for an empty list. */
export function quartiles(values: readonly number[]): Quartiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number): number => {
    if (sorted.length === 0) return NaN;
    const position = p * (sorted.length - 1);
    const low = Math.floor(position);
    const high = Math.ceil(position);
    return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
  };
  return { median: at(0.5), q1: at(0.25), q3: at(0.75) };
}
