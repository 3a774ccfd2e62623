// Hardening: faulty plugins, deadlines and disconnects cost only their own call, on every socket runtime.

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import v8 from "node:v8";
import vm from "node:vm";
import { after, before, describe, test } from "node:test";
import { bundledPlugins } from "../plugins/mod.ts";
import { type ApisixConnection, PrepareConfError } from "../src/dev/client/mod.ts";
import { definePlugin } from "../src/plugin/define_plugin.ts";
import { PluginFilterError, PluginTimeoutError } from "../src/plugin/errors.ts";
import { stop } from "../src/plugin/stop.ts";
import type { FilterResult } from "../src/plugin/types.ts";
import { FrameTooLargeError } from "../src/protocol/errors.ts";
import { ErrorCode, FrameType } from "../src/protocol/types.ts";
import { detectRuntimeName } from "../src/runtime/detect.ts";
import { createMemoryRuntime } from "../src/runtime/memory.ts";
import { createNodeRuntime } from "../src/runtime/node.ts";
import type { SocketRuntime } from "../src/runtime/types.ts";
import { CallEndedError } from "../src/plugin/errors.ts";
import { ApisixDisconnectedError, CallDeadlineError } from "../src/server/errors.ts";
import {
  assertHealthyCall,
  type CapturedLogs,
  captureLogs,
  conf,
  deferred,
  type InProcessRunner,
  reqCall,
  startInProcess,
  withTimeout,
} from "./support/hardening.ts";

/** What the probing plugins report to the test that runs them. */
interface Probe {
  /** Called by `hx-hang` and `hx-await-var` with their call's signal when the filter starts. */
  onStart?: (signal: AbortSignal) => void;
  /** Called by `hx-late-ask` and `hx-ask-after-return` with what their ask after the call did. */
  onLateAsk?: (outcome: unknown) => void;
}

let probe: Probe = {};

const faultyPlugins = [
  definePlugin({
    name: "hx-say",
    parseConf: (raw) => stop(200, { body: raw }),
    requestFilter: (_req, response) => response,
  }),
  definePlugin({
    name: "hx-sync-throw",
    parseConf: () => ({}),
    requestFilter(req): FilterResult {
      throw new Error(`bad header ${req.headers.get("x-evil")}`);
    },
  }),
  definePlugin({
    name: "hx-reject",
    parseConf: () => ({}),
    requestFilter: () => Promise.reject(new Error("rejected on purpose")),
  }),
  definePlugin({
    name: "hx-hang",
    parseConf: () => ({}),
    requestFilter(req) {
      probe.onStart?.(req.signal);
      return new Promise<FilterResult>(() => {});
    },
  }),
  definePlugin({
    name: "hx-not-response",
    parseConf: () => ({}),
    requestFilter: () => 42 as unknown as FilterResult,
  }),
  definePlugin({
    name: "hx-oversize",
    parseConf: () => ({}),
    requestFilter: () => stop(200, { body: new Uint8Array(0x1000000) }),
  }),
  definePlugin({
    name: "hx-await-var",
    parseConf: () => ({}),
    async requestFilter(req) {
      probe.onStart?.(req.signal);
      await req.var("remote_addr");
      return stop(200, { body: "got var" });
    },
  }),
  definePlugin({
    name: "hx-late-ask",
    parseConf: () => ({}),
    requestFilter(req) {
      // Ignores its deadline, then asks anyway once the call is over.
      req.signal.addEventListener("abort", () => {
        setTimeout(() => {
          req.var("remote_addr").then(
            (value) => probe.onLateAsk?.(value),
            (error) => probe.onLateAsk?.(error),
          );
        }, 0);
      });
      return new Promise<FilterResult>(() => {});
    },
  }),
  definePlugin({
    name: "hx-ask-after-return",
    parseConf: () => ({}),
    requestFilter(req) {
      setTimeout(() => {
        req.var("remote_addr").then(
          (value) => probe.onLateAsk?.(value),
          (error) => probe.onLateAsk?.(error),
        );
      }, 0);
      return stop(200, { body: "returned" });
    },
  }),
  definePlugin({
    name: "hx-unawaited-ask",
    parseConf: () => ({}),
    requestFilter(req) {
      req.var("remote_addr").catch(() => {});
      return undefined;
    },
  }),
];

/** Forces a full garbage collection where the runtime allows it. */
function collectGarbage(): void {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  if (bun !== undefined) {
    bun.gc(true);
    return;
  }
  try {
    v8.setFlagsFromString("--expose-gc");
    (vm.runInNewContext("gc") as () => void)();
  } catch {
    // No way to force it here: the heap bound below is loose enough.
  }
}

function heapUsed(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

interface RuntimeCase {
  name: string;
  make(): SocketRuntime;
}

const runtimes: RuntimeCase[] = [
  { name: "memory", make: () => createMemoryRuntime() },
  { name: "node", make: () => createNodeRuntime() },
];
const native = detectRuntimeName();
if (native === "deno") {
  const { createDenoRuntime } = await import("../src/runtime/deno.ts");
  runtimes.push({ name: "deno", make: () => createDenoRuntime() });
} else if (native === "bun") {
  const { createBunRuntime } = await import("../src/runtime/bun.ts");
  runtimes.push({ name: "bun", make: () => createBunRuntime() });
}

for (const runtimeCase of runtimes) {
  describe(`hardening faults over the ${runtimeCase.name} runtime`, () => {
    let dir: string;
    let runner: InProcessRunner;
    let logs: CapturedLogs;
    let healthy: ApisixConnection;
    let sayToken: number;
    const tokens = new Map<string, number>();

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "hardening-faults-"));
      logs = await captureLogs();
      runner = await startInProcess({
        runtime: runtimeCase.make(),
        socketPath: join(dir, "runner.sock"),
        plugins: [...faultyPlugins, ...bundledPlugins],
        callTimeoutMs: 120,
      });
      healthy = await runner.connect();
      sayToken = await healthy.prepareConf([conf("hx-say", "healthy")], "route#say");
      for (const plugin of faultyPlugins) {
        tokens.set(
          plugin.name,
          await healthy.prepareConf([conf(plugin.name)], `route#${plugin.name}`),
        );
      }
    });

    after(async () => {
      probe = {};
      healthy.close();
      await runner.stop();
      await logs.stop();
      await rm(dir, { recursive: true, force: true });
    });

    // A plugin that throws is logged with its error (and stack); a foreseen failure by message
    // alone, its class in `errorName`.
    const failures: [string, RegExp, (error: unknown, name: unknown) => boolean][] = [
      [
        "hx-sync-throw",
        /bad header/,
        (e, name) => e instanceof Error && name === PluginFilterError.name,
      ],
      [
        "hx-reject",
        /rejected on purpose/,
        (e, name) => e instanceof Error && name === PluginFilterError.name,
      ],
      [
        "hx-hang",
        /did not finish/,
        (e, name) => typeof e === "string" && name === PluginTimeoutError.name,
      ],
      [
        "hx-not-response",
        /filter returned a number/,
        (e, name) => typeof e === "string" && name === PluginFilterError.name,
      ],
      [
        "hx-oversize",
        /exceeds the limit/,
        (e, name) => typeof e === "string" && name === FrameTooLargeError.name,
      ],
    ];

    test("each faulty plugin fails only its call with SERVICE_UNAVAILABLE and a log line naming plugin and request id", async () => {
      const bad = await runner.connect();
      try {
        let id = 1000;
        for (const [name, message, isExpected] of failures) {
          id++;
          // A healthy call on another connection runs while the faulty one is pending.
          const faulty = bad.httpReqCall(reqCall(tokens.get(name)!, { id }));
          await assertHealthyCall(healthy, sayToken, "healthy", id + 5000);
          const outcome = await withTimeout(faulty, `call to ${name}`);
          assert.deepEqual(outcome, {
            kind: "error",
            code: ErrorCode.ServiceUnavailable,
            questions: [],
          });
          const record = logs.records.find((r) => r.properties.requestId === id);
          assert.ok(record !== undefined, `no log line with request id ${id} for ${name}`);
          assert.equal(record.level, "error");
          assert.ok(
            isExpected(record.properties.error, record.properties.errorName),
            `${name}: ${record.properties.error}`,
          );
          const error = record.properties.error;
          assert.match(error instanceof Error ? error.message : String(error), message);
          // The oversize body fails after the chain: only the request id can be named.
          if (name !== "hx-oversize") assert.equal(record.properties.plugin, name);
          // The same connection stays in sync and serves the next call.
          await assertHealthyCall(bad, sayToken, "healthy", id + 9000);
        }
      } finally {
        bad.close();
      }
    });

    test("the AbortSignal of a pending filter fires at the deadline with CallDeadlineError", async () => {
      const started = deferred<AbortSignal>();
      probe = { onStart: (signal) => started.resolve(signal) };
      const conn = await runner.connect();
      try {
        const call = conn.httpReqCall(reqCall(tokens.get("hx-hang")!, { id: 77 }));
        const signal = await withTimeout(started.promise, "filter start");
        const reason = await withTimeout(
          new Promise((resolve) => signal.addEventListener("abort", () => resolve(signal.reason))),
          "abort at the deadline",
        );
        assert.ok(reason instanceof CallDeadlineError, String(reason));
        assert.equal((await call).kind, "error");
      } finally {
        probe = {};
        conn.close();
      }
    });

    test("closing the connection while a filter awaits fires its AbortSignal, 2000 times without leaks", async () => {
      const repeats = 2000;
      const round = async () => {
        const started = deferred<AbortSignal>();
        probe = { onStart: (signal) => started.resolve(signal) };
        const conn = await runner.connect();
        conn.httpReqCall(reqCall(tokens.get("hx-hang")!, { id: 5 })).catch(() => {});
        const signal = await withTimeout(started.promise, "filter start");
        const aborted = new Promise((resolve) => {
          signal.addEventListener("abort", () => resolve(signal.reason));
        });
        conn.close();
        const reason = await withTimeout(aborted, "abort on close");
        assert.ok(reason instanceof ApisixDisconnectedError, String(reason));
      };
      for (let i = 0; i < 20; i++) await round();
      logs.records.length = 0;
      const heapBefore = heapUsed();
      for (let i = 0; i < repeats; i++) await round();
      probe = {};
      await withTimeout(
        (async () => {
          // The server notices the closes asynchronously; only the healthy connection stays.
          while (runner.server.connectionCount > 1) await new Promise((r) => setTimeout(r, 5));
        })(),
        "connections released",
      );
      // Every disconnect logs a line with its error: those records are the test's, not leaks.
      logs.records.length = 0;
      const grown = heapUsed() - heapBefore;
      // A leaked call (signal, channel, request view, plugin closure) is over 1 KiB; measured
      // growth is 0.1-0.7 MB whether 300 or 3000 rounds run (no per-call growth).
      assert.ok(grown < repeats * 1024, `heap grew by ${grown} bytes over ${repeats} disconnects`);
      await assertHealthyCall(healthy, sayToken, "healthy");
    });

    test("closing the connection in the middle of an ExtraInfo exchange aborts the call", async () => {
      const started = deferred<AbortSignal>();
      probe = { onStart: (signal) => started.resolve(signal) };
      const conn = await runner.connect();
      try {
        const asked = deferred<void>();
        const call = conn.httpReqCall(
          reqCall(tokens.get("hx-await-var")!, { id: 9 }),
          () => {
            asked.resolve();
            return new Promise<undefined>(() => {});
          },
        );
        call.catch(() => {});
        const signal = await withTimeout(started.promise, "filter start");
        await withTimeout(asked.promise, "ExtraInfo question");
        const aborted = new Promise((resolve) => {
          signal.addEventListener("abort", () => resolve(signal.reason));
        });
        conn.close();
        assert.ok(await withTimeout(aborted, "abort") instanceof ApisixDisconnectedError);
        await assertHealthyCall(healthy, sayToken, "healthy");
      } finally {
        probe = {};
        conn.close();
      }
    });

    test("a deadline hit while an ExtraInfo answer is awaited closes that connection only", async () => {
      const conn = await runner.connect();
      try {
        // The answer never comes (the answerer hangs, so the client is not reading either).
        conn.httpReqCall(
          reqCall(tokens.get("hx-await-var")!, { id: 10 }),
          () => new Promise<undefined>(() => {}),
        ).catch(() => {});
        await withTimeout(conn.whenClosed, "connection closed at the deadline");
        await assertHealthyCall(healthy, sayToken, "healthy");
      } finally {
        conn.close();
      }
    });

    test("an ExtraInfo ask after the call ended is refused and writes nothing", async () => {
      const lateAsk = deferred<unknown>();
      probe = { onLateAsk: (outcome) => lateAsk.resolve(outcome) };
      const conn = await runner.connect();
      try {
        const outcome = await withTimeout(
          conn.httpReqCall(reqCall(tokens.get("hx-late-ask")!, { id: 11 })),
          "deadline reply",
        );
        assert.equal(outcome.kind, "error");
        const late = await withTimeout(lateAsk.promise, "late ask");
        assert.ok(late instanceof CallDeadlineError, String(late));
        // Nothing stray on the wire: the next exchange gets exactly its own reply.
        await assertHealthyCall(conn, sayToken, "healthy", 12);
      } finally {
        probe = {};
        conn.close();
      }
    });

    test("an ExtraInfo ask after a call that ended normally is refused and writes nothing", async () => {
      const lateAsk = deferred<unknown>();
      probe = { onLateAsk: (outcome) => lateAsk.resolve(outcome) };
      const conn = await runner.connect();
      try {
        await assertHealthyCall(conn, tokens.get("hx-ask-after-return")!, "returned", 14);
        const late = await withTimeout(lateAsk.promise, "late ask");
        assert.ok(late instanceof CallEndedError, String(late));
        await assertHealthyCall(conn, sayToken, "healthy", 15);
      } finally {
        probe = {};
        conn.close();
      }
    });

    test("plugin names and conf values are data: never looked up on prototypes, never evaluated", async () => {
      for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
        await assert.rejects(
          healthy.prepareConf([conf(name)], `route#${name}`),
          (error) => error instanceof PrepareConfError && error.code === ErrorCode.BadRequest,
        );
      }
      // A conf value reaches the plugin as text: its "${...}" comes back as those characters.
      const hostile = '{"__proto__":{"polluted":"yes"},"body":"${globalThis.x = 1}"}';
      const token = await healthy.prepareConf([{ name: "say", value: hostile }], "route#proto");
      await assertHealthyCall(healthy, token, "${globalThis.x = 1}");
    });

    test("a filter that leaves an ExtraInfo question in flight gets its connection closed, not desynchronised", async () => {
      const conn = await runner.connect();
      try {
        await conn.sendFrame(
          FrameType.HttpReqCall,
          (await import("../src/protocol/mod.ts")).encodeHttpReqCallRequest(
            reqCall(tokens.get("hx-unawaited-ask")!, { id: 13 }),
          ),
        );
        // The question goes out (unless the close overtakes it), then the runner closes: no reply.
        for (;;) {
          const frame = await withTimeout(conn.readFrame(), "frame or close");
          if (frame === null) break;
          assert.equal(frame.type, FrameType.ExtraInfo, `unexpected frame type ${frame.type}`);
        }
        await assertHealthyCall(healthy, sayToken, "healthy");
      } finally {
        conn.close();
      }
    });
  });
}
