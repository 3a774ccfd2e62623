// Tests of the public test kit: fake calls, the recording channel and the runners.

import { test } from "node:test";
import assert from "node:assert/strict";
import { definePlugin } from "../plugin/define_plugin.ts";
import { PluginConfError } from "../plugin/errors.ts";
import { FakeExtraInfoChannel, fakeHttpReqCall } from "./fake.ts";
import { runRequestChain, runRequestPlugin, runResponsePlugin } from "./run.ts";

const echo = definePlugin({
  name: "echo",
  parseConf: (raw) => JSON.parse(raw) as { header: string },
  async requestFilter(req, conf) {
    req.headers.set(conf.header, `${req.method} ${req.path} ${await req.var("v")}`);
  },
  async responseFilter(res) {
    res.setBody(`${res.status}:${await res.text()}`);
  },
});

test("runRequestPlugin() parses the conf and reports the rewrite and the vars asked", async () => {
  const result = await runRequestPlugin(echo, {
    conf: { header: "x-echo" },
    request: { method: "PUT", path: "/p", vars: { v: "1" } },
  });
  assert.deepEqual(result.rewrite?.headers, [{ name: "x-echo", value: "PUT /p 1" }]);
  assert.deepEqual(result.varsAsked, ["v"]);
  assert.equal(result.bodyAsked, false);
});

test("runRequestChain() surfaces a parseConf failure as PluginConfError", async () => {
  await assert.rejects(runRequestChain([{ plugin: echo, conf: "{" }]), PluginConfError);
});

test("runResponsePlugin() answers RespBody from the fake response body", async () => {
  const result = await runResponsePlugin(echo, {
    conf: { header: "x" },
    response: { status: 404, body: "missing" },
  });
  assert.equal(result.bodyText, "404:missing");
  assert.equal(result.bodyAsked, true);
});

test("FakeExtraInfoChannel rejects a question asked while another is unanswered", async () => {
  const channel = new FakeExtraInfoChannel({ vars: { a: "1" } });
  const first = channel.ask({ type: "var", name: "a" });
  await assert.rejects(channel.ask({ type: "reqBody" }), /while another was unanswered/);
  assert.deepEqual(await first, new TextEncoder().encode("1"));
});

test("fakeHttpReqCall() lower-cases header names and keeps valueless args", () => {
  const call = fakeHttpReqCall({ headers: { "X-A": "1" }, args: { flag: null, e: "" } });
  assert.deepEqual(call.headers, [{ name: "x-a", value: "1" }]);
  assert.deepEqual(call.args, [{ name: "flag" }, { name: "e", value: "" }]);
});
