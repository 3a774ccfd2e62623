// APISIX played at the connection level: keepalive pool, PrepareConf token cache, nested conns, retries.

import { getLogger } from "@logtape/logtape";
import {
  ErrorCode,
  type ExtraInfoRequest,
  type HttpReqCallRequest,
  type HttpRespCallRequest,
  type TextEntry,
} from "../../protocol/types.ts";
import type { SocketRuntime } from "../../runtime/types.ts";
import {
  ApisixConnection,
  type ExtraInfoAnswerer,
  PrepareConfError,
  type ReqCallOutcome,
  type RespCallOutcome,
} from "./connection.ts";

const logger = getLogger(["apisix-runner", "apisix"]);

/** Attempts per call, as in APISIX's `communicate()` (docs/PROTOCOL.md §3.5). */
export const MAX_CALL_ATTEMPTS = 3;

/** Idle connections APISIX keeps per worker (`setkeepalive(180 s, 32)`). */
export const DEFAULT_MAX_IDLE = 32;

/** APISIX's shared-dict token lifetime: 0.9 × `APISIX_CONF_EXPIRE_TIME` (3600 s). */
export const DEFAULT_TOKEN_TTL_MS = 3_240_000;

/** Ids wrap at 2^22, like APISIX's per-worker counter. */
const ID_COUNTER_LIMIT = 1 << 22;

/** Options of {@linkcode ApisixClient}. */
export interface ApisixClientOptions {
  /** Where connections come from (any runtime adapter, or the memory runtime). */
  runtime: Pick<SocketRuntime, "connectUnix">;
  /** The runner's socket path, without the `unix:` prefix. */
  socketPath: string;
  /** Idle connections kept for reuse (default {@linkcode DEFAULT_MAX_IDLE}); extra ones are closed. */
  maxIdle?: number;
  /** How long a token stays cached (default {@linkcode DEFAULT_TOKEN_TTL_MS}). */
  tokenTtlMs?: number;
  /** Clock for the token TTL (default `Date.now`). */
  now?: () => number;
  /** Worker id used in generated request ids: `(workerId << 22) + counter` (default 0). */
  workerId?: number;
}

/** What every call carries: the plugin conf list of the route phase and its PrepareConf key. */
export interface CallBase {
  /** The `conf` array of the `ext-plugin-*` plugin, in order; `undefined` when not configured. */
  conf?: readonly TextEntry[] | undefined;
  /** The PrepareConf key (see {@linkcode formatPrepareConfKey}); also the token cache key. */
  key: string;
  /** Answers ExtraInfo questions; default answers every question "absent". */
  answer?: ExtraInfoAnswerer | undefined;
}

/** A request as APISIX describes it in an HTTPReqCall; `id` is generated when omitted. */
export type ReqCallDescription = Omit<HttpReqCallRequest, "confToken" | "id"> & { id?: number };

/** An upstream response as APISIX describes it in an HTTPRespCall; `id` is generated when omitted. */
export type RespCallDescription = Omit<HttpRespCallRequest, "confToken" | "id"> & { id?: number };

/** An `ext-plugin-pre-req` / `ext-plugin-post-req` invocation (HTTPReqCall). */
export interface ReqCallInput extends CallBase {
  readonly type: "req";
  readonly request: ReqCallDescription;
}

/** An `ext-plugin-post-resp` invocation (HTTPRespCall). */
export interface RespCallInput extends CallBase {
  readonly type: "resp";
  readonly request: RespCallDescription;
}

/** Final outcome of {@linkcode ApisixClient.call} plus how many attempts it took (1–3). */
export type ClientOutcome<O> = O & { readonly attempts: number };

/** Counters for tests and benchmarks. */
export interface ApisixClientStats {
  /** Connections opened so far. */
  connectionsOpened: number;
  /** PrepareConf exchanges sent so far. */
  prepareConfs: number;
  /** Token cache flushes caused by CONF_TOKEN_NOT_FOUND. */
  tokenFlushes: number;
  /** Connections idle in the pool right now. */
  idle: number;
}

/** Options of {@linkcode formatPrepareConfKey}. */
export interface PrepareConfKeyOptions {
  /** `"route"` (default), `"service"`, `"global_rule"`, ... */
  confType?: string;
  /** Id of the route, service or global rule. */
  confId: string | number;
  /** The APISIX plugin: `ext-plugin-pre-req`, `ext-plugin-post-req` or `ext-plugin-post-resp`. */
  plugin: string;
  /** The conf version; a route edit changes it and therefore the key. */
  version: string | number;
}

/**
 * Builds a PrepareConf key the way APISIX does: `<conf_type>#<conf_id>#<plugin>#<version>`.
 *
 * @example
 * ```ts
 * formatPrepareConfKey({ confId: 1, plugin: "ext-plugin-pre-req", version: 3 });
 * // "route#1#ext-plugin-pre-req#3"
 * ```
 */
export function formatPrepareConfKey(options: PrepareConfKeyOptions): string {
  const confType = options.confType ?? "route";
  return `${confType}#${options.confId}#${options.plugin}#${options.version}`;
}

interface CachedToken {
  token: number;
  expiresAt: number;
}

/**
 * Plays APISIX towards a runner, faithfully at the connection level
 * (docs/PROTOCOL.md §3.5, §4):
 *
 * - a keepalive pool of idle connections (LIFO, at most `maxIdle`; a
 *   connection the runner closed right behind its reply, or while idle, is
 *   dropped);
 * - a token cache keyed by the PrepareConf key; a missing token is fetched on
 *   a second connection while the call's connection is already held, and
 *   concurrent calls wait for one PrepareConf per key (APISIX's lock);
 * - up to three attempts: on Err CONF_TOKEN_NOT_FOUND (from the call or the
 *   PrepareConf) the whole token cache is flushed and the call retried;
 * - a connection goes back to the pool only after a successful exchange and
 *   is closed after any failure, error frames included.
 *
 * `call()` resolves with the final reply or error frame, and rejects for the
 * other failures APISIX answers with 503 (connect error, early close, wrong
 * reply type, undecodable payload, PrepareConf error other than code 2).
 *
 * @example
 * ```ts
 * const client = new ApisixClient({ runtime, socketPath: "/tmp/runner.sock" });
 * const outcome = await client.call({
 *   type: "req",
 *   key: formatPrepareConfKey({ confId: 1, plugin: "ext-plugin-pre-req", version: 1 }),
 *   conf: [{ name: "say", value: '{"body":"hi"}' }],
 *   request: { srcIp: undefined, method: 0, path: "/", args: [], headers: [] },
 * });
 * await client.close();
 * ```
 */
export class ApisixClient {
  #runtime: Pick<SocketRuntime, "connectUnix">;
  #socketPath: string;
  #maxIdle: number;
  #tokenTtlMs: number;
  #now: () => number;
  #idBase: number;
  #idCounter = 0;
  /** Idle connections, most recently used last. */
  #idle: ApisixConnection[] = [];
  /** Pooled connections whose close, if the runner sent one with the reply, may not show yet. */
  #settling = new WeakMap<ApisixConnection, Promise<void>>();
  #tokens = new Map<string, CachedToken>();
  #pendingTokens = new Map<string, Promise<number>>();
  #closed = false;
  #stats = { connectionsOpened: 0, prepareConfs: 0, tokenFlushes: 0 };

  /** Creates a client; no connection is opened before the first call. */
  constructor(options: ApisixClientOptions) {
    this.#runtime = options.runtime;
    this.#socketPath = options.socketPath;
    this.#maxIdle = options.maxIdle ?? DEFAULT_MAX_IDLE;
    this.#tokenTtlMs = options.tokenTtlMs ?? DEFAULT_TOKEN_TTL_MS;
    this.#now = options.now ?? Date.now;
    this.#idBase = (options.workerId ?? 0) * ID_COUNTER_LIMIT;
  }

  /** Counters: connections opened, PrepareConfs sent, token flushes, idle connections now. */
  get stats(): ApisixClientStats {
    return { ...this.#stats, idle: this.#idle.length };
  }

  /** The cached token for `key`, if any and not expired. */
  cachedToken(key: string): number | undefined {
    const cached = this.#tokens.get(key);
    if (cached === undefined) return undefined;
    if (cached.expiresAt <= this.#now()) {
      this.#tokens.delete(key);
      return undefined;
    }
    return cached.token;
  }

  /** Forgets every cached token, as APISIX does when the runner exits. */
  flushTokens(): void {
    this.#tokens.clear();
  }

  /** Makes one plugin invocation: PrepareConf if needed, the call, retries on CONF_TOKEN_NOT_FOUND. */
  call(input: ReqCallInput): Promise<ClientOutcome<ReqCallOutcome>>;
  /** Makes one plugin invocation: PrepareConf if needed, the call, retries on CONF_TOKEN_NOT_FOUND. */
  call(input: RespCallInput): Promise<ClientOutcome<RespCallOutcome>>;
  /** Makes one plugin invocation: PrepareConf if needed, the call, retries on CONF_TOKEN_NOT_FOUND. */
  call(
    input: ReqCallInput | RespCallInput,
  ): Promise<ClientOutcome<ReqCallOutcome> | ClientOutcome<RespCallOutcome>>;
  async call(
    input: ReqCallInput | RespCallInput,
  ): Promise<ClientOutcome<ReqCallOutcome> | ClientOutcome<RespCallOutcome>> {
    const id = input.request.id ?? this.#nextId();
    let last: ReqCallOutcome | RespCallOutcome | undefined;
    for (let attempt = 1; attempt <= MAX_CALL_ATTEMPTS; attempt++) {
      const conn = await this.#take();
      let outcome: ReqCallOutcome | RespCallOutcome;
      try {
        const confToken = this.cachedToken(input.key) ?? await this.#prepareConf(input);
        outcome = input.type === "req"
          ? await conn.httpReqCall({ ...input.request, id, confToken }, input.answer)
          : await conn.httpRespCall({ ...input.request, id, confToken }, input.answer);
      } catch (error) {
        conn.close();
        if (!(error instanceof PrepareConfError && error.code === ErrorCode.ConfTokenNotFound)) {
          throw error;
        }
        outcome = { kind: "error", code: error.code, questions: NO_QUESTIONS };
      }
      if (outcome.kind === "reply") {
        this.#release(conn);
        return { ...outcome, attempts: attempt };
      }
      conn.close();
      if (outcome.code !== ErrorCode.ConfTokenNotFound) return { ...outcome, attempts: attempt };
      logger.warn("Conf token not found for key {key} (attempt {attempt}): flushing tokens", {
        key: input.key,
        attempt,
        id,
      });
      this.#tokens.clear();
      this.#stats.tokenFlushes++;
      last = outcome;
    }
    return { ...last!, attempts: MAX_CALL_ATTEMPTS };
  }

  /**
   * Closes the idle connections, so that the next calls connect afresh: to the runner now
   * listening on the socket path, after a replacement (`dev --watch`). Calls in flight go on.
   */
  closeIdle(): void {
    const idle = this.#idle;
    this.#idle = [];
    for (const conn of idle) conn.close();
  }

  /** Closes the idle connections; later calls reject. Connections in use close when their call ends. */
  close(): Promise<void> {
    this.#closed = true;
    const idle = this.#idle;
    this.#idle = [];
    for (const conn of idle) conn.close();
    return Promise.all(idle.map((conn) => conn.whenClosed)).then(() => undefined);
  }

  #nextId(): number {
    const id = this.#idBase + this.#idCounter;
    this.#idCounter = (this.#idCounter + 1) % ID_COUNTER_LIMIT;
    return id;
  }

  async #take(): Promise<ApisixConnection> {
    if (this.#closed) throw new ApisixClientClosedError(this.#socketPath);
    const idle = this.#idle;
    while (idle.length > 0) {
      const conn = idle.pop()!;
      await this.#settled(conn);
      if (!conn.closed) return conn;
    }
    const conn = await ApisixConnection.connect(this.#runtime, this.#socketPath);
    this.#stats.connectionsOpened++;
    // Like nginx's keepalive pool, forget an idle connection as soon as the runner closes it.
    conn.whenClosed.then(() => {
      const index = this.#idle.indexOf(conn);
      if (index !== -1) this.#idle.splice(index, 1);
    });
    return conn;
  }

  #release(conn: ApisixConnection): void {
    if (this.#closed || conn.closed) {
      conn.close();
      return;
    }
    this.#idle.push(conn);
    // nginx's keepalive pool evicts the least recently used connection when full.
    if (this.#idle.length > this.#maxIdle) this.#idle.shift()!.close();
    this.#settling.set(conn, _afterNextPoll());
  }

  /**
   * Waits, for a connection pooled just now, until the event loop read the socket once
   * more. nginx's setkeepalive() drops a connection whose close arrived with the reply
   * (it checks the read event before pooling); a JavaScript runtime reports that close
   * in a later callback, at the latest on the next poll of its sockets.
   */
  async #settled(conn: ApisixConnection): Promise<void> {
    const settling = this.#settling.get(conn);
    if (settling === undefined) return;
    await settling;
    this.#settling.delete(conn);
  }

  #prepareConf(input: CallBase): Promise<number> {
    const pending = this.#pendingTokens.get(input.key);
    if (pending !== undefined) return pending;
    const promise = this.#fetchToken(input).finally(() => {
      this.#pendingTokens.delete(input.key);
    });
    this.#pendingTokens.set(input.key, promise);
    return promise;
  }

  /** PrepareConf on its own connection, taken while the caller's connection is held (§4). */
  async #fetchToken(input: CallBase): Promise<number> {
    const conn = await this.#take();
    this.#stats.prepareConfs++;
    let token: number;
    try {
      token = await conn.prepareConf(input.conf, input.key);
    } catch (error) {
      conn.close();
      throw error;
    }
    this.#release(conn);
    this.#tokens.set(input.key, { token, expiresAt: this.#now() + this.#tokenTtlMs });
    logger.debug("Got conf token {token} for key {key}", { token, key: input.key });
    return token;
  }
}

const NO_QUESTIONS: readonly ExtraInfoRequest[] = Object.freeze([]);

/**
 * How long past the next poll of the sockets a just-pooled connection rests before reuse
 * (5 ms): the close a draining runner sends right behind its reply then shows even when the
 * runner was descheduled between the two (measured: about 1 in 8,000 drained connections
 * showed its close more than 2 ms late on these shared machines, none in 21,000 past 5 ms).
 */
const CLOSE_NOTICE_MS = 5;

/**
 * Resolves once the sockets were polled at least once (a timer turn, then the next one
 * comes after a poll phase) and {@linkcode CLOSE_NOTICE_MS} more passed.
 */
function _afterNextPoll(): Promise<void> {
  return new Promise((resolve) => setTimeout(() => setTimeout(resolve, CLOSE_NOTICE_MS), 0));
}

/** {@linkcode ApisixClient.call} was used after {@linkcode ApisixClient.close}. */
export class ApisixClientClosedError extends Error {
  /** `socketPath` is the runner socket the client was for. */
  constructor(socketPath: string) {
    super(`ApisixClient for socket "${socketPath}" is closed`);
    this.name = "ApisixClientClosedError";
  }
}
