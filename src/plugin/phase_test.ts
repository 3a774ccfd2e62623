// Tests of the plugin chain: order, stop, rewrite accumulation, failures, timeouts and ExtraInfo.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Call } from "./call.ts";
import type { FilterObserver } from "./observer.ts";
import { REQUEST_PHASE, runPhase, runRequestFilters, runResponseFilters } from "./phase.ts";
import { prepareConfs, type PreparedPlugin } from "./prepare.ts";
import { definePlugin } from "./define_plugin.ts";
import {
  DuplicatePluginError,
  PluginConfError,
  PluginFilterError,
  PluginTimeoutError,
  UnknownPluginError,
} from "./errors.ts";
import { PluginRegistry } from "./registry.ts";
import { stop } from "./stop.ts";
import type { FilterResult, PluginRequest, PluginResponse } from "./types.ts";
import {
  FakeExtraInfoChannel,
  fakeHttpReqCall,
  fakeHttpRespCall,
  type FakeRequestInit,
  type FakeResponseInit,
} from "../testing/fake.ts";

type ReqFilter = (req: PluginRequest) => FilterResult | Promise<FilterResult>;
type ResFilter = (res: PluginResponse) => FilterResult | Promise<FilterResult>;

function reqPlugin(name: string, filter: ReqFilter): PreparedPlugin {
  return {
    plugin: definePlugin({ name, parseConf: () => undefined, requestFilter: (req) => filter(req) }),
    conf: undefined,
  };
}

function resPlugin(name: string, filter: ResFilter): PreparedPlugin {
  return {
    plugin: definePlugin({
      name,
      parseConf: () => undefined,
      responseFilter: (res) => filter(res),
    }),
    conf: undefined,
  };
}

function runReq(
  chain: PreparedPlugin[],
  init: FakeRequestInit = {},
  signal = new AbortController().signal,
) {
  const channel = new FakeExtraInfoChannel(init, "reqBody");
  const promise = runRequestFilters(chain, fakeHttpReqCall(init), { extraInfo: channel, signal });
  return { channel, promise };
}

function runRes(chain: PreparedPlugin[], init: FakeResponseInit = {}) {
  const channel = new FakeExtraInfoChannel(init, "respBody");
  const promise = runResponseFilters(chain, fakeHttpRespCall(init), {
    extraInfo: channel,
    signal: new AbortController().signal,
  });
  return { channel, promise };
}

const decode = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

describe("runRequestFilters()", () => {
  test("runRequestFilters() returns no action for an empty chain", async () => {
    assert.equal(await runReq([]).promise, undefined);
  });

  test("runRequestFilters() returns no action when filters only read", async () => {
    const { promise } = runReq([
      reqPlugin("reader", (req) => {
        req.headers.get("host");
        req.headers.getAll("x-a");
        [...req.headers];
        req.args.get("a");
        req.args.getAll("flag");
        [...req.args];
        void req.path;
        void req.method;
        void req.srcIp;
        void req.respHeaders;
      }),
    ], { headers: { host: "h", "x-a": ["1", "2"] }, args: { a: "1", flag: null } });
    assert.equal(await promise, undefined);
  });

  test("runRequestFilters() returns no action when a change is undone", async () => {
    const { promise } = runReq([
      reqPlugin("noop", (req) => {
        req.path = "/same";
        req.headers.set("x-a", "1");
        req.headers.delete("x-missing");
        req.args.set("a", "1");
        req.args.delete("missing");
      }),
    ], { path: "/same", headers: { "x-a": "1" }, args: { a: "1" } });
    assert.equal(await promise, undefined);
  });

  test("runRequestFilters() stops at the first stop and drops earlier edits", async () => {
    let thirdRan = false;
    const { promise } = runReq([
      reqPlugin("edit", (req) => {
        req.path = "/changed";
      }),
      reqPlugin("stopper", () => stop(403, { body: "no" })),
      reqPlugin("third", () => {
        thirdRan = true;
      }),
    ]);
    const action = await promise;
    assert.equal(action?.type, "stop");
    assert.equal(action.status, 403);
    assert.equal(decode(action.body), "no");
    assert.equal(thirdRan, false);
  });

  test("runRequestFilters() accumulates rewrites and later filters see earlier edits", async () => {
    let seen: string | undefined;
    const { promise } = runReq([
      reqPlugin("a", (req) => {
        req.headers.set("x-from-a", "1");
      }),
      reqPlugin("b", async (req) => {
        await Promise.resolve();
        seen = req.headers.get("x-from-a");
        req.path = "/b";
        req.args.append("q", "2");
        req.respHeaders.append("x-resp", "r1");
        req.respHeaders.append("x-resp", "r2");
        req.setBody("new");
      }),
    ], { args: { q: "1" } });
    const action = await promise;
    assert.equal(seen, "1");
    assert.deepEqual({ ...action, body: decode(action?.body) }, {
      type: "rewrite",
      path: "/b",
      headers: [{ name: "x-from-a", value: "1" }],
      args: [{ name: "q", value: "1" }, { name: "q", value: "2" }],
      respHeaders: [{ name: "x-resp", value: "r1" }, { name: "x-resp", value: "r2" }],
      body: "new",
    });
  });

  test("runRequestFilters() converts a returned Response into a Stop", async () => {
    const { promise } = runReq([
      reqPlugin("web", async () => {
        await Promise.resolve();
        return new Response("teapot", { status: 418, headers: { "x-a": "1" } });
      }),
    ]);
    const action = await promise;
    assert.equal(action?.type, "stop");
    assert.equal(action.status, 418);
    assert.equal(decode(action.body), "teapot");
    assert.ok(action.headers?.some((h) => h.name === "x-a" && h.value === "1"));
  });

  test("runRequestFilters() gives a Stop without body for an empty Response", async () => {
    const action = await runReq([reqPlugin("empty", () => new Response(null, { status: 204 }))])
      .promise;
    assert.equal(action?.type, "stop");
    assert.equal(action.status, 204);
    assert.equal(action.body, undefined);
  });

  test("runRequestFilters() wraps a thrown error in PluginFilterError naming the plugin", async () => {
    const { promise } = runReq([reqPlugin("thrower", () => {
      throw new Error("boom");
    })], { id: 42 });
    await assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof PluginFilterError);
      assert.equal(error.message, 'Plugin "thrower" failed: boom');
      assert.equal(error.pluginName, "thrower");
      assert.equal(error.requestId, 42);
      assert.equal((error.cause as Error).message, "boom");
      return true;
    });
  });

  test("runRequestFilters() wraps a rejection in PluginFilterError", async () => {
    const { promise } = runReq([
      reqPlugin("ok", () => undefined),
      reqPlugin("rejecter", () => Promise.reject(new TypeError("bad"))),
    ]);
    await assert.rejects(promise, /Plugin "rejecter" failed: bad/);
  });

  test("runRequestFilters() rejects a result that is neither undefined nor a Response", async () => {
    for (const value of [42, "text", {}, null]) {
      const { promise } = runReq([
        reqPlugin("weird", () => value as unknown as FilterResult),
      ]);
      await assert.rejects(promise, (error: unknown) => {
        assert.ok(error instanceof PluginFilterError);
        assert.match(error.message, /Plugin "weird" failed: filter returned .*expected undefined/);
        return true;
      });
    }
  });

  test("runRequestFilters() rejects promptly with PluginTimeoutError when the signal aborts", async () => {
    const controller = new AbortController();
    let started = false;
    const { promise } = runReq(
      [
        reqPlugin("slow", () => {
          started = true;
          return new Promise<undefined>(() => {});
        }),
      ],
      {},
      controller.signal,
    );
    assert.equal(started, true);
    controller.abort("deadline");
    await assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof PluginTimeoutError);
      assert.equal(error.pluginName, "slow");
      assert.equal(error.reason, "deadline");
      assert.match(error.message, /Plugin "slow" did not finish: aborted \(deadline\)/);
      return true;
    });
  });

  test("runRequestFilters() does not run a filter once the signal has aborted", async () => {
    const controller = new AbortController();
    controller.abort("disconnect");
    let ran = false;
    const { promise } = runReq(
      [reqPlugin("never", () => {
        ran = true;
      })],
      {},
      controller.signal,
    );
    await assert.rejects(promise, PluginTimeoutError);
    assert.equal(ran, false);
  });

  test("runRequestFilters() sends no ExtraInfo question after the signal aborted", async () => {
    const controller = new AbortController();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let varResult: Promise<unknown> | undefined;
    const { channel, promise } = runReq(
      [
        reqPlugin("late", async (req) => {
          await gate;
          varResult = req.var("a");
          await varResult;
        }),
      ],
      { vars: { a: "1" } },
      controller.signal,
    );
    controller.abort("deadline");
    await assert.rejects(promise, PluginTimeoutError);
    release();
    await gate;
    await Promise.resolve();
    await assert.rejects(varResult!, (reason: unknown) => reason === "deadline");
    assert.deepEqual(channel.asked, []);
  });

  test("runRequestFilters() serialises concurrent ExtraInfo questions", async () => {
    const { channel, promise } = runReq([
      reqPlugin("many", async (req) => {
        const [a, b, body] = await Promise.all([req.var("a"), req.var("b"), req.text()]);
        req.headers.set("x-all", `${a}|${b}|${body}`);
      }),
    ], { vars: { a: "1", b: "" }, body: "payload" });
    const action = await promise;
    assert.deepEqual(action?.headers, [{ name: "x-all", value: "1||payload" }]);
    assert.deepEqual(channel.asked, [
      { type: "var", name: "a" },
      { type: "var", name: "b" },
      { type: "reqBody" },
    ]);
  });

  test("runRequestFilters() caches vars and the body for the whole call", async () => {
    const { channel, promise } = runReq([
      reqPlugin("first", async (req) => {
        assert.equal(await req.var("route_id"), "r1");
        assert.equal(await req.var("missing"), undefined);
        assert.equal(await req.text(), "{}");
      }),
      reqPlugin("second", async (req) => {
        assert.equal(await req.var("route_id"), "r1");
        assert.equal(await req.var("missing"), undefined);
        assert.deepEqual(await req.json(), {});
      }),
    ], { vars: { route_id: "r1" }, body: "{}" });
    assert.equal(await promise, undefined);
    assert.equal(channel.asked.length, 3);
  });

  test("PluginRequest.body() is undefined and text() empty for a request without body", async () => {
    const { promise } = runReq([
      reqPlugin("get", async (req) => {
        assert.equal(await req.body(), undefined);
        assert.equal(await req.text(), "");
        await assert.rejects(req.json(), SyntaxError);
      }),
    ]);
    assert.equal(await promise, undefined);
  });

  test("runRequestFilters() sends args deletes valueless and keeps valueless apart from empty", async () => {
    const { promise } = runReq([
      reqPlugin("args", (req) => {
        assert.equal(req.args.get("flag"), null);
        assert.equal(req.args.get("empty"), "");
        assert.equal(req.args.get("absent"), undefined);
        assert.deepEqual(req.args.getAll("multi"), ["1", null]);
        req.args.delete("empty");
        req.args.append("multi", "3");
      }),
    ], { args: [["flag", null], ["empty", ""], ["multi", "1"], ["multi", null]] });
    const action = await promise;
    assert.deepEqual(action?.type === "rewrite" ? action.args : undefined, [
      { name: "empty" },
      { name: "multi", value: "1" },
      { name: "multi", value: "" },
      { name: "multi", value: "3" },
    ]);
  });

  test("runRequestFilters() handles multi-value headers: set, append joins, delete", async () => {
    const { promise } = runReq([
      reqPlugin("headers", (req) => {
        assert.deepEqual(req.headers.getAll("X-Multi"), ["a", "b"]);
        assert.equal(req.headers.get("x-multi"), "a, b");
        req.headers.set("X-Multi", "c");
        req.headers.append("x-list", "2");
        req.headers.delete("x-gone");
      }),
    ], { headers: { "x-multi": ["a", "b"], "x-list": "1", "x-gone": "1" } });
    const action = await promise;
    assert.deepEqual(action?.headers, [
      { name: "x-multi", value: "c" },
      { name: "x-list", value: "1, 2" },
      { name: "x-gone" },
    ]);
  });

  test("PluginRequest.srcIp gives IPv4 and compressed IPv6 text", async () => {
    const seen: (string | undefined)[] = [];
    for (const srcIp of ["10.1.2.3", "2001:0db8:0000:0000:0000:0000:0000:0001"]) {
      await runReq([reqPlugin("ip", (req) => {
        seen.push(req.srcIp);
      })], { srcIp }).promise;
    }
    assert.deepEqual(seen, ["10.1.2.3", "2001:db8::1"]);
  });
});

describe("runResponseFilters()", () => {
  test("runResponseFilters() returns an empty result when nothing changed", async () => {
    const { promise } = runRes([resPlugin("reader", (res) => {
      res.headers.get("content-type");
      void res.status;
    })], { headers: { "Content-Type": "text/plain" } });
    assert.deepEqual(await promise, {});
  });

  test("runResponseFilters() applies status and returns the full header set", async () => {
    const { promise } = runRes([
      resPlugin("a", (res) => {
        res.status = 201;
        res.headers.set("X-New", "1");
      }),
      resPlugin("b", (res) => {
        res.headers.delete("x-old");
      }),
    ], {
      status: 200,
      headers: [["Content-Type", "text/plain"], ["Content-Length", "5"], ["X-Old", "1"], [
        "Connection",
        "keep-alive",
      ]],
    });
    assert.deepEqual(await promise, {
      status: 201,
      headers: [{ name: "Content-Type", value: "text/plain" }, { name: "X-New", value: "1" }],
      body: undefined,
    });
  });

  test("runResponseFilters() deletes every header when a filter removed them all", async () => {
    const { promise } = runRes([resPlugin("strip", (res) => {
      for (const name of res.headers.names()) res.headers.delete(name);
    })], { headers: { "X-A": "1", "Content-Length": "1" } });
    assert.deepEqual((await promise).headers, [{ name: "x-a" }]);
  });

  test("runResponseFilters() reads the upstream body once and replaces it", async () => {
    const { channel, promise } = runRes([
      resPlugin("a", async (res) => {
        res.setBody((await res.text()).toUpperCase());
      }),
      resPlugin("b", async (res) => {
        assert.equal(await res.text(), "hello");
        assert.equal(await res.var("status"), "200");
      }),
    ], { body: "hello", vars: { status: "200" } });
    assert.equal(decode((await promise).body), "HELLO");
    assert.deepEqual(channel.asked, [{ type: "respBody" }, { type: "var", name: "status" }]);
  });

  test("runResponseFilters() lets a returned stop replace the response and end the chain", async () => {
    let secondRan = false;
    const { promise } = runRes([
      resPlugin("replace", () => stop(502, { body: "bad gateway", headers: { "x-a": "1" } })),
      resPlugin("second", () => {
        secondRan = true;
      }),
    ]);
    const result = await promise;
    assert.equal(result.status, 502);
    assert.deepEqual(result.headers, [{ name: "x-a", value: "1" }]);
    assert.equal(decode(result.body), "bad gateway");
    assert.equal(secondRan, false);
  });

  test("runResponseFilters() wraps a thrown error in PluginFilterError", async () => {
    const { promise } = runRes([resPlugin("bad", () => {
      throw new Error("nope");
    })]);
    await assert.rejects(promise, /Plugin "bad" failed: nope/);
  });
});

describe("prepareConfs()", () => {
  const strict = definePlugin({
    name: "strict",
    parseConf(raw) {
      const conf = JSON.parse(raw) as { n?: unknown };
      if (typeof conf.n !== "number") throw new Error(`"n" must be a number`);
      return conf.n;
    },
  });
  const registry = new PluginRegistry([strict]);

  test("prepareConfs() parses confs in order, duplicates included", () => {
    const chain = prepareConfs(registry, [
      { name: "strict", value: '{"n":1}' },
      { name: "strict", value: '{"n":2}' },
    ], { skipInvalid: false });
    assert.deepEqual(chain.map((entry) => entry.conf), [1, 2]);
  });

  test("prepareConfs() throws UnknownPluginError for an unknown name", () => {
    assert.throws(
      () => prepareConfs(registry, [{ name: "sya", value: "{}" }], { skipInvalid: false }),
      (error: unknown) => error instanceof UnknownPluginError && error.pluginName === "sya",
    );
  });

  test("prepareConfs() throws PluginConfError with the plugin name and parser message", () => {
    assert.throws(
      () => prepareConfs(registry, [{ name: "strict", value: "{}" }], { skipInvalid: false }),
      (error: unknown) =>
        error instanceof PluginConfError &&
        error.message === 'Cannot parse conf of plugin "strict": "n" must be a number',
    );
  });

  test("prepareConfs() skips invalid entries when skipInvalid is set", () => {
    const chain = prepareConfs(registry, [
      { name: "sya", value: "{}" },
      { name: "strict", value: "not json" },
      { name: "strict", value: '{"n":3}' },
    ], { skipInvalid: true });
    assert.deepEqual(chain.map((entry) => entry.conf), [3]);
  });
});

describe("PluginRegistry", () => {
  test("new PluginRegistry() throws DuplicatePluginError on a repeated name", () => {
    const a = definePlugin({ name: "a", parseConf: () => 1 });
    assert.throws(() => new PluginRegistry([a, a]), DuplicatePluginError);
  });

  test("PluginRegistry.names() lists names in order", () => {
    const a = definePlugin({ name: "a", parseConf: () => 1 });
    const b = definePlugin({ name: "b", parseConf: () => 1 });
    assert.deepEqual(new PluginRegistry([a, b]).names(), ["a", "b"]);
    assert.equal(new PluginRegistry([a]).get("b"), undefined);
  });

  test("definePlugin() rejects an empty name", () => {
    assert.throws(() => definePlugin({ name: "", parseConf: () => 1 }), TypeError);
  });
});

describe("runPhase() with a filter observer", () => {
  function observed(chain: PreparedPlugin[], call: Call) {
    const seen: string[] = [];
    const observer: FilterObserver = {
      start(plugin, phase, info) {
        seen.push(`start ${phase} ${plugin} ${info.id}`);
        return {
          traceparent: `tp-${plugin}`,
          end: (outcome) => seen.push(`end ${plugin} ${outcome}`),
        };
      },
    };
    let result: unknown;
    try {
      result = runPhase(REQUEST_PHASE, chain, fakeHttpReqCall({ id: 9 }), call, observer);
    } catch (error) {
      result = Promise.reject(error); // a synchronous failure, as the server sees it
    }
    return { seen, result };
  }

  test("each filter is watched, synchronous or not, with its outcome; the filter sees its traceparent", async () => {
    const call = new Call(new FakeExtraInfoChannel({}, "reqBody"));
    const traceparents: (string | undefined)[] = [];
    const { seen, result } = observed([
      reqPlugin("a", (req) => void traceparents.push(req.traceparent)),
      reqPlugin("b", (req) => Promise.resolve(void traceparents.push(req.traceparent))),
      reqPlugin("c", () => stop(204)),
    ], call);
    await result;
    assert.deepEqual(seen, [
      "start request a 9",
      "end a ok",
      "start request b 9",
      "end b ok",
      "start request c 9",
      "end c stop",
    ]);
    assert.deepEqual(traceparents, ["tp-a", "tp-b"]);
  });

  test("a throw, a bad return and a timeout are told apart", async () => {
    for (
      const [filter, outcome] of [
        [() => {
          throw new Error("x");
        }, "throw"],
        [async () => await Promise.reject(new Error("x")), "throw"],
        [() => 42 as unknown as undefined, "bad_return"],
        [() => new Promise<undefined>(() => {}), "timeout"],
      ] as const
    ) {
      const call = new Call(new FakeExtraInfoChannel({}, "reqBody"));
      const { seen, result } = observed([reqPlugin("p", filter)], call);
      if (outcome === "timeout") call.abort(new Error("deadline"));
      await assert.rejects(Promise.resolve().then(() => result));
      assert.deepEqual(seen, ["start request p 9", `end p ${outcome}`]);
    }
  });

  test("without tracing a filter sees the traceparent the call carries", async () => {
    let seen: string | undefined;
    await runReq([reqPlugin("a", (req) => void (seen = req.traceparent))], {
      headers: [["traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"]],
    }).promise;
    assert.equal(seen, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  });
});
