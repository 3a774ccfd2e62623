// Conf cache: conf token → prepared confs, idempotency key → token, both expiring after a TTL.

/** A source of the current time in milliseconds; injected so tests never sleep. */
export interface Clock {
  /** Milliseconds since some fixed origin (e.g. `performance.now()`). */
  now(): number;
}

/**
 * The process's monotonic clock (`performance.now()`): a wall-clock jump neither
 * expires every conf nor keeps dead ones.
 */
export const SYSTEM_CLOCK: Clock = { now: () => performance.now() };

/** Options of {@linkcode ConfCache}. */
export interface ConfCacheOptions {
  /** How long an entry lives after its last use, in milliseconds. */
  ttlMs: number;
  /** Time source; defaults to {@linkcode SYSTEM_CLOCK}. */
  clock?: Clock;
  /**
   * The first token handed out. Defaults to a random value, so that a restarted
   * runner never answers an old APISIX token with another route's conf.
   */
  firstToken?: number;
}

interface _Entry<T> {
  readonly value: T;
  readonly key: string | undefined;
  expiresAt: number;
}

const _MAX_TOKEN = 0xFFFFFFFF;

/**
 * Stores the confs of each PrepareConf under a `conf_token` (uint32).
 *
 * Entries expire `ttlMs` after their last use (APISIX's own cache lives
 * `APISIX_CONF_EXPIRE_TIME`; we keep ours 1.2× longer) and are then freed by an
 * amortised sweep, so memory stays bounded by the confs used within one TTL.
 */
export class ConfCache<T> {
  #byToken = new Map<number, _Entry<T>>();
  #byKey = new Map<string, number>();
  #ttlMs: number;
  #clock: Clock;
  #nextToken: number;
  #nextSweepAt: number;

  /** Creates an empty cache. */
  constructor(options: ConfCacheOptions) {
    if (!(options.ttlMs > 0)) {
      throw new RangeError(`ConfCache ttlMs must be positive, got ${options.ttlMs}`);
    }
    this.#ttlMs = options.ttlMs;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#nextToken = _normaliseToken(options.firstToken ?? _randomToken());
    this.#nextSweepAt = this.#clock.now() + this.#sweepInterval();
  }

  /** Number of live tokens (expired ones may count until the next sweep). */
  get size(): number {
    return this.#byToken.size;
  }

  /**
   * Returns the token stored for `key` if it is still alive (refreshing it), or
   * stores `build()` under a new token. Without a key every call makes a new token.
   * `build` may throw; then nothing is stored.
   */
  put(key: string | undefined, build: () => T): number {
    const now = this.#clock.now();
    this.#maybeSweep(now);
    if (key !== undefined) {
      const token = this.#byKey.get(key);
      if (token !== undefined) {
        const entry = this.#byToken.get(token);
        if (entry !== undefined && entry.expiresAt > now) {
          entry.expiresAt = now + this.#ttlMs;
          return token;
        }
        this.#delete(token);
      }
    }
    const value = build();
    const token = this.#allocateToken();
    this.#byToken.set(token, { value, key, expiresAt: now + this.#ttlMs });
    if (key !== undefined) this.#byKey.set(key, token);
    return token;
  }

  /** Returns the confs of a live token and refreshes it; `undefined` when unknown or expired. */
  get(token: number): T | undefined {
    const now = this.#clock.now();
    if (now >= this.#nextSweepAt) this.#maybeSweep(now);
    const entry = this.#byToken.get(token);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.#delete(token);
      return undefined;
    }
    entry.expiresAt = now + this.#ttlMs;
    return entry.value;
  }

  /** Frees every expired entry now. */
  sweep(): void {
    const now = this.#clock.now();
    for (const [token, entry] of this.#byToken) {
      if (entry.expiresAt <= now) this.#delete(token);
    }
    this.#nextSweepAt = now + this.#sweepInterval();
  }

  #maybeSweep(now: number): void {
    if (now >= this.#nextSweepAt) this.sweep();
  }

  // Sweeping a tenth of a TTL after the last one keeps dead entries at most 1.1 TTL old.
  #sweepInterval(): number {
    return Math.max(1, Math.floor(this.#ttlMs / 10));
  }

  #delete(token: number): void {
    const entry = this.#byToken.get(token);
    if (entry === undefined) return;
    this.#byToken.delete(token);
    if (entry.key !== undefined && this.#byKey.get(entry.key) === token) {
      this.#byKey.delete(entry.key);
    }
  }

  #allocateToken(): number {
    // Wraps within uint32, skipping 0 (an absent conf_token reads as 0) and live tokens.
    let token = this.#nextToken;
    while (this.#byToken.has(token)) token = _normaliseToken(token + 1);
    this.#nextToken = _normaliseToken(token + 1);
    return token;
  }
}

function _normaliseToken(token: number): number {
  const wrapped = token > _MAX_TOKEN ? token - _MAX_TOKEN : token;
  return wrapped >= 1 && Number.isInteger(wrapped) ? wrapped : 1;
}

function _randomToken(): number {
  const words = new Uint32Array(1);
  crypto.getRandomValues(words);
  // Keep a wide margin below 2^32 so years of counting never wrap in practice.
  return 1 + (words[0] % 0x7FFFFFFF);
}
