// Hostile payloads: every decoder throws MalformedPayloadError (never RangeError/TypeError) and never hangs.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Builder } from "flatbuffers";
import {
  decodeErrorResponse,
  decodeExtraInfoRequest,
  decodeExtraInfoResponse,
  decodeHttpReqCallRequest,
  decodeHttpReqCallResponse,
  decodeHttpRespCallRequest,
  decodeHttpRespCallResponse,
  decodePrepareConfRequest,
  decodePrepareConfResponse,
  encodeExtraInfoRequest,
  encodeHttpReqCallRequest,
  encodeHttpReqCallResponse,
  encodeHttpRespCallRequest,
  encodeHttpRespCallResponse,
  encodePrepareConfRequest,
  MalformedPayloadError,
} from "./mod.ts";

/** Every decoder, touching lazy fields so that their text is decoded too. */
const DECODERS: Record<string, (p: Uint8Array) => unknown> = {
  prepareConfRequest: decodePrepareConfRequest,
  prepareConfResponse: decodePrepareConfResponse,
  httpReqCallRequest: (p) => {
    const m = decodeHttpReqCallRequest(p);
    return [m.args, m.headers, m.args];
  },
  httpReqCallResponse: decodeHttpReqCallResponse,
  extraInfoRequest: decodeExtraInfoRequest,
  extraInfoResponse: decodeExtraInfoResponse,
  httpRespCallRequest: (p) => decodeHttpRespCallRequest(p).headers,
  httpRespCallResponse: decodeHttpRespCallResponse,
  errorResponse: decodeErrorResponse,
};

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** Absolute position of the target of offset field `id` of the root table. */
function target(b: Uint8Array, id: number): number {
  const v = view(b);
  const t = v.getUint32(0, true);
  const vt = t - v.getInt32(t, true);
  const p = t + v.getUint16(vt + 4 + 2 * id, true);
  return p + v.getUint32(p, true);
}

function patchU32(b: Uint8Array, at: number, value: number): Uint8Array {
  const copy = b.slice();
  view(copy).setUint32(at, value, true);
  return copy;
}

const REQ = encodeHttpReqCallRequest({
  id: 1,
  srcIp: new Uint8Array([127, 0, 0, 1]),
  method: 2,
  path: "/p",
  args: [{ name: "a", value: "1" }],
  headers: [{ name: "host", value: "h" }, { name: "x" }],
  confToken: 3,
});
const PREPARE = encodePrepareConfRequest({ conf: [{ name: "say", value: "{}" }], key: "k" });

function assertMalformed(fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MalformedPayloadError, `got ${e}`);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

describe("malformed payloads", () => {
  const cases: [string, Uint8Array][] = [
    ["an empty payload", new Uint8Array(0)],
    ["3 bytes", new Uint8Array([1, 2, 3])],
    ["a root offset past the end", new Uint8Array([0xff, 0, 0, 0, 0, 0, 0, 0])],
    ["a vtable offset past the end", new Uint8Array([4, 0, 0, 0, 0x18, 0xfc, 0xff, 0xff])],
    ["a negative vtable position", new Uint8Array([4, 0, 0, 0, 0x00, 0x01, 0, 0])],
    [
      "a vtable larger than the payload",
      new Uint8Array([8, 0, 0, 0, 0xff, 0x7f, 4, 0, 4, 0, 0, 0]),
    ],
  ];
  for (const [name, payload] of cases) {
    test(`every decoder throws MalformedPayloadError for ${name}`, () => {
      for (const decode of Object.values(DECODERS)) assertMalformed(() => decode(payload));
    });
  }

  test("decodePrepareConfRequest() throws MalformedPayloadError for a string length past the end", () => {
    const bad = patchU32(PREPARE, target(PREPARE, 1), 0x7fffffff);
    assertMalformed(() => decodePrepareConfRequest(bad), /PrepareConf\.Req\.key/);
  });

  test("decodeHttpReqCallRequest() throws at decode time for a huge headers vector count", () => {
    const bad = patchU32(REQ, target(REQ, 5), 0xffffffff);
    assertMalformed(() => decodeHttpReqCallRequest(bad), /HTTPReqCall\.Req\.headers.*4294967295/);
  });

  test("decodeHttpReqCallRequest() throws at decode time for a header string past the end", () => {
    // Point the first header's name offset far away.
    const v = view(REQ);
    const vec = target(REQ, 5);
    const t = vec + 4 + v.getUint32(vec + 4, true);
    const vt = t - v.getInt32(t, true);
    const nameAt = t + v.getUint16(vt + 4, true);
    assertMalformed(() => decodeHttpReqCallRequest(patchU32(REQ, nameAt, 0x10000)), /headers/);
  });

  test("decodeHttpReqCallResponse() names an unknown action type", () => {
    const b = new Builder(32);
    b.startObject(0);
    const table = b.endObject();
    b.startObject(3);
    b.addFieldOffset(2, table, 0);
    b.addFieldInt8(1, 7, 0);
    b.finish(b.endObject());
    assertMalformed(() => decodeHttpReqCallResponse(b.asUint8Array()), /action type 7/);
  });

  test("decodeHttpReqCallResponse() rejects a Stop action type without its table", () => {
    const b = new Builder(32);
    b.startObject(3);
    b.addFieldInt8(1, 1, 0);
    b.finish(b.endObject());
    assertMalformed(() => decodeHttpReqCallResponse(b.asUint8Array()), /HTTPReqCall\.Resp\.action/);
  });

  test("decodeExtraInfoRequest() names an unknown info type", () => {
    const good = encodeExtraInfoRequest({ type: "reqBody" });
    const v = view(good);
    const t = v.getUint32(0, true);
    const at = t + v.getUint16(t - v.getInt32(t, true) + 4, true);
    const bad = good.slice();
    bad[at] = 9;
    assertMalformed(() => decodeExtraInfoRequest(bad), /info type 9/);
  });

  test("decodeHttpReqCallRequest() rejects many entries sharing one big string", () => {
    // 2000 vector slots all pointing at one TextEntry whose name is 4 KiB: 8 MB of text from 12 KB.
    const b = new Builder(16384);
    const name = b.createString("x".repeat(4096));
    b.startObject(2);
    b.addFieldOffset(0, name, 0);
    const entry = b.endObject();
    b.startVector(4, 2000, 4);
    for (let i = 0; i < 2000; i++) b.addOffset(entry);
    const headers = b.endVector();
    b.startObject(7);
    b.addFieldOffset(5, headers, 0);
    b.finish(b.endObject());
    assertMalformed(() => decodeHttpReqCallRequest(b.asUint8Array()), /strings total/);
  });
});

/** Small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("random payloads", () => {
  const valid = [
    REQ,
    PREPARE,
    encodeHttpReqCallResponse({
      id: 1,
      action: { type: "rewrite", path: "/x", headers: [{ name: "a" }], body: new Uint8Array(9) },
    }),
    encodeHttpRespCallRequest({
      id: 1,
      status: 200,
      headers: [{ name: "A", value: "b" }],
      confToken: 1,
    }),
    encodeHttpRespCallResponse({ id: 1, status: 201, headers: [], body: new Uint8Array(3) }),
    encodeExtraInfoRequest({ type: "var", name: "remote_addr" }),
  ];

  test("decoders either succeed or throw MalformedPayloadError on random and mutated bytes", () => {
    const rand = prng(0xa6a6);
    let failures = 0;
    for (let i = 0; i < 2000; i++) {
      let payload: Uint8Array;
      if (i % 2 === 0) {
        payload = new Uint8Array(Math.floor(rand() * 96));
        for (let j = 0; j < payload.length; j++) payload[j] = Math.floor(rand() * 256);
        // Often aim the root offset inside the payload to get past the first check.
        if (payload.length >= 8 && rand() < 0.7) payload[0] = Math.floor(rand() * payload.length);
        if (payload.length >= 8) payload[1] = payload[2] = payload[3] = 0;
      } else {
        payload = valid[Math.floor(rand() * valid.length)]!.slice();
        const flips = 1 + Math.floor(rand() * 4);
        for (let f = 0; f < flips; f++) {
          payload[Math.floor(rand() * payload.length)] = Math.floor(rand() * 256);
        }
        if (rand() < 0.2) payload = payload.subarray(0, Math.floor(rand() * payload.length));
      }
      for (const [name, decode] of Object.entries(DECODERS)) {
        try {
          decode(payload);
        } catch (e) {
          if (!(e instanceof MalformedPayloadError)) {
            assert.fail(`${name} threw ${e} for [${Array.from(payload)}]`);
          }
          failures++;
        }
      }
    }
    assert.ok(failures > 0);
  });
});
