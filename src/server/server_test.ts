// Tests of RunnerServer through the memory runtime, with the APISIX-playing connection as the peer.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { bundledPlugins } from "../../plugins/mod.ts";
import { testPlugins } from "../../tests/support/fixtures/test_plugins.ts";
import { ApisixConnection, PrepareConfError, type ReqCallOutcome } from "../dev/client/mod.ts";
import { PluginRegistry } from "../plugin/registry.ts";
import {
  decodeErrorResponse,
  decodeExtraInfoRequest,
  encodeExtraInfoResponse,
  encodeHttpReqCallRequest,
  encodeHttpRespCallRequest,
  encodePrepareConfRequest,
} from "../protocol/mod.ts";
import {
  ErrorCode,
  type ExtraInfoRequest,
  FrameType,
  type HttpReqCallRequest,
  type RewriteAction,
  type StopAction,
  type TextEntry,
} from "../protocol/types.ts";
import { createMemoryRuntime, type MemoryRuntime } from "../runtime/memory.ts";
import { FrameConnection } from "../../tests/support/frame_connection.ts";
import { RunnerServer, type RunnerServerOptions } from "./server.ts";

const SOCKET = "/run/apisix-runner-test.sock";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Harness {
  runtime: MemoryRuntime;
  server: RunnerServer;
  connect(): Promise<ApisixConnection>;
  /** Shuts the server down (idempotent) so no interval outlives the test. */
  stop(): Promise<void>;
}

async function startServer(options: Partial<RunnerServerOptions> = {}): Promise<Harness> {
  const runtime = createMemoryRuntime();
  const server = new RunnerServer({
    runtime,
    registry: new PluginRegistry([...bundledPlugins, ...testPlugins]),
    socketPath: SOCKET,
    confTtlMs: 60_000,
    firstToken: 100,
    ...options,
  });
  await server.start();
  return {
    runtime,
    server,
    connect: () => ApisixConnection.connect(runtime, SOCKET),
    stop: () => server.shutdown(50),
  };
}

/** Runs `body` against a fresh server and always shuts it down. */
async function withServer(
  options: Partial<RunnerServerOptions>,
  body: (h: Harness) => Promise<void>,
): Promise<void> {
  const harness = await startServer(options);
  try {
    await body(harness);
  } finally {
    await harness.stop();
  }
}

function request(confToken: number, init: Partial<HttpReqCallRequest> = {}): HttpReqCallRequest {
  return {
    id: 7,
    srcIp: undefined,
    method: 0,
    path: "/hello",
    args: [],
    headers: [],
    confToken,
    ...init,
  };
}

function deferred<T>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => resolve = r);
  return { promise, resolve };
}

function conf(name: string, value: unknown): TextEntry {
  return { name, value: typeof value === "string" ? value : JSON.stringify(value) };
}

function errorCode(outcome: ReqCallOutcome): number {
  assert.equal(outcome.kind, "error", `expected an error frame, got ${JSON.stringify(outcome)}`);
  return (outcome as { code: number }).code;
}

function stopOf(outcome: ReqCallOutcome): StopAction {
  assert.equal(outcome.kind, "reply");
  const action = (outcome as { response: { action?: unknown } }).response.action as StopAction;
  assert.equal(action?.type, "stop");
  return action;
}

function rewriteOf(outcome: ReqCallOutcome): RewriteAction {
  assert.equal(outcome.kind, "reply");
  const action = (outcome as { response: { action?: unknown } }).response.action as RewriteAction;
  assert.equal(action?.type, "rewrite");
  return action;
}

/** A var answerer whose answer the test releases; `asked` resolves with the first question. */
function lateAnswer(value: string | undefined) {
  const asked = deferred<ExtraInfoRequest>();
  const release = deferred<void>();
  return {
    asked: asked.promise,
    release: () => release.resolve(),
    answer: async (question: ExtraInfoRequest) => {
      asked.resolve(question);
      await release.promise;
      return value === undefined ? undefined : encoder.encode(value);
    },
  };
}

const SAY_HI = [conf("say", { body: "hi" })];

describe("RunnerServer PrepareConf", () => {
  test("RunnerServer answers the same token for a repeated key and new tokens for new keys", async () => {
    await withServer({}, async ({ connect }) => {
      const conn = await connect();
      const a = await conn.prepareConf(SAY_HI, "route#1#ext-plugin-pre-req#1");
      const again = await conn.prepareConf(SAY_HI, "route#1#ext-plugin-pre-req#1");
      const b = await conn.prepareConf(SAY_HI, "route#1#ext-plugin-pre-req#2");
      const c = await conn.prepareConf(SAY_HI, "route#2#ext-plugin-pre-req#1");
      assert.equal(again, a);
      assert.equal(new Set([a, b, c]).size, 3);
      conn.close();
    });
  });

  test("RunnerServer hands out a new token for every PrepareConf with an empty key", async () => {
    await withServer({}, async ({ connect }) => {
      const conn = await connect();
      await conn.sendFrame(FrameType.PrepareConf, encodePrepareConfRequest({ conf: SAY_HI }));
      const first = await conn.readFrame();
      await conn.sendFrame(FrameType.PrepareConf, encodePrepareConfRequest({ conf: SAY_HI }));
      const second = await conn.readFrame();
      assert.equal(first?.type, FrameType.PrepareConf);
      assert.equal(second?.type, FrameType.PrepareConf);
      assert.notDeepEqual(first?.payload, second?.payload);
      conn.close();
    });
  });

  test("RunnerServer answers BAD_REQUEST to an unknown plugin or a conf its parser refuses", async () => {
    await withServer({}, async ({ connect }) => {
      const conn = await connect();
      await assert.rejects(
        conn.prepareConf([conf("no-such-plugin", "{}")], "k1"),
        (error) => error instanceof PrepareConfError && error.code === ErrorCode.BadRequest,
      );
      await assert.rejects(
        conn.prepareConf([conf("test-strict", "nope")], "k2"),
        (error) => error instanceof PrepareConfError && error.code === ErrorCode.BadRequest,
      );
      // The connection is still in sync.
      assert.equal(typeof await conn.prepareConf([conf("test-strict", "ok")], "k3"), "number");
      conn.close();
    });
  });

  test("RunnerServer with skipInvalidConf gives a token whose chain holds the valid entries", async () => {
    await withServer({ skipInvalidConf: true }, async ({ connect }) => {
      const conn = await connect();
      const token = await conn.prepareConf(
        [conf("no-such-plugin", "{}"), conf("test-strict", "nope"), conf("test-strict", "ok")],
        "k",
      );
      const rewrite = rewriteOf(await conn.httpReqCall(request(token)));
      assert.deepEqual(rewrite.headers, [{ name: "x-strict", value: "1" }]);
      const onlyInvalid = await conn.prepareConf([conf("no-such-plugin", "{}")], "k-empty");
      const outcome = await conn.httpReqCall(request(onlyInvalid));
      assert.equal(outcome.kind, "reply");
      assert.equal(outcome.kind === "reply" ? outcome.response.action : "?", undefined);
      conn.close();
    });
  });
});

describe("RunnerServer calls", () => {
  test("RunnerServer answers a call on a conf without entries with no action", async () => {
    await withServer({}, async ({ connect }) => {
      const conn = await connect();
      const token = await conn.prepareConf(undefined, "route#9#ext-plugin-pre-req#1");
      const outcome = await conn.httpReqCall(request(token, { id: 4242 }));
      assert.deepEqual(outcome, {
        kind: "reply",
        response: { id: 4242, action: undefined },
        questions: [],
      });
      const resp = await conn.httpRespCall({ id: 5, status: 200, headers: [], confToken: token });
      assert.equal(resp.kind, "reply");
      conn.close();
    });
  });

  test("RunnerServer answers CONF_TOKEN_NOT_FOUND to an unknown token, on both call types", async () => {
    await withServer({}, async ({ connect }) => {
      const conn = await connect();
      assert.equal(errorCode(await conn.httpReqCall(request(99))), ErrorCode.ConfTokenNotFound);
      const resp = await conn.httpRespCall({ id: 1, status: 200, headers: [], confToken: 99 });
      assert.deepEqual(resp, { kind: "error", code: ErrorCode.ConfTokenNotFound, questions: [] });
      // Error frames keep the connection.
      const token = await conn.prepareConf(SAY_HI, "k");
      assert.equal(decoder.decode(stopOf(await conn.httpReqCall(request(token))).body), "hi");
      conn.close();
    });
  });

  test("RunnerServer answers BAD_REQUEST to an unknown frame type and keeps the connection", async () => {
    await withServer({}, async ({ connect }) => {
      const conn = await connect();
      await conn.sendFrame(9, encodePrepareConfRequest({ key: "x" }));
      const frame = await conn.readFrame();
      assert.equal(frame?.type, FrameType.Error);
      assert.equal(decodeErrorResponse(frame!.payload).code, ErrorCode.BadRequest);
      await conn.sendFrame(FrameType.ExtraInfo, encodeExtraInfoResponse({ result: undefined }));
      const stray = await conn.readFrame();
      assert.equal(stray?.type, FrameType.Error);
      assert.equal(decodeErrorResponse(stray!.payload).code, ErrorCode.BadRequest);
      const token = await conn.prepareConf(SAY_HI, "k");
      assert.equal(stopOf(await conn.httpReqCall(request(token))).status, 200);
      conn.close();
    });
  });

  test("RunnerServer closes only the connection that sent an undecodable payload", async () => {
    await withServer({}, async ({ connect, server }) => {
      const good = await connect();
      const token = await good.prepareConf(SAY_HI, "k");
      const bad = await connect();
      // A root offset far beyond the payload: no valid FlatBuffer.
      const garbage = new Uint8Array(64).fill(0xEE);
      await bad.sendFrame(FrameType.HttpReqCall, garbage);
      assert.equal(await bad.readFrame(), null);
      await bad.whenClosed;
      assert.equal(stopOf(await good.httpReqCall(request(token))).status, 200);
      assert.equal(server.connectionCount, 1);
      good.close();
    });
  });

  test("RunnerServer closes a connection whose frame ends early and serves the others", async () => {
    await withServer({}, async ({ connect, runtime }) => {
      const good = await connect();
      const token = await good.prepareConf(SAY_HI, "k");
      const raw = await FrameConnection.connect(runtime, SOCKET);
      await raw.write(new Uint8Array([FrameType.HttpReqCall, 0, 0x03, 0xE8]), new Uint8Array(10));
      raw.close();
      await raw.closed;
      assert.equal(stopOf(await good.httpReqCall(request(token))).status, 200);
      good.close();
    });
  });

  test("RunnerServer answers SERVICE_UNAVAILABLE when a filter throws and keeps the connection", async () => {
    await withServer({}, async ({ connect }) => {
      const conn = await connect();
      const token = await conn.prepareConf([conf("test-throws", "{}")], "k");
      assert.equal(errorCode(await conn.httpReqCall(request(token))), ErrorCode.ServiceUnavailable);
      const resp = await conn.httpRespCall({ id: 2, status: 200, headers: [], confToken: token });
      assert.equal(resp.kind === "error" ? resp.code : -1, ErrorCode.ServiceUnavailable);
      const bad = await conn.prepareConf([conf("test-non-response", "{}")], "k2");
      assert.equal(errorCode(await conn.httpReqCall(request(bad))), ErrorCode.ServiceUnavailable);
      const ok = await conn.prepareConf(SAY_HI, "k3");
      assert.equal(stopOf(await conn.httpReqCall(request(ok))).status, 200);
      conn.close();
    });
  });

  test("RunnerServer answers SERVICE_UNAVAILABLE when a call misses its deadline", async () => {
    await withServer({ callTimeoutMs: 40 }, async ({ connect }) => {
      const conn = await connect();
      const token = await conn.prepareConf([conf("test-hangs", "{}")], "k");
      const started = performance.now();
      assert.equal(errorCode(await conn.httpReqCall(request(token))), ErrorCode.ServiceUnavailable);
      const took = performance.now() - started;
      assert.ok(took >= 35 && took < 1_000, `deadline reply after ${took} ms`);
      const ok = await conn.prepareConf(SAY_HI, "k2");
      assert.equal(stopOf(await conn.httpReqCall(request(ok))).status, 200);
      conn.close();
    });
  });

  test("RunnerServer closes the connection when the deadline passes while an ExtraInfo answer is awaited", async () => {
    await withServer({ callTimeoutMs: 40 }, async ({ connect }) => {
      const conn = await connect();
      const token = await conn.prepareConf([conf("forward-vars", { vars: ["a"] })], "k");
      const late = lateAnswer("1");
      const call = conn.httpReqCall(request(token), late.answer);
      await late.asked;
      await conn.whenClosed;
      late.release();
      await assert.rejects(call);
    });
  });

  test("RunnerServer answers SERVICE_UNAVAILABLE instead of a reply over 0xFFFFFF bytes", async () => {
    await withServer({}, async ({ connect }) => {
      const conn = await connect();
      const token = await conn.prepareConf([conf("test-big-stop", { size: 0x1000000 })], "k");
      assert.equal(errorCode(await conn.httpReqCall(request(token))), ErrorCode.ServiceUnavailable);
      const fits = await conn.prepareConf([conf("test-big-stop", { size: 0xFFFF00 })], "k2");
      assert.equal(stopOf(await conn.httpReqCall(request(fits))).body?.length, 0xFFFF00);
      conn.close();
    });
  });

  test("RunnerServer closes the connection when an ExtraInfo answer comes as another frame type", async () => {
    await withServer({}, async ({ connect }) => {
      const conn = await connect();
      const token = await conn.prepareConf([conf("forward-vars", { vars: ["a"] })], "k");
      await conn.sendFrame(FrameType.HttpReqCall, encodeHttpReqCallRequest(request(token)));
      const question = await conn.readFrame();
      assert.equal(question?.type, FrameType.ExtraInfo);
      assert.deepEqual(decodeExtraInfoRequest(question!.payload), { type: "var", name: "a" });
      await conn.sendFrame(FrameType.HttpReqCall, encodeHttpReqCallRequest(request(token)));
      assert.equal(await conn.readFrame(), null);
    });
  });

  test("RunnerServer closes the connection when an ExtraInfo answer is undecodable", async () => {
    await withServer({}, async ({ connect }) => {
      const conn = await connect();
      const token = await conn.prepareConf([conf("forward-vars", { vars: ["a"] })], "k");
      await conn.sendFrame(FrameType.HttpReqCall, encodeHttpReqCallRequest(request(token)));
      assert.equal((await conn.readFrame())?.type, FrameType.ExtraInfo);
      await conn.sendFrame(FrameType.ExtraInfo, new Uint8Array(16).fill(0xEE));
      assert.equal(await conn.readFrame(), null);
    });
  });

  test("RunnerServer serves a PrepareConf on a second connection while the first waits for an ExtraInfo answer", async () => {
    await withServer({}, async ({ connect }) => {
      const first = await connect();
      const token = await first.prepareConf([conf("forward-vars", { vars: ["route_id"] })], "k1");
      const late = lateAnswer("r-1");
      const call = first.httpReqCall(request(token), late.answer);
      assert.deepEqual(await late.asked, { type: "var", name: "route_id" });
      const second = await connect();
      const other = await second.prepareConf(SAY_HI, "k2");
      assert.notEqual(other, token);
      assert.equal(stopOf(await second.httpReqCall(request(other))).status, 200);
      late.release();
      const rewrite = rewriteOf(await call);
      assert.deepEqual(rewrite.headers, [{ name: "x-var-route_id", value: "r-1" }]);
      first.close();
      second.close();
    });
  });

  test("RunnerServer serves a response filter reading the upstream body through RespBody", async () => {
    await withServer({}, async ({ connect }) => {
      const conn = await connect();
      const token = await conn.prepareConf(
        [conf("response-rewrite", {
          status: 201,
          filters: [{ regex: "world", scope: "global", replace: "there" }],
        })],
        "k",
      );
      const outcome = await conn.httpRespCall(
        { id: 3, status: 200, headers: [{ name: "X-Up", value: "1" }], confToken: token },
        (question) => question.type === "respBody" ? encoder.encode("hello world") : undefined,
      );
      assert.equal(outcome.kind, "reply");
      if (outcome.kind !== "reply") return;
      assert.deepEqual(outcome.questions, [{ type: "respBody" }]);
      assert.equal(outcome.response.status, 201);
      assert.equal(decoder.decode(outcome.response.body), "hello there");
      conn.close();
    });
  });

  test("RunnerServer keeps answering raw frames in order on one connection", async () => {
    await withServer({}, async ({ connect }) => {
      const conn = await connect();
      const token = await conn.prepareConf(SAY_HI, "k");
      // Pipelined: APISIX never does this, but frames must still be answered in order.
      await conn.sendFrame(FrameType.HttpReqCall, encodeHttpReqCallRequest(request(token)));
      await conn.sendFrame(
        FrameType.HttpRespCall,
        encodeHttpRespCallRequest({ id: 1, status: 200, headers: [], confToken: 12345 }),
      );
      assert.equal((await conn.readFrame())?.type, FrameType.HttpReqCall);
      const second = await conn.readFrame();
      assert.equal(second?.type, FrameType.Error);
      assert.equal(decodeErrorResponse(second!.payload).code, ErrorCode.ConfTokenNotFound);
      conn.close();
    });
  });
});

describe("RunnerServer conf TTL", () => {
  test("RunnerServer forgets a conf after the TTL and refreshes it on each use", async () => {
    let now = 1_000;
    await withServer({ confTtlMs: 10_000, clock: { now: () => now } }, async ({ connect }) => {
      const conn = await connect();
      const token = await conn.prepareConf(SAY_HI, "k");
      now += 9_999;
      assert.equal(stopOf(await conn.httpReqCall(request(token))).status, 200);
      now += 9_999; // 19 998 ms after the PrepareConf, but within the TTL of the last use.
      assert.equal(stopOf(await conn.httpReqCall(request(token))).status, 200);
      now += 10_000;
      assert.equal(errorCode(await conn.httpReqCall(request(token))), ErrorCode.ConfTokenNotFound);
      const renewed = await conn.prepareConf(SAY_HI, "k");
      assert.notEqual(renewed, token);
      assert.equal(stopOf(await conn.httpReqCall(request(renewed))).status, 200);
      conn.close();
    });
  });

  test("RunnerServer returns the same token for a repeated key only while the conf lives", async () => {
    let now = 0;
    await withServer({ confTtlMs: 5_000, clock: { now: () => now } }, async ({ connect }) => {
      const conn = await connect();
      const token = await conn.prepareConf(SAY_HI, "k");
      now += 4_000;
      assert.equal(await conn.prepareConf(SAY_HI, "k"), token);
      now += 5_000;
      assert.notEqual(await conn.prepareConf(SAY_HI, "k"), token);
      conn.close();
    });
  });
});

describe("RunnerServer.shutdown()", () => {
  test("RunnerServer.shutdown() closes idle connections, lets a busy call finish and removes the socket", async () => {
    const { connect, server, runtime } = await startServer();
    const idle = await connect();
    const busy = await connect();
    const token = await idle.prepareConf([conf("forward-vars", { vars: ["a"] })], "k");
    const never = await connect(); // connected, never sent a frame
    const late = lateAnswer("late");
    const call = busy.httpReqCall(request(token), late.answer);
    await late.asked;
    const stopped = server.shutdown(5_000);
    await idle.whenClosed;
    await never.whenClosed;
    assert.equal(busy.closed, false);
    await assert.rejects(runtime.connectUnix(SOCKET));
    late.release();
    const rewrite = rewriteOf(await call);
    assert.deepEqual(rewrite.headers, [{ name: "x-var-a", value: "late" }]);
    await stopped;
    await busy.whenClosed;
    assert.equal(await runtime.lstat(SOCKET), undefined);
    assert.equal(server.connectionCount, 0);
  });

  test("RunnerServer.shutdown() closes a call still running when the grace time is over", async () => {
    const { connect, server, runtime } = await startServer();
    const conn = await connect();
    const token = await conn.prepareConf([conf("test-hangs", "{}")], "k");
    const call = conn.httpReqCall(request(token));
    // Wait until the frame is being handled: a second connection's reply comes after it was read.
    const other = await connect();
    await other.prepareConf(SAY_HI, "k2");
    const started = performance.now();
    await server.shutdown(30);
    const took = performance.now() - started;
    assert.ok(took < 1_000, `shutdown took ${took} ms`);
    await assert.rejects(call);
    await conn.whenClosed;
    await other.whenClosed;
    assert.equal(await runtime.lstat(SOCKET), undefined);
  });

  test("RunnerServer.shutdown() serves a frame that arrives while draining, then ends that connection", async () => {
    const { connect, server } = await startServer();
    const pooled = await connect();
    const token = await pooled.prepareConf(SAY_HI, "k");
    const stopped = server.shutdown(5_000);
    // APISIX takes the connection from its pool after the drain began: the call is served.
    const outcome = await pooled.httpReqCall(request(token));
    assert.equal(stopOf(outcome).status, 200);
    await pooled.whenClosed;
    await stopped;
    assert.equal(server.connectionCount, 0);
  });

  test("RunnerServer.start() takes over the path of a runner still serving it", async () => {
    const runtime = createMemoryRuntime();
    const options = {
      runtime,
      registry: new PluginRegistry(bundledPlugins),
      socketPath: SOCKET,
      confTtlMs: 60_000,
    };
    const old = new RunnerServer(options);
    await old.start();
    const kept = await ApisixConnection.connect(runtime, SOCKET);
    const next = new RunnerServer(options);
    await next.start();
    assert.equal(next.connectionCount, 0, "the probe of the old runner is not a connection here");
    const fresh = await ApisixConnection.connect(runtime, SOCKET);
    assert.equal(typeof await fresh.prepareConf(SAY_HI, "k"), "number");
    assert.equal(next.connectionCount, 1);
    // The old runner keeps serving what it had until it is stopped.
    assert.equal(typeof await kept.prepareConf(SAY_HI, "k"), "number");
    await old.shutdown(10);
    assert.notEqual(await runtime.lstat(SOCKET), undefined, "the successor's socket stays");
    fresh.close();
    await next.shutdown(10);
  });

  test("RunnerServer.start() refuses a socket path over 107 bytes, naming its length", async () => {
    const runtime = createMemoryRuntime();
    const path = `/run/${"s".repeat(103)}`;
    const server = new RunnerServer({
      runtime,
      registry: new PluginRegistry(bundledPlugins),
      socketPath: path,
      confTtlMs: 1_000,
    });
    await assert.rejects(
      server.start(),
      /the path is 108 bytes long and unix sockets take at most 107 bytes/,
    );
    assert.equal(await runtime.lstat(path), undefined);
  });

  test("RunnerServer.shutdown() is idempotent", async () => {
    const { server } = await startServer();
    const a = server.shutdown(10);
    assert.equal(server.shutdown(10), a);
    await a;
  });

  test("RunnerServer.start() replaces a stale socket file and refuses a regular file", async () => {
    const runtime = createMemoryRuntime();
    runtime.addFile(SOCKET, { isSocket: true });
    const server = new RunnerServer({
      runtime,
      registry: new PluginRegistry(bundledPlugins),
      socketPath: SOCKET,
      confTtlMs: 1_000,
    });
    await server.start();
    assert.equal((await runtime.lstat(SOCKET))?.mode, 0o766);
    const conn = await ApisixConnection.connect(runtime, SOCKET);
    assert.equal(typeof await conn.prepareConf(SAY_HI, "k"), "number");
    conn.close();
    await server.shutdown(10);

    const other = createMemoryRuntime();
    other.addFile(SOCKET, { isFile: true });
    const refused = new RunnerServer({
      runtime: other,
      registry: new PluginRegistry(bundledPlugins),
      socketPath: SOCKET,
      confTtlMs: 1_000,
    });
    await assert.rejects(refused.start(), /regular file/);
  });
});
