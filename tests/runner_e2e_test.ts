// End-to-end tests of the runner core: real runner processes on deno, bun and node, APISIX played over real sockets.

import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { ApisixConnection, PrepareConfError } from "../src/dev/client/mod.ts";
import {
  decodeErrorResponse,
  encodeExtraInfoResponse,
  encodeFrame,
  encodeHttpReqCallRequest,
  encodePrepareConfRequest,
} from "../src/protocol/mod.ts";
import { ErrorCode, FrameType, MAX_PAYLOAD_SIZE, type TextEntry } from "../src/protocol/types.ts";
import { createNodeRuntime } from "../src/runtime/node.ts";
import { FrameConnection } from "./support/frame_connection.ts";
import {
  answerFrom,
  assertNoAction,
  conf,
  decoder,
  encoder,
  errorCode,
  largestFittingBody,
  lateAnswer,
  reqCall,
  rewriteOf,
  runnerSkipReason,
  sortedEntries,
  stopOf,
} from "./support/e2e_helpers.ts";
import {
  type RunnerProcess,
  type RunnerRuntime,
  spawnRunner,
  tempSocketPath,
} from "./support/runner_process.ts";

const RUNTIMES: readonly RunnerRuntime[] = ["deno", "bun", "node"];
const net = createNodeRuntime();
const MiB = 1024 * 1024;
/** Bound of one test; the heavy ones (2000 calls, 64 connections, 4 MiB bodies) fit easily. */
const TEST_TIMEOUT_MS = 20_000;
const SAY_HI: TextEntry[] = [conf("say", { body: "hi" })];

function connect(runner: RunnerProcess): Promise<ApisixConnection> {
  return ApisixConnection.connect(net, runner.socketPath);
}

for (const runtime of RUNTIMES) {
  const skip = runnerSkipReason(runtime);

  describe(`runner process on ${runtime}`, { skip }, () => {
    let runner: RunnerProcess;
    before(async () => {
      runner = await spawnRunner({ runtime });
    });
    after(async () => {
      await runner?.dispose();
    });

    test("PrepareConf gives the same token for a repeated key and new tokens for new keys", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const a = await connect(runner);
      const b = await connect(runner);
      const token = await a.prepareConf(SAY_HI, "route#1#ext-plugin-pre-req#1");
      assert.equal(await b.prepareConf(SAY_HI, "route#1#ext-plugin-pre-req#1"), token);
      const other = await a.prepareConf(SAY_HI, "route#1#ext-plugin-pre-req#2");
      const post = await b.prepareConf(SAY_HI, "route#1#ext-plugin-post-req#1");
      assert.equal(new Set([token, other, post]).size, 3);
      a.close();
      b.close();
    });

    test("a call on a conf without entries gets a reply without action", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const conn = await connect(runner);
      const token = await conn.prepareConf(undefined, "route#2#ext-plugin-pre-req#1");
      const outcome = await conn.httpReqCall(reqCall(token, { id: 77 }));
      assert.deepEqual(outcome, {
        kind: "reply",
        response: { id: 77, action: undefined },
        questions: [],
      });
      conn.close();
    });

    test("a call with an unknown token gets Err CONF_TOKEN_NOT_FOUND (2)", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const conn = await connect(runner);
      const known = await conn.prepareConf(SAY_HI, "route#3#ext-plugin-pre-req#1");
      const unknown = known === 0xFFFFFFFF ? 1 : known + 1000;
      assert.equal(errorCode(await conn.httpReqCall(reqCall(unknown))), 2);
      const resp = await conn.httpRespCall({ id: 1, status: 200, headers: [], confToken: unknown });
      assert.equal(errorCode(resp), 2);
      assert.equal(stopOf(await conn.httpReqCall(reqCall(known))).status, 200);
      conn.close();
    });

    test("2000 calls on one keepalive connection all get their own answer", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const conn = await connect(runner);
      const say = await conn.prepareConf(SAY_HI, "route#4#ext-plugin-pre-req#1");
      const rewrite = await conn.prepareConf(
        [conf("request-rewrite", { path: "/v2" })],
        "route#4#ext-plugin-post-req#1",
      );
      for (let i = 0; i < 2000; i++) {
        const even = i % 2 === 0;
        const outcome = await conn.httpReqCall(reqCall(even ? say : rewrite, { id: i + 1 }));
        assert.equal(outcome.kind === "reply" ? outcome.response.id : -1, i + 1);
        if (even) assert.equal(decoder.decode(stopOf(outcome).body), "hi");
        else assert.equal(rewriteOf(outcome).path, "/v2");
      }
      conn.close();
    });

    test("64 concurrent connections each doing calls with ExtraInfo get their own answers", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const conns = await Promise.all(Array.from({ length: 64 }, () => connect(runner)));
      const entries = [conf("forward-vars", { vars: ["conn_call"], prefix: "x-" })];
      // Every connection asks for the same key at once: one conf, one token.
      const tokens = await Promise.all(
        conns.map((conn) => conn.prepareConf(entries, "route#5#ext-plugin-pre-req#1")),
      );
      assert.equal(new Set(tokens).size, 1);
      await Promise.all(conns.map(async (conn, c) => {
        for (let i = 0; i < 20; i++) {
          const value = `c${c}-i${i}`;
          const outcome = await conn.httpReqCall(
            reqCall(tokens[c]!, { id: c * 100 + i }),
            answerFrom({ conn_call: value }),
          );
          assert.deepEqual(rewriteOf(outcome).headers, [{ name: "x-conn_call", value }]);
        }
      }));
      for (const conn of conns) conn.close();
    });

    test("PrepareConf on a second connection is served while the first waits for a var", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const first = await connect(runner);
      const token = await first.prepareConf(
        [conf("forward-vars", { vars: ["route_id"] })],
        "route#6#ext-plugin-pre-req#1",
      );
      const late = lateAnswer("6");
      const call = first.httpReqCall(reqCall(token), late.answer);
      assert.deepEqual(await late.asked, { type: "var", name: "route_id" });
      const second = await connect(runner);
      const fresh = await second.prepareConf(SAY_HI, "route#6#ext-plugin-pre-req#2");
      assert.equal(stopOf(await second.httpReqCall(reqCall(fresh))).status, 200);
      late.release();
      assert.deepEqual(rewriteOf(await call).headers, [{ name: "x-var-route_id", value: "6" }]);
      first.close();
      second.close();
    });

    test("a 4 MiB request body is read through ReqBody and a 4 MiB Stop body comes back whole", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const conn = await connect(runner);
      const validate = await conn.prepareConf(
        [conf("request-validation", { required: ["name"] })],
        "route#7#ext-plugin-pre-req#1",
      );
      const pad = "p".repeat(4 * MiB);
      const valid = encoder.encode(JSON.stringify({ name: "n", pad }));
      const ok = await conn.httpReqCall(
        reqCall(validate, { method: 2 }),
        answerFrom({}, { req: valid }),
      );
      assertNoAction(ok);
      assert.deepEqual(ok.questions, [{ type: "reqBody" }]);
      const invalid = encoder.encode(JSON.stringify({ pad }));
      const denied = stopOf(
        await conn.httpReqCall(reqCall(validate, { method: 2 }), answerFrom({}, { req: invalid })),
      );
      assert.equal(denied.status, 400);
      assert.equal(JSON.parse(decoder.decode(denied.body)).field, "name");

      const big = "s".repeat(4 * MiB);
      const say = await conn.prepareConf(
        [conf("say", { body: big })],
        "route#7#ext-plugin-pre-req#2",
      );
      const body = stopOf(await conn.httpReqCall(reqCall(say))).body;
      assert.equal(body?.length, 4 * MiB);
      assert.ok(body!.every((byte) => byte === 0x73), "Stop body bytes differ from the conf");
      conn.close();
    });

    test("an ExtraInfo answer of the largest size a frame carries is read whole", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const conn = await connect(runner);
      const token = await conn.prepareConf(
        [conf("request-validation", { required: ["name"] })],
        "route#12#ext-plugin-pre-req#1",
      );
      const size = largestFittingBody((n) =>
        encodeExtraInfoResponse({ result: new Uint8Array(n) }).length
      );
      assert.ok(size > MAX_PAYLOAD_SIZE - 64, `largest body is only ${size} bytes`);
      const head = '{"pad":"';
      const tail = '","name":"n"}';
      const body = encoder.encode(head + "p".repeat(size - head.length - tail.length) + tail);
      assert.equal(body.length, size);
      const outcome = await conn.httpReqCall(
        reqCall(token, { method: 2 }),
        answerFrom({}, { req: body }),
      );
      assertNoAction(outcome);
      assert.deepEqual(outcome.questions, [{ type: "reqBody" }]);
      conn.close();
    });

    test("a request with 500 headers reaches the plugins whole", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const conn = await connect(runner);
      const token = await conn.prepareConf([
        conf("request-rewrite", { headers: { set: { "h-0": "changed" }, remove: ["h-499"] } }),
        conf("forward-vars", { vars: ["http_h_250"] }),
      ], "route#8#ext-plugin-pre-req#1");
      const headers = Array.from({ length: 500 }, (_, i) => ({ name: `h-${i}`, value: `v-${i}` }));
      const outcome = await conn.httpReqCall(
        reqCall(token, { headers }),
        answerFrom({ http_h_250: "v-250" }),
      );
      assert.deepEqual(
        sortedEntries(rewriteOf(outcome).headers),
        sortedEntries([
          { name: "h-0", value: "changed" },
          { name: "h-499" },
          { name: "x-var-http_h_250", value: "v-250" },
        ]),
      );
      conn.close();
    });

    test("malformed and truncated frames close only their connection; the runner lives on", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const good = await connect(runner);
      const token = await good.prepareConf(SAY_HI, "route#9#ext-plugin-pre-req#1");

      // Random payload behind a valid header, its root offset pointing far outside the payload.
      const garbage = new Uint8Array(256);
      crypto.getRandomValues(garbage);
      new DataView(garbage.buffer).setUint32(0, 0xFFFFFF00, true);
      const random = await connect(runner);
      await random.sendFrame(FrameType.HttpReqCall, garbage);
      assert.equal(await random.readFrame(), null);

      // An empty payload is no FlatBuffer either.
      const empty = await connect(runner);
      await empty.sendFrame(FrameType.PrepareConf, new Uint8Array(0));
      assert.equal(await empty.readFrame(), null);

      // A header promising 1000 bytes, 10 of them, then the peer closes.
      const truncated = await FrameConnection.connect(net, runner.socketPath);
      await truncated.write(new Uint8Array([FrameType.HttpReqCall, 0, 0x03, 0xE8]), garbage);
      truncated.close();
      await truncated.closed;

      // An unknown type byte gets BAD_REQUEST and the connection stays usable.
      const unknown = await connect(runner);
      await unknown.sendFrame(0x63, encodePrepareConfRequest({ conf: SAY_HI, key: "x" }));
      const frame = await unknown.readFrame();
      assert.equal(frame?.type, FrameType.Error);
      assert.equal(decodeErrorResponse(frame!.payload).code, ErrorCode.BadRequest);
      assert.equal(stopOf(await unknown.httpReqCall(reqCall(token))).status, 200);
      unknown.close();

      assert.equal(runner.alive, true);
      assert.equal(stopOf(await good.httpReqCall(reqCall(token))).status, 200);
      const later = await connect(runner);
      assert.equal(stopOf(await later.httpReqCall(reqCall(token))).status, 200);
      later.close();
      good.close();
    });

    test("APISIX closing a connection while a call waits for a var ends only that call", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const good = await connect(runner);
      const sayToken = await good.prepareConf(SAY_HI, "route#11#ext-plugin-pre-req#1");
      const leaving = await connect(runner);
      const token = await leaving.prepareConf(
        [conf("forward-vars", { vars: ["route_id"] })],
        "route#11#ext-plugin-pre-req#2",
      );
      const late = lateAnswer("never sent");
      const call = leaving.httpReqCall(reqCall(token), late.answer);
      await late.asked;
      leaving.close();
      late.release();
      await assert.rejects(call);
      assert.equal(runner.alive, true);
      assert.equal(stopOf(await good.httpReqCall(reqCall(sayToken))).status, 200);
      // The conf of the abandoned call is still there for the next connection.
      const next = await connect(runner);
      const outcome = await next.httpReqCall(reqCall(token), answerFrom({ route_id: "11" }));
      assert.deepEqual(rewriteOf(outcome).headers, [{ name: "x-var-route_id", value: "11" }]);
      next.close();
      good.close();
    });

    test("PrepareConf with an unknown plugin gets Err BAD_REQUEST (0)", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const conn = await connect(runner);
      await assert.rejects(
        conn.prepareConf([conf("no-such-plugin", "{}")], "route#10#ext-plugin-pre-req#1"),
        (error) => error instanceof PrepareConfError && error.code === ErrorCode.BadRequest,
      );
      conn.close();
    });
  });

  describe(`runner process lifecycle on ${runtime}`, { skip }, () => {
    test(
      "a runner replaces the stale socket of a killed one and exits 0 on SIGTERM with idle connections",
      {
        timeout: TEST_TIMEOUT_MS,
      },
      async () => {
        const socket = await tempSocketPath();
        try {
          const killed = await spawnRunner({ runtime, socketPath: socket.path });
          killed.kill("SIGKILL");
          await killed.exited;
          assert.ok(statSync(socket.path).isSocket(), "a SIGKILLed runner leaves its socket file");

          const runner = await spawnRunner({ runtime, socketPath: socket.path });
          try {
            assert.equal(statSync(socket.path).mode & 0o777, 0o766);
            const conns = await Promise.all(Array.from({ length: 5 }, () => connect(runner)));
            const token = await conns[0]!.prepareConf(SAY_HI, "route#1#ext-plugin-pre-req#1");
            for (const conn of conns) {
              assert.equal(stopOf(await conn.httpReqCall(reqCall(token))).status, 200);
            }
            runner.kill("SIGTERM");
            const exit = await runner.exited;
            assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
            assert.ok(exit.ms < 1_000, `exit took ${exit.ms} ms`);
            await Promise.all(conns.map((conn) => conn.whenClosed));
            assert.equal(existsSync(socket.path), false, "socket file left behind");
          } finally {
            await runner.dispose();
          }
        } finally {
          await socket.remove();
        }
      },
    );

    test(
      "a runner that exits after its successor took over the socket path leaves the new socket",
      {
        timeout: TEST_TIMEOUT_MS,
      },
      async () => {
        const socket = await tempSocketPath();
        const old = await spawnRunner({ runtime, socketPath: socket.path });
        let successor: RunnerProcess | undefined;
        try {
          // APISIX reload: the new runner starts on the same path while the old one still runs.
          successor = await spawnRunner({ runtime, socketPath: socket.path });
          // The old socket accepts too: only the log line says the successor listens.
          await successor.waitForOutput(/Listening on/, 10_000);
          old.kill("SIGTERM");
          const exit = await old.exited;
          assert.equal(exit.code, 0);
          assert.ok(statSync(socket.path).isSocket(), "the successor's socket file was removed");
          const conn = await connect(successor);
          const token = await conn.prepareConf(SAY_HI, "route#1#ext-plugin-pre-req#1");
          assert.equal(stopOf(await conn.httpReqCall(reqCall(token))).status, 200);
          conn.close();
        } finally {
          await old.dispose();
          await successor?.dispose();
          await socket.remove();
        }
      },
    );

    test("SIGTERM lets an in-flight call finish, then the runner exits 0 within 1 s", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const runner = await spawnRunner({ runtime });
      try {
        const conn = await connect(runner);
        const idle = await connect(runner);
        const token = await conn.prepareConf(
          [conf("forward-vars", { vars: ["route_id"] })],
          "route#1#ext-plugin-pre-req#1",
        );
        const late = lateAnswer("in-flight");
        const call = conn.httpReqCall(reqCall(token), late.answer);
        await late.asked;
        runner.kill("SIGTERM");
        // The call really is in flight while the runner shuts down.
        await runner.waitForOutput(/Draining: 1 call\(s\) in flight/, 1_000);
        late.release();
        const rewrite = rewriteOf(await call);
        assert.deepEqual(rewrite.headers, [{ name: "x-var-route_id", value: "in-flight" }]);
        const exit = await runner.exited;
        assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
        assert.ok(exit.ms < 1_000, `exit took ${exit.ms} ms`);
        await conn.whenClosed;
        await idle.whenClosed;
        assert.equal(existsSync(runner.socketPath), false, "socket file left behind");
      } finally {
        await runner.dispose();
      }
    });

    test("a regular file at the socket path is left alone and the runner exits 2", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const socket = await tempSocketPath();
      try {
        writeFileSync(socket.path, "not a socket");
        const runner = await spawnRunner({
          runtime,
          socketPath: socket.path,
          waitForSocket: false,
        });
        try {
          const exit = await runner.exited;
          assert.equal(exit.code, 2, `output:\n${runner.output()}`);
          assert.match(runner.output(), /Cannot start: .*regular file/);
          assert.equal(readFileSync(socket.path, "utf8"), "not a socket");
        } finally {
          await runner.dispose();
        }
      } finally {
        await socket.remove();
      }
    });

    for (
      const [what, listenAddress] of [
        ["missing", null],
        ["empty", ""],
        ["malformed", "tcp:127.0.0.1:9000"],
      ] as const
    ) {
      test(`APISIX_LISTEN_ADDRESS ${what}: exit code 2 and one line naming the variable`, {
        timeout: TEST_TIMEOUT_MS,
      }, async () => {
        const runner = await spawnRunner({ runtime, listenAddress, waitForSocket: false });
        try {
          const exit = await runner.exited;
          assert.equal(exit.code, 2, `output:\n${runner.output()}`);
          const lines = runner.output().split("\n").filter((line) => line.trim() !== "");
          assert.equal(lines.length, 1, `expected one line, got:\n${runner.output()}`);
          assert.match(lines[0]!, /APISIX_LISTEN_ADDRESS/);
          assert.doesNotMatch(lines[0]!, /^\s*at |Error:/);
        } finally {
          await runner.dispose();
        }
      });
    }

    for (
      const [what, options, line] of [
        [
          "a socket path over 107 bytes",
          { socketPath: `/tmp/${"a".repeat(110)}.sock` },
          /^Cannot start: Cannot listen on \/tmp\/a+\.sock: the path is 120 bytes long and unix sockets take at most 107 bytes/,
        ],
        [
          "a socket in a missing directory",
          { socketPath: "/tmp/apisix-ts-no-such-dir/runner.sock" },
          /^Cannot start: Cannot listen on \/tmp\/apisix-ts-no-such-dir\/runner\.sock: the directory \/tmp\/apisix-ts-no-such-dir does not exist$/,
        ],
        [
          "a log file that cannot be opened",
          { extraArgs: ["--log-file", "/tmp/apisix-ts-no-such-dir/runner.log"] },
          /^Cannot open log file \/tmp\/apisix-ts-no-such-dir\/runner\.log: its directory does not exist \(ENOENT\)$/,
        ],
      ] as const
    ) {
      test(`${what}: exit code 2 and one line naming it, no stack`, {
        timeout: TEST_TIMEOUT_MS,
      }, async () => {
        const runner = await spawnRunner({ runtime, ...options, waitForSocket: false });
        try {
          const exit = await runner.exited;
          assert.equal(exit.code, 2, `output:\n${runner.output()}`);
          const lines = runner.output().split("\n").filter((text) => text.trim() !== "");
          assert.equal(lines.length, 1, `expected one line, got:\n${runner.output()}`);
          assert.match(lines[0]!, line);
        } finally {
          await runner.dispose();
        }
      });
    }

    test("10,000 PrepareConfs naming an unknown plugin and 10,000 unknown tokens log under 20 KB", {
      timeout: 60_000,
    }, async () => {
      const runner = await spawnRunner({ runtime });
      try {
        const peer = await FrameConnection.connect(net, runner.socketPath);
        const prepare = encodePrepareConfRequest({
          conf: [conf("no-such-plugin", {})],
          key: "route#404#ext-plugin-pre-req#1",
        });
        const call = encodeHttpReqCallRequest(reqCall(424242));
        for (
          const [type, payload] of [[FrameType.PrepareConf, prepare], [
            FrameType.HttpReqCall,
            call,
          ]] as const
        ) {
          const frame = encodeFrame(type, payload);
          // Pipelined in batches: the runner answers each in order.
          for (let sent = 0; sent < 10_000; sent += 500) {
            await peer.write(...Array.from({ length: 500 }, () => frame));
            for (let i = 0; i < 500; i++) {
              const reply = await peer.readFrame();
              assert.equal(reply?.type, FrameType.Error);
            }
          }
        }
        peer.close();
        runner.kill("SIGTERM");
        assert.equal((await runner.exited).code, 0);
        const output = runner.output();
        const bytes = encoder.encode(output).length;
        assert.ok(bytes < 20 * 1024, `${bytes} bytes of log:\n${output.slice(0, 4000)}`);
        // Each kind once, then counted: the summaries at shutdown account for every repeat.
        assert.match(
          output,
          /PrepareConf route#404#ext-plugin-pre-req#1 refused with BAD_REQUEST: Unknown plugin "no-such-plugin"/,
        );
        assert.match(output, /PrepareConf route#404.*\(UnknownPluginError\): repeated 9,999 times/);
        assert.match(output, /unknown or expired conf token: repeated 9,999 times/);
        assert.doesNotMatch(output, /^\s+at /m);
      } finally {
        await runner.dispose();
      }
    });

    test("APISIX_CONF_EXPIRE_TIME malformed: exit code 2 and one line naming the variable", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const runner = await spawnRunner({ runtime, confExpireTime: "1h", waitForSocket: false });
      try {
        const exit = await runner.exited;
        assert.equal(exit.code, 2, `output:\n${runner.output()}`);
        const lines = runner.output().split("\n").filter((line) => line.trim() !== "");
        assert.equal(lines.length, 1, `expected one line, got:\n${runner.output()}`);
        assert.match(lines[0]!, /APISIX_CONF_EXPIRE_TIME.*"1h"/);
        assert.equal(existsSync(runner.socketPath), false);
      } finally {
        await runner.dispose();
      }
    });
  });
}
