// Bundled plugin "limit-count": APISIX's fixed-window request count, per runner or shared through Redis.

import { definePlugin } from "../src/plugin/define_plugin.ts";
import { stop } from "../src/plugin/stop.ts";
import type { Plugin, PluginLogger, PluginRequest } from "../src/plugin/types.ts";
import type { PreparedStop } from "../src/protocol/types.ts";
import {
  type ConfObject,
  optionalBoolean,
  optionalNumber,
  optionalString,
  parseConfObject,
} from "./_conf.ts";
import { confHash } from "../src/plugin/conf_hash.ts";

/** Parsed conf of `limit-count` (APISIX's field names, in camel case). */
export interface LimitCountConf {
  /** Requests allowed per window and key. */
  readonly count: number;
  /** Window length in seconds; it starts with the first request of a key. */
  readonly timeWindow: number;
  /** The variable whose value is the counted key (default `remote_addr`). */
  readonly key: string;
  /** Status of a rejected request (default 503). */
  readonly rejectedCode: number;
  /** Body of a rejected request, as `{"error_msg": ...}`; none by default. */
  readonly rejectedMsg: string | undefined;
  /** Send `X-RateLimit-Limit`, `-Remaining` and `-Reset` (default true). */
  readonly showLimitQuotaHeader: boolean;
  /** `local`: one count per runner process; `redis`: one count shared by every runner. */
  readonly policy: "local" | "redis";
  /** Where the shared counts live (`policy: "redis"`). */
  readonly redis: RedisSettings | undefined;
  /** When Redis cannot answer: let requests through (true) or reject them with 503 (false, default). */
  readonly allowDegradation: boolean;
  /** Counts of confs with the same group are shared (default: one group per conf text). */
  readonly group: string;
  /** The counts of `policy: "local"` (per conf: a route edit starts afresh). */
  readonly local: Map<string, { used: number; resetAt: number }>;
  /** The stop of a request past the count, `resetMs` before the window ends. */
  rejection(resetMs: number): PreparedStop;
}

/** How to reach Redis. */
export interface RedisSettings {
  /** `redis_host`. */
  readonly host: string;
  /** `redis_port` (default 6379). */
  readonly port: number;
  /** `redis_password`, if any. */
  readonly password: string | undefined;
  /** `redis_database` (default 0). */
  readonly database: number;
  /** Connect and command timeout in ms (default 1000). */
  readonly timeoutMs: number;
}

/** What `limit-count`'s setup keeps: its Redis clients, one per server and database. */
export interface LimitCountState {
  /** Redis counters by `host:port/db`, made on first use. */
  readonly counters: Map<string, Promise<RedisCounter>>;
  /** The runner's log, for Redis going down and coming back. */
  readonly logger: PluginLogger;
}

/** One Redis connection counting requests atomically. */
export interface RedisCounter {
  /** Adds one to `key`, starting its window of `windowMs` if new: the count and the ms left. */
  increment(key: string, windowMs: number): Promise<[number, number]>;
  /** Closes the connection. */
  close(): Promise<void>;
}

// INCR and the expiry of a new key in one server-side step: two runners never both start a window.
const _INCREMENT = `local used = redis.call('INCR', KEYS[1])
if used == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {used, redis.call('PTTL', KEYS[1])}`;

/**
 * `limit-count` — at most `count` requests per `time_window` seconds and key
 * (the value of the `key` variable, `remote_addr` by default: the client
 * address, no round trip). Past it the request gets `rejected_code` (503) and
 * `rejected_msg`. With `show_limit_quota_header` (default) the response
 * carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`.
 * `policy: "redis"` shares the count between every runner process on every
 * gateway node (`redis_host`, `redis_port`, `redis_password`,
 * `redis_database`, `redis_timeout` in ms); when Redis cannot answer within
 * `redis_timeout`, `allow_degradation` decides: through (true) or 503 (false,
 * the default). The Redis clients are made once per runner (`setup`) and
 * closed on shutdown (`dispose`).
 *
 * @example Route conf
 * ```json
 * {"name": "limit-count", "value": "{\"count\": 100, \"time_window\": 60, \"policy\": \"redis\", \"redis_host\": \"10.0.0.5\"}"}
 * ```
 */
export const limitCount: Plugin<LimitCountConf, LimitCountState> = definePlugin<
  LimitCountConf,
  LimitCountState
>({
  name: "limit-count",
  setup: (ctx) => ({ counters: new Map(), logger: ctx.logger }),
  async dispose(state) {
    const counters = [...state.counters.values()];
    state.counters.clear();
    await Promise.all(counters.map((counter) => counter.then((c) => c.close(), () => {})));
  },
  parseConf: parseLimitCountConf,
  requestFilter(req, conf, state) {
    // The common case costs no promise: a local count keyed by the client address.
    if (conf.policy === "local" && conf.key === "remote_addr") {
      return _verdict(req, conf, _incrementLocal(conf, req.srcIp ?? ""));
    }
    return _countAsync(req, conf, state);
  },
});

async function _countAsync(req: PluginRequest, conf: LimitCountConf, state: LimitCountState) {
  const key = await _keyOf(req, conf.key);
  if (conf.policy === "local") return _verdict(req, conf, _incrementLocal(conf, key));
  let counted: [number, number];
  try {
    const counter = await _counter(state, conf.redis!);
    counted = await counter.increment(
      `apisix-ts:limit-count:${conf.group}:${key}`,
      conf.timeWindow * 1000,
    );
  } catch (error) {
    state.logger.warn("limit-count: Redis did not answer ({error}); {outcome}", {
      error: (error as Error).message,
      outcome: conf.allowDegradation ? "letting the request through" : "rejecting with 503",
    });
    if (conf.allowDegradation) return undefined;
    return _UNAVAILABLE;
  }
  return _verdict(req, conf, counted);
}

const _UNAVAILABLE = stop(503, {
  headers: { "content-type": "application/json" },
  body: `${JSON.stringify({ error_msg: "rate limit counter unavailable" })}\n`,
});

/** The rejection past the count, or the quota headers on the way through. */
function _verdict(req: PluginRequest, conf: LimitCountConf, [used, resetMs]: [number, number]) {
  if (used > conf.count) return conf.rejection(resetMs);
  if (conf.showLimitQuotaHeader) {
    const headers = req.respHeaders;
    headers.set("X-RateLimit-Limit", String(conf.count));
    headers.set("X-RateLimit-Remaining", String(conf.count - used));
    headers.set("X-RateLimit-Reset", String(Math.max(0, Math.ceil(resetMs / 1000))));
  }
  return undefined;
}

/** Parses a `limit-count` conf; throws naming the field. */
export function parseLimitCountConf(raw: string): LimitCountConf {
  const conf = parseConfObject(raw);
  const count = _integer(conf, "count", undefined, 0);
  const timeWindow = _integer(conf, "time_window", undefined, 1);
  const rejectedCode = _integer(conf, "rejected_code", 503, 200);
  if (rejectedCode > 599) {
    throw new Error(`"rejected_code" must be 200 to 599, got ${rejectedCode}`);
  }
  const policy = optionalString(conf, "policy", "local");
  if (policy !== "local" && policy !== "redis") {
    throw new Error(`"policy" must be "local" or "redis", got ${JSON.stringify(policy)}`);
  }
  const rejectedMsg = optionalString(conf, "rejected_msg", "");
  const showLimitQuotaHeader = optionalBoolean(conf, "show_limit_quota_header", true);
  const body = rejectedMsg === "" ? undefined : `${JSON.stringify({ error_msg: rejectedMsg })}\n`;
  const bare = stop(rejectedCode, {
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body,
  });
  return {
    count,
    timeWindow,
    key: optionalString(conf, "key", "remote_addr"),
    rejectedCode,
    rejectedMsg: rejectedMsg === "" ? undefined : rejectedMsg,
    showLimitQuotaHeader,
    policy,
    redis: policy === "redis" ? _redisSettings(conf) : undefined,
    allowDegradation: optionalBoolean(conf, "allow_degradation", false),
    group: optionalString(conf, "group", "") || confHash(raw),
    local: new Map(),
    rejection: showLimitQuotaHeader ? _rejectionWithQuota(rejectedCode, count, body) : () => bare,
  };
}

/**
 * The rejection with the quota headers. Under a flood every call past the count
 * is rejected: the stop of one reset second is made once and handed out again
 * (its reply is then a copy of a memoised frame).
 */
function _rejectionWithQuota(
  status: number,
  count: number,
  body: string | undefined,
): (resetMs: number) => PreparedStop {
  let lastReset = -1;
  let last: PreparedStop | undefined;
  return (resetMs) => {
    const reset = Math.max(0, Math.ceil(resetMs / 1000));
    if (reset !== lastReset || last === undefined) {
      lastReset = reset;
      last = stop(status, {
        headers: {
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          "X-RateLimit-Limit": String(count),
          "X-RateLimit-Remaining": "0",
          "X-RateLimit-Reset": String(reset),
        },
        body,
      });
    }
    return last;
  };
}

function _redisSettings(conf: ConfObject): RedisSettings {
  const host = optionalString(conf, "redis_host", "");
  if (host === "") throw new Error(`"redis_host" is required with "policy": "redis"`);
  const port = _integer(conf, "redis_port", 6379, 1);
  if (port > 65535) throw new Error(`"redis_port" must be 1 to 65535, got ${port}`);
  const password = optionalString(conf, "redis_password", "");
  return {
    host,
    port,
    password: password === "" ? undefined : password,
    database: _integer(conf, "redis_database", 0, 0),
    timeoutMs: _integer(conf, "redis_timeout", 1000, 1),
  };
}

function _integer(conf: ConfObject, field: string, fallback: number | undefined, min: number) {
  const value = optionalNumber(conf, field) ?? fallback;
  if (value === undefined) throw new Error(`"${field}" is required`);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`"${field}" must be a whole number of at least ${min}, got ${value}`);
  }
  return value;
}

/** The counted key: the client address without a round trip, any other variable with one. */
async function _keyOf(req: PluginRequest, variable: string): Promise<string> {
  if (variable === "remote_addr") return req.srcIp ?? "";
  return (await req.var(variable)) ?? "";
}

function _incrementLocal(conf: LimitCountConf, key: string): [number, number] {
  const now = performance.now();
  let entry = conf.local.get(key);
  if (entry === undefined || entry.resetAt <= now) {
    entry = { used: 0, resetAt: now + conf.timeWindow * 1000 };
    conf.local.set(key, entry);
    // Forget windows that ended, now and then, so keys seen once do not pile up.
    if (conf.local.size > 10_000) _sweep(conf.local, now);
  }
  entry.used++;
  return [entry.used, entry.resetAt - now];
}

function _sweep(local: Map<string, { resetAt: number }>, now: number): void {
  for (const [key, entry] of local) if (entry.resetAt <= now) local.delete(key);
}

function _counter(state: LimitCountState, settings: RedisSettings): Promise<RedisCounter> {
  const id = `${settings.host}:${settings.port}/${settings.database}`;
  let counter = state.counters.get(id);
  if (counter === undefined) {
    counter = _connect(settings);
    state.counters.set(id, counter);
    // A failed first connection is tried again by the next request.
    counter.catch(() => state.counters.delete(id));
  }
  return counter;
}

/**
 * A Redis connection (node-redis, loaded on first use) that fails a command at
 * once while disconnected (no offline queue) and after `timeoutMs` when Redis is
 * slow, so a call never waits for Redis past its deadline; it reconnects in the
 * background. node-redis, because ioredis reads the whole environment when it
 * loads, which a Deno runner's scoped `--allow-env` refuses.
 */
async function _connect(settings: RedisSettings): Promise<RedisCounter> {
  const { createClient } = await import("redis");
  const client = createClient({
    socket: {
      host: settings.host,
      port: settings.port,
      connectTimeout: settings.timeoutMs,
      reconnectStrategy: (attempt: number) => Math.min(attempt * 100, 1000),
    },
    password: settings.password,
    database: settings.database,
    disableOfflineQueue: true,
  });
  client.on("error", () => {}); // reported per request, where the conf decides
  try {
    await _within(
      client.connect(),
      settings.timeoutMs,
      `no connection to ${settings.host}:${settings.port}`,
    );
  } catch (error) {
    client.destroy();
    throw error;
  }
  return {
    async increment(key, windowMs) {
      const reply = await _within(
        client.eval(_INCREMENT, { keys: [key], arguments: [String(windowMs)] }),
        settings.timeoutMs,
        `no answer from ${settings.host}:${settings.port} within ${settings.timeoutMs} ms`,
      );
      const [used, ttl] = reply as [number, number];
      return [used, ttl];
    },
    async close() {
      await _within(client.quit(), 100, "").catch(() => {});
      if (client.isOpen) client.destroy();
    },
  };
}

/** `promise`, or a rejection with `message` after `ms`. */
async function _within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error(message)), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
