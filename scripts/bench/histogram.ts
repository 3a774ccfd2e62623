// Latency histogram of the load generator: 1 µs buckets up to 100 ms, exact values above.

/** Width of the linear part, in microseconds. */
const LINEAR_LIMIT_US = 100_000;

/** Latency percentiles and summary of one measurement, in microseconds. */
export interface LatencySummary {
  count: number;
  meanUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
}

/**
 * Records latencies without allocating per sample: one counter per
 * microsecond below 100 ms, a plain list above.
 *
 * @example
 * ```ts
 * const h = new Histogram();
 * h.record(120.4);
 * h.summary().p50Us; // 120
 * ```
 */
export class Histogram {
  #counts = new Uint32Array(LINEAR_LIMIT_US);
  #slow: number[] = [];
  #count = 0;
  #sum = 0;
  #max = 0;

  /** Adds one latency in microseconds. */
  record(us: number): void {
    this.#count++;
    this.#sum += us;
    if (us > this.#max) this.#max = us;
    const bucket = Math.round(us);
    if (bucket < LINEAR_LIMIT_US) this.#counts[bucket]!++;
    else this.#slow.push(us);
  }

  /** Forgets every sample (end of the warm-up). */
  reset(): void {
    this.#counts.fill(0);
    this.#slow = [];
    this.#count = 0;
    this.#sum = 0;
    this.#max = 0;
  }

  /** Number of samples. */
  get count(): number {
    return this.#count;
  }

  /** The latency below which a `q` fraction (0..1) of the samples fall, in µs. */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    const counts = this.#counts;
    for (let i = 0; i < LINEAR_LIMIT_US; i++) {
      seen += counts[i]!;
      if (seen >= rank) return i;
    }
    const slow = [...this.#slow].sort((a, b) => a - b);
    return slow[Math.min(slow.length - 1, rank - seen - 1)]!;
  }

  /** Count, mean, p50/p90/p99/p99.9 and max. */
  summary(): LatencySummary {
    return {
      count: this.#count,
      meanUs: this.#count === 0 ? 0 : this.#sum / this.#count,
      p50Us: this.quantile(0.5),
      p90Us: this.quantile(0.9),
      p99Us: this.quantile(0.99),
      p999Us: this.quantile(0.999),
      maxUs: this.#max,
    };
  }
}
