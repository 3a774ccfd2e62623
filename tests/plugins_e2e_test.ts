// End-to-end tests of the plugin API: bundled and misbehaving plugins in real deno and bun runner processes.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ApisixConnection, PrepareConfError } from "../src/dev/client/mod.ts";
import { stop } from "../src/plugin/stop.ts";
import { encodeHttpReqCallResponse } from "../src/protocol/mod.ts";
import { ErrorCode, MAX_PAYLOAD_SIZE, type TextEntry } from "../src/protocol/types.ts";
import { createNodeRuntime } from "../src/runtime/node.ts";
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
  respReplyOf,
  rewriteOf,
  sortedEntries,
  stopOf,
} from "./support/e2e_helpers.ts";
import {
  type RunnerProcess,
  type RunnerRuntime,
  runnerUnavailable,
  spawnRunner,
} from "./support/runner_process.ts";

const RUNTIMES: readonly RunnerRuntime[] = ["deno", "bun"];
const ENTRY = "tests/support/fixtures/test_plugins_entry.ts";
/** The plugin runner's call deadline in these tests: short, so hanging plugins fail fast. */
const CALL_TIMEOUT_MS = 400;
const TEST_TIMEOUT_MS = 15_000;
const net = createNodeRuntime();

let keys = 0;
/** A fresh PrepareConf key, so tests never share confs (limit-req keeps state per conf). */
function freshKey(): string {
  return `route#${++keys}#ext-plugin-pre-req#1`;
}

for (const runtime of RUNTIMES) {
  const skip = runnerUnavailable(runtime, { entry: ENTRY });

  describe(`plugins in a ${runtime} runner process`, { skip }, () => {
    let runner: RunnerProcess;
    let conn: ApisixConnection;
    /** PrepareConf with a fresh key on the shared connection. */
    const prepare = (entries: TextEntry[] | undefined) => conn.prepareConf(entries, freshKey());

    before(async () => {
      runner = await spawnRunner({
        runtime,
        entry: ENTRY,
        extraArgs: ["--call-timeout", String(CALL_TIMEOUT_MS)],
      });
      conn = await ApisixConnection.connect(net, runner.socketPath);
    });
    after(async () => {
      conn?.close();
      await runner?.dispose();
    });

    test("say stops with its body and header, and passes without a body", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const stop = stopOf(
        await conn.httpReqCall(reqCall(await prepare([conf("say", { body: "hello" })]))),
      );
      assert.equal(stop.status, 200);
      assert.equal(decoder.decode(stop.body), "hello");
      assert.deepEqual(stop.headers, [{ name: "X-Resp-A6-Runner", value: "TypeScript" }]);
      assertNoAction(await conn.httpReqCall(reqCall(await prepare([conf("say", {})]))));
    });

    test("fault-injection stops every request at 100 % and none at 0 %", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const always = await prepare([
        conf("fault-injection", { http_status: 418, body: "teapot", percentage: 100 }),
      ]);
      const never = await prepare([conf("fault-injection", { http_status: 500, percentage: 0 })]);
      for (let i = 0; i < 5; i++) {
        const stop = stopOf(await conn.httpReqCall(reqCall(always)));
        assert.equal(stop.status, 418);
        assert.equal(decoder.decode(stop.body), "teapot");
        assertNoAction(await conn.httpReqCall(reqCall(never)));
      }
    });

    test("limit-req lets the burst through and stops the next request with 503", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const token = await prepare([conf("limit-req", { rate: 0.001, burst: 2 })]);
      assertNoAction(await conn.httpReqCall(reqCall(token)));
      assertNoAction(await conn.httpReqCall(reqCall(token)));
      assert.equal(stopOf(await conn.httpReqCall(reqCall(token))).status, 503);
      // Another route's conf has its own bucket.
      const other = await prepare([conf("limit-req", { rate: 0.001, burst: 1 })]);
      assertNoAction(await conn.httpReqCall(reqCall(other)));
    });

    test("request-body-rewrite sends the new body upstream", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const token = await prepare([conf("request-body-rewrite", { new_body: "new body" })]);
      const rewrite = rewriteOf(await conn.httpReqCall(reqCall(token, { method: 2 })));
      assert.equal(decoder.decode(rewrite.body), "new body");
      assert.equal(rewrite.path, undefined);
    });

    test("request-rewrite rewrites path, headers, args and response headers in one Rewrite", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const token = await prepare([conf("request-rewrite", {
        path: "/v2/items",
        headers: { set: { "x-added": "1", "x-keep": "same" }, remove: ["x-drop", "x-absent"] },
        args: { set: { page: "2" }, remove: ["debug"] },
        resp_headers: { set: { "x-served-by": "ts" } },
      })]);
      const rewrite = rewriteOf(
        await conn.httpReqCall(reqCall(token, {
          path: "/v1/items",
          headers: [{ name: "x-drop", value: "d" }, { name: "x-keep", value: "same" }],
          args: [{ name: "debug" }, { name: "page", value: "1" }, { name: "q", value: "x" }],
        })),
      );
      assert.equal(rewrite.path, "/v2/items");
      assert.deepEqual(
        sortedEntries(rewrite.headers),
        sortedEntries([{ name: "x-added", value: "1" }, { name: "x-drop" }]),
      );
      assert.deepEqual(
        sortedEntries(rewrite.args),
        sortedEntries([{ name: "debug" }, { name: "page", value: "2" }]),
      );
      assert.deepEqual(rewrite.respHeaders, [{ name: "x-served-by", value: "ts" }]);
    });

    test("forward-vars asks each var and tells a present, an empty and an absent var apart", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const token = await prepare([
        conf("forward-vars", { vars: ["present", "empty", "absent"], prefix: "x-v-" }),
      ]);
      const outcome = await conn.httpReqCall(
        reqCall(token),
        answerFrom({ present: "yes", empty: "" }),
      );
      assert.deepEqual(outcome.questions, [
        { type: "var", name: "present" },
        { type: "var", name: "empty" },
        { type: "var", name: "absent" },
      ]);
      assert.deepEqual(
        sortedEntries(rewriteOf(outcome).headers),
        sortedEntries([{ name: "x-v-present", value: "yes" }, { name: "x-v-empty", value: "" }]),
      );
    });

    test("request-validation reads the body through ReqBody and stops invalid or absent bodies", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const token = await prepare([conf("request-validation", { required: ["name", "age"] })]);
      const valid = await conn.httpReqCall(
        reqCall(token, { method: 2 }),
        answerFrom({}, { req: encoder.encode('{"name":"a","age":1}') }),
      );
      assertNoAction(valid);
      assert.deepEqual(valid.questions, [{ type: "reqBody" }]);

      const missing = stopOf(
        await conn.httpReqCall(
          reqCall(token, { method: 2 }),
          answerFrom({}, { req: encoder.encode('{"name":"a"}') }),
        ),
      );
      assert.equal(missing.status, 400);
      assert.deepEqual(JSON.parse(decoder.decode(missing.body)), {
        error: 'missing required field "age"',
        field: "age",
      });
      assert.deepEqual(missing.headers, [{ name: "content-type", value: "application/json" }]);

      const absent = await conn.httpReqCall(reqCall(token), answerFrom({}));
      assert.deepEqual(absent.questions, [{ type: "reqBody" }]);
      assert.equal(stopOf(absent).status, 400);
    });

    test("response-rewrite sets status and headers and filters the body read through RespBody", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const token = await conn.prepareConf([conf("response-rewrite", {
        status: 201,
        headers: { "X-Rewritten": "yes" },
        filters: [{ regex: "world", scope: "global", replace: "there" }],
      })], "route#900#ext-plugin-post-resp#1");
      const upstreamHeaders = [
        { name: "Content-Type", value: "text/plain" },
        { name: "Content-Length", value: "23" },
        { name: "X-Upstream", value: "u" },
      ];
      const outcome = await conn.httpRespCall(
        { id: 9, status: 200, headers: upstreamHeaders, confToken: token },
        answerFrom({}, { resp: encoder.encode("hello world, bye world") }),
      );
      assert.deepEqual(outcome.questions, [{ type: "respBody" }]);
      const reply = respReplyOf(outcome);
      assert.equal(reply.id, 9);
      assert.equal(reply.status, 201);
      assert.equal(decoder.decode(reply.body), "hello there, bye there");
      assert.deepEqual(
        sortedEntries(reply.headers),
        sortedEntries([
          { name: "Content-Type", value: "text/plain" },
          { name: "X-Upstream", value: "u" },
          { name: "X-Rewritten", value: "yes" },
        ]),
      );

      const fixed = await conn.prepareConf(
        [conf("response-rewrite", { body: "replaced" })],
        "route#901#ext-plugin-post-resp#1",
      );
      const plain = await conn.httpRespCall({ id: 10, status: 404, headers: [], confToken: fixed });
      assert.deepEqual(plain.questions, []);
      const plainReply = respReplyOf(plain);
      assert.equal(plainReply.status ?? 0, 0, "status 0 keeps the upstream status");
      assert.equal(decoder.decode(plainReply.body), "replaced");
    });

    test("a response filter reads a var through ExtraInfo in an HTTPRespCall", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const token = await prepare([conf("test-slow-var", { var: "upstream_addr" })]);
      const outcome = await conn.httpRespCall(
        { id: 11, status: 200, headers: [{ name: "A", value: "1" }], confToken: token },
        answerFrom({ upstream_addr: "10.0.0.9:80" }),
      );
      assert.deepEqual(outcome.questions, [{ type: "var", name: "upstream_addr" }]);
      assert.deepEqual(
        sortedEntries(respReplyOf(outcome).headers),
        sortedEntries([{ name: "A", value: "1" }, { name: "x-slow-var", value: "10.0.0.9:80" }]),
      );
    });

    test("a chain runs in conf order and a Stop drops the edits made before it", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const edits = conf("request-rewrite", { path: "/edited" });
      const rewriteThenSay = await prepare([edits, conf("say", { body: "stopped" })]);
      const stop = stopOf(await conn.httpReqCall(reqCall(rewriteThenSay)));
      assert.equal(decoder.decode(stop.body), "stopped");
      const twoRewrites = await prepare([edits, conf("request-body-rewrite", { new_body: "b" })]);
      const rewrite = rewriteOf(await conn.httpReqCall(reqCall(twoRewrites)));
      assert.equal(rewrite.path, "/edited");
      assert.equal(decoder.decode(rewrite.body), "b");
    });

    test(
      "a Stop of the largest size a frame carries is sent; one byte more gets SERVICE_UNAVAILABLE",
      {
        timeout: TEST_TIMEOUT_MS,
      },
      async () => {
        const id = 8080;
        const size = largestFittingBody((n) =>
          encodeHttpReqCallResponse({ id, action: stop(200, { body: new Uint8Array(n) }) }).length
        );
        assert.ok(size > MAX_PAYLOAD_SIZE - 128, `largest body is only ${size} bytes`);
        const fits = await prepare([conf("test-big-stop", { size })]);
        const body = stopOf(await conn.httpReqCall(reqCall(fits, { id }))).body;
        assert.equal(body?.length, size);
        assert.ok(body!.every((byte) => byte === 0x61), "Stop body bytes differ");
        const over = await prepare([conf("test-big-stop", { size: size + 1 })]);
        assert.equal(
          errorCode(await conn.httpReqCall(reqCall(over, { id }))),
          ErrorCode.ServiceUnavailable,
        );
        assertNoAction(await conn.httpReqCall(reqCall(await prepare(undefined))));
      },
    );

    test("PrepareConf with an unknown plugin or an invalid conf gets Err BAD_REQUEST", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      for (
        const entries of [
          [conf("say", {}), conf("no-such-plugin", "{}")],
          [conf("fault-injection", { http_status: 99 })],
          [conf("say", "{not json")],
        ]
      ) {
        await assert.rejects(
          prepare(entries),
          (error) => error instanceof PrepareConfError && error.code === ErrorCode.BadRequest,
        );
      }
      // The connection stays usable after error frames.
      assertNoAction(await conn.httpReqCall(reqCall(await prepare(undefined))));
    });

    test("a throwing filter gets SERVICE_UNAVAILABLE and a log line naming plugin and request id", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const token = await prepare([conf("say", {}), conf("test-throws", "{}")]);
      const outcome = await conn.httpReqCall(reqCall(token, { id: 31337 }));
      assert.equal(errorCode(outcome), ErrorCode.ServiceUnavailable);
      const output = await runner.waitForOutput(/request 31337\b.*test-throws.*kaboom/, 2_000);
      assert.match(output, /ERR/);
      const resp = await conn.httpRespCall({
        id: 31338,
        status: 200,
        headers: [],
        confToken: token,
      });
      assert.equal(errorCode(resp), ErrorCode.ServiceUnavailable);
      await runner.waitForOutput(/request 31338\b.*test-throws/, 2_000);
    });

    test("a filter returning something else than a Response gets SERVICE_UNAVAILABLE", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const token = await prepare([conf("test-non-response", "{}")]);
      const outcome = await conn.httpReqCall(reqCall(token, { id: 4040 }));
      assert.equal(errorCode(outcome), ErrorCode.ServiceUnavailable);
      await runner.waitForOutput(/request 4040\b.*test-non-response.*expected undefined/, 2_000);
    });

    test("a filter that never settles gets SERVICE_UNAVAILABLE at the call deadline", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const token = await prepare([conf("test-hangs", "{}")]);
      const started = performance.now();
      const outcome = await conn.httpReqCall(reqCall(token, { id: 5050 }));
      const took = performance.now() - started;
      assert.equal(errorCode(outcome), ErrorCode.ServiceUnavailable);
      assert.ok(took >= CALL_TIMEOUT_MS - 20 && took < CALL_TIMEOUT_MS + 1_000, `took ${took} ms`);
      await runner.waitForOutput(/request 5050\b.*test-hangs/, 2_000);
      assertNoAction(await conn.httpReqCall(reqCall(await prepare(undefined))));
    });

    test("a filter still busy after its var answer gets SERVICE_UNAVAILABLE at the deadline", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const token = await prepare([conf("test-slow-var", { var: "v", delayMs: 60_000 })]);
      const outcome = await conn.httpReqCall(reqCall(token, { id: 6060 }), answerFrom({ v: "1" }));
      assert.deepEqual(outcome.questions, [{ type: "var", name: "v" }]);
      assert.equal(errorCode(outcome), ErrorCode.ServiceUnavailable);
    });

    test("a var answered after the deadline closes that connection only", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const slow = await ApisixConnection.connect(net, runner.socketPath);
      const token = await slow.prepareConf([conf("test-slow-var", { var: "v" })], freshKey());
      const late = lateAnswer("too late");
      const call = slow.httpReqCall(reqCall(token, { id: 7070 }), late.answer);
      await late.asked;
      await slow.whenClosed;
      late.release();
      await assert.rejects(call);
      assert.equal(runner.alive, true);
      assertNoAction(await conn.httpReqCall(reqCall(await prepare(undefined))));
    });
  });

  describe(`--skip-invalid-conf in a ${runtime} runner process`, { skip }, () => {
    let runner: RunnerProcess;
    before(async () => {
      runner = await spawnRunner({ runtime, entry: ENTRY, extraArgs: ["--skip-invalid-conf"] });
    });
    after(async () => {
      await runner?.dispose();
    });

    test("unknown plugins and invalid confs are skipped with a warning; the rest runs", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const conn = await ApisixConnection.connect(net, runner.socketPath);
      const token = await conn.prepareConf([
        conf("no-such-plugin", "{}"),
        conf("fault-injection", "{not json"),
        conf("request-rewrite", { path: "/kept" }),
      ], freshKey());
      const rewrite = rewriteOf(await conn.httpReqCall(reqCall(token)));
      assert.equal(rewrite.path, "/kept");
      await runner.waitForOutput(/WRN.*Skipping conf entry.*no-such-plugin/, 2_000);
      await runner.waitForOutput(/WRN.*Skipping conf entry.*fault-injection/, 2_000);
      const onlyInvalid = await conn.prepareConf([conf("no-such-plugin", "{}")], freshKey());
      assertNoAction(await conn.httpReqCall(reqCall(onlyInvalid)));
      conn.close();
    });
  });

  describe(`shutdown of a ${runtime} runner process with a call that never ends`, { skip }, () => {
    test("SIGTERM closes the call after --shutdown-timeout and the runner exits 0", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const runner = await spawnRunner({
        runtime,
        entry: ENTRY,
        extraArgs: ["--shutdown-timeout", "300"],
      });
      try {
        const conn = await ApisixConnection.connect(net, runner.socketPath);
        const token = await conn.prepareConf([conf("test-hangs", "{}")], freshKey());
        const call = conn.httpReqCall(reqCall(token));
        // A reply on a second connection proves the runner is serving; the first call is in flight.
        const other = await ApisixConnection.connect(net, runner.socketPath);
        await other.prepareConf(undefined, freshKey());
        runner.kill("SIGTERM");
        await assert.rejects(call);
        const exit = await runner.exited;
        assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
        assert.ok(exit.ms >= 250 && exit.ms < 1_000, `exit took ${exit.ms} ms`);
        await other.whenClosed;
        assert.match(runner.output(), /Draining: 1 call\(s\) in flight/);
      } finally {
        await runner.dispose();
      }
    });
  });
}
