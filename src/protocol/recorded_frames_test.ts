// Decodes every frame recorded from real APISIX and the Go runner and checks it against index.json.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import {
  decodeExtraInfoRequest,
  decodeExtraInfoResponse,
  decodeFrameHeader,
  decodeHttpReqCallRequest,
  decodeHttpReqCallResponse,
  decodeHttpRespCallRequest,
  decodeHttpRespCallResponse,
  decodePrepareConfRequest,
  decodePrepareConfResponse,
  FrameType,
  METHODS,
  type TextEntry,
} from "./mod.ts";

const DIR = new URL("../../../shared/testdata/apisix-frames/", import.meta.url);
const text = new TextDecoder();

interface IndexEntry {
  file: string;
  type: number;
  payload_len: number;
  decoded: Record<string, unknown> & { kind: string };
}

function pairs(entries: readonly TextEntry[] | undefined): [string, string | null][] | null {
  return entries === undefined ? null : entries.map((e) => [e.name, e.value ?? null]);
}

function bodyText(bytes: Uint8Array | undefined): string | null {
  return bytes === undefined ? null : text.decode(bytes);
}

const index: IndexEntry[] = JSON.parse(await readFile(new URL("index.json", DIR), "utf8"));

test("recorded frames: index.json lists frames of every message kind", () => {
  const kinds = new Set(index.map((e) => e.decoded.kind));
  for (const k of ["prepareReq", "prepare", "httpReq", "req", "httpRespReq", "resp", "extra"]) {
    assert.ok(kinds.has(k), k);
  }
  assert.ok(kinds.has("extraResp"));
});

for (const entry of index) {
  test(`recorded frame ${entry.file} decodes to its index.json content`, async () => {
    const frame = new Uint8Array(await readFile(new URL(entry.file, DIR)));
    const { type, length } = decodeFrameHeader(frame);
    assert.equal(type, entry.type);
    assert.equal(length, entry.payload_len);
    assert.equal(frame.length, 4 + length);
    const payload = frame.subarray(4);
    const d = entry.decoded;
    switch (d.kind) {
      case "prepareReq": {
        assert.equal(type, FrameType.PrepareConf);
        const m = decodePrepareConfRequest(payload);
        assert.deepEqual({ conf: pairs(m.conf), key: m.key }, { conf: d.conf, key: d.key });
        break;
      }
      case "prepare":
        assert.equal(decodePrepareConfResponse(payload).confToken, d.token);
        break;
      case "httpReq": {
        assert.equal(type, FrameType.HttpReqCall);
        const m = decodeHttpReqCallRequest(payload);
        assert.deepEqual({
          id: m.id,
          srcIp: m.srcIp === undefined ? null : Array.from(m.srcIp).join("."),
          method: METHODS[m.method],
          path: m.path,
          args: pairs(m.args),
          headers: pairs(m.headers),
          confToken: m.confToken,
        }, {
          id: d.id,
          srcIp: d.srcIp,
          method: d.method,
          path: d.path,
          args: d.args,
          headers: d.headers,
          confToken: d.confToken,
        });
        break;
      }
      case "req": {
        const m = decodeHttpReqCallResponse(payload);
        assert.equal(m.id, d.id);
        const a = m.action;
        if (d.action === "none") {
          assert.equal(a, undefined);
        } else if (d.action === "stop") {
          assert.equal(a?.type, "stop");
          if (a?.type !== "stop") break;
          assert.deepEqual(
            { status: a.status, headers: pairs(a.headers), body: bodyText(a.body) },
            { status: d.status, headers: d.headers, body: d.body },
          );
        } else {
          assert.equal(a?.type, "rewrite");
          if (a?.type !== "rewrite") break;
          assert.deepEqual({
            path: a.path ?? null,
            headers: pairs(a.headers),
            args: pairs(a.args),
            respHeaders: pairs(a.respHeaders),
            body: bodyText(a.body),
          }, {
            path: d.path,
            headers: d.headers,
            args: d.args,
            respHeaders: d.respHeaders,
            body: d.body,
          });
        }
        break;
      }
      case "httpRespReq": {
        assert.equal(type, FrameType.HttpRespCall);
        const m = decodeHttpRespCallRequest(payload);
        assert.deepEqual(
          { id: m.id, status: m.status, headers: pairs(m.headers), confToken: m.confToken },
          { id: d.id, status: d.status, headers: d.headers, confToken: d.confToken },
        );
        break;
      }
      case "resp": {
        const m = decodeHttpRespCallResponse(payload);
        assert.deepEqual(
          { id: m.id, status: m.status, headers: pairs(m.headers), body: bodyText(m.body) },
          { id: d.id, status: d.status, headers: d.headers, body: d.body },
        );
        break;
      }
      case "extra":
        assert.deepEqual(decodeExtraInfoRequest(payload), { type: d.info });
        break;
      case "extraResp": {
        assert.equal(type, FrameType.ExtraInfo);
        const result = decodeExtraInfoResponse(payload).result;
        assert.equal(bodyText(result), d.result ?? null);
        // A view of the payload, not a copy.
        if (result !== undefined) assert.equal(result.buffer, payload.buffer);
        break;
      }
      default:
        assert.fail(`unknown kind ${d.kind} in index.json`);
    }
  });
}
