// Tests of ApisixClient and ApisixConnection against a scripted runner stand-in, on real and memory sockets.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  decodeExtraInfoResponse,
  decodeHttpReqCallRequest,
  decodeHttpRespCallRequest,
  decodePrepareConfRequest,
  encodeErrorResponse,
  encodeExtraInfoRequest,
  encodeHttpReqCallResponse,
  encodeHttpRespCallResponse,
  encodePrepareConfResponse,
  type Frame,
  UnexpectedEofError,
} from "../../protocol/mod.ts";
import {
  ErrorCode,
  type ExtraInfoRequest,
  type ExtraInfoResponse,
  FrameType,
  type HttpReqCallRequest,
  type HttpRespCallRequest,
  type PrepareConfRequest,
} from "../../protocol/types.ts";
import { createMemoryRuntime } from "../../runtime/memory.ts";
import { createNodeRuntime } from "../../runtime/node.ts";
import { SocketClosedError } from "../../runtime/errors.ts";
import type { Connection, SocketRuntime } from "../../runtime/types.ts";
import { FrameConnection } from "../../../tests/support/frame_connection.ts";
import { tempSocketPath } from "../../runtime/temp_socket.ts";
import {
  ApisixClient,
  ApisixClientClosedError,
  ApisixConnection,
  formatPrepareConfKey,
  PrepareConfError,
  type ReqCallDescription,
  type ReqCallInput,
  RunnerClosedError,
  UnexpectedReplyTypeError,
} from "./mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What the stand-in does with one frame; `ask` sends an ExtraInfo question and waits. */
interface StandInContext {
  readonly connId: number;
  ask(question: ExtraInfoRequest): Promise<ExtraInfoResponse>;
  /** Closes the connection instead of replying. */
  close(): void;
  /** Ends the connection right behind the reply (a draining runner). */
  endAfterReply(): void;
}

type Reply = { type: number; payload: Uint8Array } | undefined;

interface StandInHandlers {
  prepareConf?(req: PrepareConfRequest, ctx: StandInContext): Reply | Promise<Reply>;
  reqCall?(req: HttpReqCallRequest, ctx: StandInContext): Reply | Promise<Reply>;
  respCall?(req: HttpRespCallRequest, ctx: StandInContext): Reply | Promise<Reply>;
}

interface LoggedFrame {
  connId: number;
  type: number;
  /** Connections open (accepted and not yet at EOF) when the frame arrived. */
  openConns: number[];
}

/**
 * A tiny runner: hands out tokens from 100 and answers calls with no action,
 * unless a handler returns a reply. A handler that closes the connection
 * returns `undefined` too, so the default reply then fails to write.
 */
class StandIn {
  readonly frames: LoggedFrame[] = [];
  readonly prepareConfs: PrepareConfRequest[] = [];
  readonly reqCalls: HttpReqCallRequest[] = [];
  /** Failures of the stand-in's own checks, asserted empty when the setup closes. */
  readonly errors: unknown[] = [];
  /** Ids of connections that reached EOF (closed by the client). */
  readonly ended: number[] = [];
  #open = new Set<number>();
  #nextConnId = 1;
  #nextToken = 100;
  #handlers: StandInHandlers;
  #connections: Connection[] = [];
  #endListeners = new Set<() => void>();

  constructor(handlers: StandInHandlers) {
    this.#handlers = handlers;
  }

  get accepted(): number {
    return this.#nextConnId - 1;
  }

  /** Resolves once `condition` holds, re-checked each time a connection reaches its end. */
  untilEnded(condition: (ended: readonly number[]) => boolean): Promise<void> {
    if (condition(this.ended)) return Promise.resolve();
    return new Promise((resolve) => {
      const listener = () => {
        if (!condition(this.ended)) return;
        this.#endListeners.delete(listener);
        resolve();
      };
      this.#endListeners.add(listener);
    });
  }

  /** Closes every accepted connection from the runner side. */
  closeAll(): void {
    for (const conn of this.#connections) conn.close();
  }

  async serve(raw: Connection): Promise<void> {
    const connId = this.#nextConnId++;
    const conn = new FrameConnection(raw);
    this.#connections.push(raw);
    this.#open.add(connId);
    let endAfterReply = false;
    const ctx: StandInContext = {
      connId,
      ask: async (question) => {
        await conn.writeFrame(FrameType.ExtraInfo, encodeExtraInfoRequest(question));
        const answer = await conn.readFrame();
        assert.ok(answer !== null, "APISIX closed instead of answering ExtraInfo");
        assert.equal(answer.type, FrameType.ExtraInfo);
        return decodeExtraInfoResponse(answer.payload);
      },
      close: () => conn.close(),
      endAfterReply: () => endAfterReply = true,
    };
    try {
      for (;;) {
        const frame = await conn.readFrame();
        if (frame === null) break;
        this.frames.push({ connId, type: frame.type, openConns: [...this.#open] });
        const reply = await this.#dispatch(frame, ctx);
        if (reply !== undefined) await conn.writeFrame(reply.type, reply.payload);
        if (endAfterReply) {
          await raw.end();
          break;
        }
      }
    } catch (error) {
      // The client closed mid-exchange (or we did): same as EOF for the stand-in. Anything
      // else (an assertion of a handler, a bad frame) is kept for close() to report.
      if (!(error instanceof SocketClosedError || error instanceof UnexpectedEofError)) {
        this.errors.push(error);
      }
    } finally {
      this.#open.delete(connId);
      this.ended.push(connId);
      conn.close();
      for (const listener of this.#endListeners) listener();
    }
  }

  async #dispatch(frame: Frame, ctx: StandInContext): Promise<Reply> {
    switch (frame.type) {
      case FrameType.PrepareConf: {
        const req = decodePrepareConfRequest(frame.payload);
        this.prepareConfs.push(req);
        return await this.#handlers.prepareConf?.(req, ctx) ??
          prepareConfReply(this.#nextToken++);
      }
      case FrameType.HttpReqCall: {
        const req = decodeHttpReqCallRequest(frame.payload);
        this.reqCalls.push(req);
        return await this.#handlers.reqCall?.(req, ctx) ??
          { type: FrameType.HttpReqCall, payload: encodeHttpReqCallResponse({ id: req.id }) };
      }
      case FrameType.HttpRespCall: {
        const req = decodeHttpRespCallRequest(frame.payload);
        return await this.#handlers.respCall?.(req, ctx) ??
          { type: FrameType.HttpRespCall, payload: encodeHttpRespCallResponse({ id: req.id }) };
      }
      default:
        return errorReply(ErrorCode.BadRequest);
    }
  }
}

function prepareConfReply(confToken: number): Reply {
  return { type: FrameType.PrepareConf, payload: encodePrepareConfResponse({ confToken }) };
}

function errorReply(code: number): Reply {
  return { type: FrameType.Error, payload: encodeErrorResponse({ code }) };
}

interface Setup {
  runtime: SocketRuntime;
  socketPath: string;
  standIn: StandIn;
  client: ApisixClient;
  /** The client's connections, in the order it opened them. */
  clientConnections: Connection[];
  close(): Promise<void>;
}

type SetupFactory = (
  handlers: StandInHandlers,
  clientOptions?: { maxIdle?: number; now?: () => number; tokenTtlMs?: number },
) => Promise<Setup>;

async function startSetup(
  runtime: SocketRuntime,
  socketPath: string,
  handlers: StandInHandlers,
  clientOptions: { maxIdle?: number; now?: () => number; tokenTtlMs?: number },
  cleanup: () => Promise<void>,
): Promise<Setup> {
  const listener = await runtime.listenUnix(socketPath, { mode: 0o766 });
  const standIn = new StandIn(handlers);
  const serving: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener.accept()) serving.push(standIn.serve(conn));
  })();
  const clientConnections: Connection[] = [];
  const client = new ApisixClient({
    runtime: {
      async connectUnix(path) {
        const conn = await runtime.connectUnix(path);
        clientConnections.push(conn);
        return conn;
      },
    },
    socketPath,
    ...clientOptions,
  });
  return {
    runtime,
    socketPath,
    standIn,
    client,
    clientConnections,
    async close() {
      await client.close();
      await listener.close();
      standIn.closeAll();
      await accepting;
      await Promise.all(serving);
      await cleanup();
      assert.deepEqual(standIn.errors, [], "the runner stand-in failed");
    },
  };
}

const SETUPS: Record<string, SetupFactory> = {
  "node unix socket": async (handlers, clientOptions = {}) => {
    const socket = await tempSocketPath();
    return startSetup(createNodeRuntime(), socket.path, handlers, clientOptions, socket.remove);
  },
  "memory runtime": (handlers, clientOptions = {}) =>
    startSetup(
      createMemoryRuntime(),
      "/memory/runner.sock",
      handlers,
      clientOptions,
      () => Promise.resolve(),
    ),
};

const KEY = formatPrepareConfKey({ confId: 1, plugin: "ext-plugin-pre-req", version: 7 });
const CONF = [{ name: "say", value: '{"body":"hi"}' }];

function request(overrides: Partial<ReqCallDescription> = {}): ReqCallDescription {
  return {
    srcIp: new Uint8Array([127, 0, 0, 1]),
    method: 0,
    path: "/hello",
    args: [],
    headers: [{ name: "host", value: "example.com" }],
    ...overrides,
  };
}

function reqCall(overrides: Partial<ReqCallInput> = {}): ReqCallInput {
  return { type: "req", key: KEY, conf: CONF, request: request(), ...overrides };
}

for (const [name, setup] of Object.entries(SETUPS)) {
  describe(`ApisixClient over ${name}`, () => {
    test("call() sends PrepareConf on a second connection while the call's connection is held", async () => {
      const s = await setup({});
      try {
        const outcome = await s.client.call(reqCall({ request: request({ id: 42 }) }));
        assert.equal(outcome.kind, "reply");
        assert.equal(outcome.attempts, 1);
        // Frame 1 is the PrepareConf on connection 2 while connection 1 was open and silent.
        assert.deepEqual(s.standIn.frames.map(({ connId, type }) => ({ connId, type })), [
          { connId: 2, type: FrameType.PrepareConf },
          { connId: 1, type: FrameType.HttpReqCall },
        ]);
        assert.deepEqual(s.standIn.frames[0]!.openConns, [1, 2]);
        assert.deepEqual(s.standIn.prepareConfs, [{ conf: CONF, key: KEY }]);
        const call = s.standIn.reqCalls[0]!;
        assert.equal(call.confToken, 100);
        assert.equal(call.id, 42);
        assert.equal(call.path, "/hello");
        assert.deepEqual(call.headers, [{ name: "host", value: "example.com" }]);
        assert.equal(s.client.cachedToken(KEY), 100);
      } finally {
        await s.close();
      }
    });

    test("call() reuses the cached token and the pooled connection for sequential calls", async () => {
      const s = await setup({});
      try {
        for (let i = 0; i < 3; i++) {
          const outcome = await s.client.call(reqCall());
          assert.equal(outcome.kind, "reply");
        }
        const calls = s.standIn.frames.filter((f) => f.type === FrameType.HttpReqCall);
        assert.deepEqual(calls.map((f) => f.connId), [1, 1, 1]);
        assert.equal(s.standIn.prepareConfs.length, 1);
        assert.deepEqual(s.standIn.reqCalls.map((r) => r.confToken), [100, 100, 100]);
        assert.deepEqual(s.standIn.reqCalls.map((r) => r.id), [0, 1, 2]);
        assert.equal(s.standIn.accepted, 2);
        assert.deepEqual(s.client.stats, {
          connectionsOpened: 2,
          prepareConfs: 1,
          tokenFlushes: 0,
          idle: 2,
        });
      } finally {
        await s.close();
      }
    });

    test("call() flushes the tokens and retries after CONF_TOKEN_NOT_FOUND", async () => {
      let refusals = 0;
      const s = await setup({
        reqCall: () => refusals-- > 0 ? errorReply(ErrorCode.ConfTokenNotFound) : undefined,
      });
      try {
        const other = formatPrepareConfKey({ confId: 2, plugin: "ext-plugin-pre-req", version: 1 });
        await s.client.call(reqCall({ key: other }));
        assert.equal(s.client.cachedToken(other), 100);
        refusals = 1;
        const outcome = await s.client.call(reqCall());
        assert.equal(outcome.kind, "reply");
        assert.equal(outcome.attempts, 2);
        // The flush dropped the other key's token too, as APISIX flushes its whole cache.
        assert.equal(s.client.cachedToken(other), undefined);
        assert.deepEqual(s.standIn.prepareConfs.map((p) => p.key), [other, KEY, KEY]);
        assert.deepEqual(s.standIn.reqCalls.map((r) => r.confToken), [100, 101, 102]);
        assert.equal(s.client.stats.tokenFlushes, 1);
        // The connection that got the error frame was closed, not pooled.
        const refusedOn = s.standIn.frames.filter((f) => f.type === FrameType.HttpReqCall)[1]!;
        await s.standIn.untilEnded((ended) => ended.includes(refusedOn.connId));
      } finally {
        await s.close();
      }
    });

    test("call() gives up with the error outcome after three CONF_TOKEN_NOT_FOUND", async () => {
      const s = await setup({ reqCall: () => errorReply(ErrorCode.ConfTokenNotFound) });
      try {
        const outcome = await s.client.call(reqCall());
        assert.deepEqual(outcome, {
          kind: "error",
          code: ErrorCode.ConfTokenNotFound,
          questions: [],
          attempts: 3,
        });
        assert.equal(s.standIn.prepareConfs.length, 3);
        assert.equal(s.standIn.reqCalls.length, 3);
      } finally {
        await s.close();
      }
    });

    test("call() retries when PrepareConf itself answers CONF_TOKEN_NOT_FOUND", async () => {
      let refusals = 1;
      const s = await setup({
        prepareConf: () => refusals-- > 0 ? errorReply(ErrorCode.ConfTokenNotFound) : undefined,
      });
      try {
        const outcome = await s.client.call(reqCall());
        assert.equal(outcome.kind, "reply");
        assert.equal(outcome.attempts, 2);
        assert.equal(s.standIn.prepareConfs.length, 2);
      } finally {
        await s.close();
      }
    });

    test("call() rejects with PrepareConfError when PrepareConf answers another error code", async () => {
      const s = await setup({ prepareConf: () => errorReply(ErrorCode.ServiceUnavailable) });
      try {
        await assert.rejects(s.client.call(reqCall()), (error: unknown) => {
          assert.ok(error instanceof PrepareConfError);
          assert.equal(error.code, ErrorCode.ServiceUnavailable);
          assert.match(error.message, /route#1#ext-plugin-pre-req#7/);
          return true;
        });
        assert.equal(s.standIn.prepareConfs.length, 1);
        assert.equal(s.client.stats.idle, 0);
      } finally {
        await s.close();
      }
    });

    test("call() returns an error frame as outcome without retry and closes the connection", async () => {
      let refusals = 1;
      const s = await setup({
        reqCall: () => refusals-- > 0 ? errorReply(ErrorCode.ServiceUnavailable) : undefined,
      });
      try {
        const outcome = await s.client.call(reqCall());
        assert.deepEqual(outcome, {
          kind: "error",
          code: ErrorCode.ServiceUnavailable,
          questions: [],
          attempts: 1,
        });
        await s.standIn.untilEnded((ended) => ended.includes(1));
        const next = await s.client.call(reqCall());
        assert.equal(next.kind, "reply");
        // Connection 2 (from the PrepareConf) was pooled and serves the next call.
        assert.equal(s.standIn.frames.at(-1)!.connId, 2);
        assert.equal(s.standIn.prepareConfs.length, 1);
      } finally {
        await s.close();
      }
    });

    test("call() answers several ExtraInfo questions and records them in order", async () => {
      const seen: ExtraInfoResponse[] = [];
      const s = await setup({
        async reqCall(req, ctx) {
          seen.push(await ctx.ask({ type: "var", name: "remote_addr" }));
          seen.push(await ctx.ask({ type: "var", name: "no_such_var" }));
          seen.push(await ctx.ask({ type: "reqBody" }));
          const body = seen.map((r) => r.result === undefined ? "-" : decoder.decode(r.result));
          return {
            type: FrameType.HttpReqCall,
            payload: encodeHttpReqCallResponse({
              id: req.id,
              action: { type: "stop", status: 403, body: encoder.encode(body.join("|")) },
            }),
          };
        },
      });
      try {
        const outcome = await s.client.call(reqCall({
          answer(question) {
            if (question.type === "var" && question.name === "remote_addr") {
              return encoder.encode("10.0.0.1");
            }
            return question.type === "reqBody" ? Promise.resolve(encoder.encode("")) : undefined;
          },
        }));
        assert.equal(outcome.kind, "reply");
        assert.deepEqual(outcome.questions, [
          { type: "var", name: "remote_addr" },
          { type: "var", name: "no_such_var" },
          { type: "reqBody" },
        ]);
        const action = outcome.response.action;
        assert.equal(action?.type, "stop");
        assert.equal(action.status, 403);
        // Absent (unknown var) and empty (empty body) answers reach the runner distinctly.
        assert.equal(decoder.decode(action.body), "10.0.0.1|-|");
      } finally {
        await s.close();
      }
    });

    test("call() of type resp sends an HTTPRespCall and answers RespBody", async () => {
      const s = await setup({
        async respCall(req, ctx) {
          const body = await ctx.ask({ type: "respBody" });
          return {
            type: FrameType.HttpRespCall,
            payload: encodeHttpRespCallResponse({
              id: req.id,
              status: req.status + 1,
              body: body.result,
            }),
          };
        },
      });
      try {
        const outcome = await s.client.call({
          type: "resp",
          key: formatPrepareConfKey({ confId: 1, plugin: "ext-plugin-post-resp", version: 1 }),
          conf: undefined,
          request: { id: 9, status: 200, headers: [{ name: "Content-Type", value: "text/plain" }] },
          answer: (q) => q.type === "respBody" ? encoder.encode("upstream") : undefined,
        });
        assert.equal(outcome.kind, "reply");
        assert.equal(outcome.response.id, 9);
        assert.equal(outcome.response.status, 201);
        assert.equal(decoder.decode(outcome.response.body), "upstream");
        assert.deepEqual(outcome.questions, [{ type: "respBody" }]);
        assert.equal(s.standIn.prepareConfs[0]!.conf, undefined);
      } finally {
        await s.close();
      }
    });

    test("concurrent call()s with an uncached key share one PrepareConf", async () => {
      const s = await setup({});
      try {
        const outcomes = await Promise.all([1, 2, 3].map(() => s.client.call(reqCall())));
        assert.deepEqual(outcomes.map((o) => o.kind), ["reply", "reply", "reply"]);
        assert.equal(s.standIn.prepareConfs.length, 1);
        assert.deepEqual(s.standIn.reqCalls.map((r) => r.confToken), [100, 100, 100]);
      } finally {
        await s.close();
      }
    });

    test("the pool keeps at most maxIdle connections", async () => {
      const s = await setup({}, { maxIdle: 1 });
      try {
        await Promise.all([1, 2, 3].map(() => s.client.call(reqCall())));
        assert.equal(s.client.stats.idle, 1);
        assert.equal(s.client.stats.connectionsOpened, 4);
        await s.standIn.untilEnded((ended) => ended.length === 3);
      } finally {
        await s.close();
      }
    });

    test("a connection the runner ends right behind its reply is not pooled", async () => {
      const s = await setup({
        reqCall: (_req, ctx) => {
          ctx.endAfterReply();
          return undefined;
        },
      });
      try {
        // Back to back, as one nginx worker under load: each call must get a live connection.
        for (let i = 0; i < 5; i++) {
          const outcome = await s.client.call(reqCall());
          assert.equal(outcome.kind, "reply");
        }
        assert.equal(s.standIn.reqCalls.length, 5);
      } finally {
        await s.close();
      }
    });

    test("a pooled connection the runner closed is not reused", async () => {
      const s = await setup({});
      try {
        await s.client.call(reqCall());
        s.standIn.closeAll();
        await Promise.all(s.clientConnections.map((conn) => conn.closed));
        assert.equal(s.client.stats.idle, 0);
        const outcome = await s.client.call(reqCall());
        assert.equal(outcome.kind, "reply");
        assert.equal(s.standIn.frames.at(-1)!.connId, 3);
        assert.equal(s.client.stats.connectionsOpened, 3);
      } finally {
        await s.close();
      }
    });

    test("the token expires after tokenTtlMs on the injected clock", async () => {
      let now = 1_000;
      const s = await setup({}, { now: () => now, tokenTtlMs: 500 });
      try {
        await s.client.call(reqCall());
        now += 499;
        assert.equal(s.client.cachedToken(KEY), 100);
        await s.client.call(reqCall());
        now += 1;
        assert.equal(s.client.cachedToken(KEY), undefined);
        await s.client.call(reqCall());
        assert.equal(s.standIn.prepareConfs.length, 2);
      } finally {
        await s.close();
      }
    });

    test("call() rejects after close()", async () => {
      const s = await setup({});
      try {
        await s.client.close();
        await assert.rejects(s.client.call(reqCall()), ApisixClientClosedError);
      } finally {
        await s.close();
      }
    });
  });

  describe(`ApisixConnection over ${name}`, () => {
    test("prepareConf() rejects an ExtraInfo reply (only type 1 is accepted)", async () => {
      const s = await setup({
        prepareConf: () => ({
          type: FrameType.ExtraInfo,
          payload: encodeExtraInfoRequest({ type: "reqBody" }),
        }),
      });
      const conn = await ApisixConnection.connect(s.runtime, s.socketPath);
      try {
        await assert.rejects(conn.prepareConf(CONF, KEY), (error: unknown) => {
          assert.ok(error instanceof UnexpectedReplyTypeError);
          assert.equal(error.expected, FrameType.PrepareConf);
          assert.equal(error.actual, FrameType.ExtraInfo);
          return true;
        });
      } finally {
        conn.close();
        await s.close();
      }
    });

    test("httpReqCall() rejects a reply of another call type", async () => {
      const s = await setup({
        reqCall: (req) => ({
          type: FrameType.HttpRespCall,
          payload: encodeHttpRespCallResponse({ id: req.id }),
        }),
      });
      const conn = await ApisixConnection.connect(s.runtime, s.socketPath);
      try {
        await assert.rejects(
          conn.httpReqCall({ ...request(), id: 1, confToken: 1 }),
          /Expected a reply of frame type 2 from the runner, got type 4/,
        );
      } finally {
        conn.close();
        await s.close();
      }
    });

    test("httpReqCall() rejects with RunnerClosedError when the runner closes", async () => {
      const s = await setup({
        reqCall: (_req, ctx) => {
          ctx.close();
          return undefined;
        },
      });
      const conn = await ApisixConnection.connect(s.runtime, s.socketPath);
      try {
        await assert.rejects(
          conn.httpReqCall({ ...request(), id: 1, confToken: 1 }),
          RunnerClosedError,
        );
      } finally {
        conn.close();
        await s.close();
      }
    });

    test("sendFrame() and readFrame() exchange raw frames", async () => {
      const s = await setup({});
      const conn = await ApisixConnection.connect(s.runtime, s.socketPath);
      try {
        await conn.sendFrame(9, new Uint8Array([1, 2, 3]));
        const frame = await conn.readFrame();
        assert.equal(frame?.type, FrameType.Error);
      } finally {
        conn.close();
        await s.close();
      }
    });

    test("a second exchange on a busy connection is refused", async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => release = resolve);
      const s = await setup({
        async reqCall() {
          await gate;
          return undefined;
        },
      });
      const conn = await ApisixConnection.connect(s.runtime, s.socketPath);
      try {
        const first = conn.httpReqCall({ ...request(), id: 1, confToken: 1 });
        await assert.rejects(conn.prepareConf(CONF, KEY), /the connection is busy/);
        release();
        assert.equal((await first).kind, "reply");
      } finally {
        conn.close();
        await s.close();
      }
    });
  });
}

test("formatPrepareConfKey() joins conf type, id, plugin and version with #", () => {
  assert.equal(
    formatPrepareConfKey({ confId: 1, plugin: "ext-plugin-pre-req", version: 3 }),
    "route#1#ext-plugin-pre-req#3",
  );
  assert.equal(
    formatPrepareConfKey({
      confType: "global_rule",
      confId: "g",
      plugin: "ext-plugin-post-resp",
      version: "v2",
    }),
    "global_rule#g#ext-plugin-post-resp#v2",
  );
});
