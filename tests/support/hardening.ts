// Helpers of the hardening tests: an in-process runner with captured logs, guards and raw frame I/O.

import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { ApisixConnection } from "../../src/dev/client/mod.ts";
import { PluginRegistry } from "../../src/plugin/registry.ts";
import type { AnyPlugin } from "../../src/plugin/types.ts";
import type { SocketRuntime } from "../../src/runtime/types.ts";
import { RunnerServer, type RunnerServerOptions } from "../../src/server/server.ts";
import { deferred, reqCall } from "./e2e_helpers.ts";

export { conf, type Deferred, deferred, reqCall } from "./e2e_helpers.ts";

/** UTF-8 encoder shared by the hardening tests. */
export const encoder: TextEncoder = new TextEncoder();
/** UTF-8 decoder shared by the hardening tests. */
export const decoder: TextDecoder = new TextDecoder();

/** Rejects when `promise` did not settle within `ms`: a guard against hangs, never a way to wait. */
export function withTimeout<T>(promise: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

/** Log records of the `apisix-runner` category captured by {@linkcode captureLogs}. */
export interface CapturedLogs {
  readonly records: LogRecord[];
  /** Records whose rendered message matches `pattern`. */
  matching(pattern: RegExp): LogRecord[];
  /** Resolves with the first record (past or future) whose message matches `pattern`. */
  waitFor(pattern: RegExp, ms?: number): Promise<LogRecord>;
  /** Resolves once at least `count` records (past and future) match `pattern`. */
  waitForCount(pattern: RegExp, count: number, ms?: number): Promise<void>;
  /** Stops capturing (resets LogTape). */
  stop(): Promise<void>;
}

/** Renders a record's message with its values as `String(value)`. */
export function renderMessage(record: LogRecord): string {
  return record.message.map((part) => typeof part === "string" ? part : String(part)).join("");
}

/** Captures every `apisix-runner` log record (debug and up) until `stop()`. */
export async function captureLogs(): Promise<CapturedLogs> {
  const records: LogRecord[] = [];
  const waiters = new Set<{ pattern: RegExp; resolve(record: LogRecord): void }>();
  const counters = new Set<{ pattern: RegExp; left: number; resolve(): void }>();
  await configure({
    reset: true,
    sinks: {
      memory(record) {
        records.push(record);
        const message = renderMessage(record);
        for (const counter of counters) {
          if (counter.pattern.test(message) && --counter.left <= 0) {
            counters.delete(counter);
            counter.resolve();
          }
        }
        for (const waiter of waiters) {
          if (waiter.pattern.test(renderMessage(record))) {
            waiters.delete(waiter);
            waiter.resolve(record);
          }
        }
      },
    },
    loggers: [
      { category: ["apisix-runner"], lowestLevel: "debug", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
    ],
  });
  return {
    records,
    matching: (pattern) => records.filter((record) => pattern.test(renderMessage(record))),
    waitFor(pattern, ms = 5000) {
      const found = records.find((record) => pattern.test(renderMessage(record)));
      if (found !== undefined) return Promise.resolve(found);
      const waiter = deferred<LogRecord>();
      const entry = { pattern, resolve: waiter.resolve };
      waiters.add(entry);
      return withTimeout(waiter.promise, `a log line matching ${pattern}`, ms).finally(() =>
        waiters.delete(entry)
      );
    },
    waitForCount(pattern, count, ms = 5000) {
      const left = count - records.filter((r) => pattern.test(renderMessage(r))).length;
      if (left <= 0) return Promise.resolve();
      const done = deferred<void>();
      const entry = { pattern, left, resolve: () => done.resolve() };
      counters.add(entry);
      return withTimeout(done.promise, `${count} log lines matching ${pattern}`, ms).finally(() =>
        counters.delete(entry)
      );
    },
    stop: () => reset(),
  };
}

/** An in-process runner and a way to connect to it as APISIX. */
export interface InProcessRunner {
  readonly server: RunnerServer;
  readonly runtime: SocketRuntime;
  readonly socketPath: string;
  connect(): Promise<ApisixConnection>;
  /** Shuts the server down (idempotent). */
  stop(): Promise<void>;
}

/** Options of {@linkcode startInProcess}. */
export interface StartInProcessOptions extends Partial<RunnerServerOptions> {
  runtime: SocketRuntime;
  socketPath: string;
  plugins: readonly AnyPlugin[];
}

/** Starts a {@linkcode RunnerServer} in this process. */
export async function startInProcess(options: StartInProcessOptions): Promise<InProcessRunner> {
  const { plugins, ...rest } = options;
  const server = new RunnerServer({
    registry: new PluginRegistry(plugins),
    confTtlMs: 60_000,
    ...rest,
  });
  await server.start();
  return {
    server,
    runtime: options.runtime,
    socketPath: options.socketPath,
    connect: () => ApisixConnection.connect(options.runtime, options.socketPath),
    stop: () => server.shutdown(50),
  };
}

/** Asserts a call on `conn` with `token` answers a Stop whose body is `body`. */
export async function assertHealthyCall(
  conn: ApisixConnection,
  token: number,
  body: string,
  id = 1,
): Promise<void> {
  const outcome = await withTimeout(conn.httpReqCall(reqCall(token, { id })), "healthy call");
  assert.equal(outcome.kind, "reply", `healthy call failed: ${JSON.stringify(outcome)}`);
  const action =
    (outcome as { response: { id: number; action?: { type: string; body?: Uint8Array } } })
      .response;
  assert.equal(action.id, id);
  assert.equal(action.action?.type, "stop");
  assert.equal(decoder.decode(action.action?.body), body);
}
