// Round trips, wire defaults, absent vs empty, pinned byte layouts and size limits of the message codecs.

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
  encodeErrorResponse,
  encodeExtraInfoRequest,
  encodeExtraInfoResponse,
  encodeHttpReqCallRequest,
  encodeHttpReqCallResponse,
  encodeHttpRespCallRequest,
  encodeHttpRespCallResponse,
  encodePrepareConfRequest,
  encodePrepareConfResponse,
  ErrorCode,
  FrameTooLargeError,
  type HttpReqCallRequest,
  MAX_PAYLOAD_SIZE,
  METHODS,
  type TextEntry,
} from "./mod.ts";

const enc = new TextEncoder();
const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

/** The vtable entry (offset from the table start, 0 = absent) of field `id` of a table. */
function vtEntry(b: Uint8Array, id: number, table = b[0]! | (b[1]! << 8) | (b[2]! << 16)): number {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const vt = table - view.getInt32(table, true);
  const vtSize = view.getUint16(vt, true);
  return 4 + 2 * id < vtSize ? view.getUint16(vt + 4 + 2 * id, true) : 0;
}

/** Plain copy of decoded entries (value key always present). */
function plain(entries: readonly TextEntry[] | undefined): TextEntry[] | undefined {
  return entries?.map((e) => ({ name: e.name, value: e.value }));
}

function norm(entries: readonly TextEntry[]): TextEntry[] {
  return entries.map((e) => ({ name: e.name, value: e.value }));
}

function plainReq(m: HttpReqCallRequest) {
  return {
    id: m.id,
    srcIp: m.srcIp,
    method: m.method,
    path: m.path,
    args: plain(m.args),
    headers: plain(m.headers),
    confToken: m.confToken,
  };
}

const ENTRIES: TextEntry[] = [
  { name: "a", value: "1" },
  { name: "flag" },
  { name: "empty", value: "" },
  { name: "ünï", value: "värde ✓ 😀" },
  { name: "a", value: "2" },
  { name: "bom", value: "\uFEFFx" },
];

describe("PrepareConf", () => {
  test("PrepareConf.Req round-trips conf entries with absent, empty and unicode values", () => {
    const m = decodePrepareConfRequest(encodePrepareConfRequest({ conf: ENTRIES, key: "k#1" }));
    assert.deepEqual(plain(m.conf), norm(ENTRIES));
    assert.equal(m.key, "k#1");
  });

  test("encodePrepareConfRequest() omits conf when undefined and always writes key", () => {
    const bytes = encodePrepareConfRequest({});
    assert.equal(vtEntry(bytes, 0), 0);
    assert.notEqual(vtEntry(bytes, 1), 0);
    assert.deepEqual(decodePrepareConfRequest(bytes), { conf: undefined, key: "" });
    const empty = decodePrepareConfRequest(encodePrepareConfRequest({ conf: [], key: "k" }));
    assert.deepEqual(empty.conf, []);
  });

  test("PrepareConf.Resp round-trips tokens and omits token 0", () => {
    for (const confToken of [1, 77, 0xFFFFFFFF]) {
      assert.equal(
        decodePrepareConfResponse(encodePrepareConfResponse({ confToken })).confToken,
        confToken,
      );
    }
    const zero = encodePrepareConfResponse({ confToken: 0 });
    assert.equal(vtEntry(zero, 0), 0);
    assert.equal(decodePrepareConfResponse(zero).confToken, 0);
  });
});

describe("HTTPReqCall.Req", () => {
  const full: HttpReqCallRequest = {
    id: 0xFFFFFFFF,
    srcIp: Uint8Array.from([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 1]),
    method: METHODS.indexOf("TRACE"),
    path: "/ä/b c",
    args: ENTRIES,
    headers: [{ name: "x-multi", value: "one" }, { name: "x-multi", value: "two" }],
    confToken: 42,
  };

  test("HTTPReqCall.Req round-trips every field", () => {
    const m = decodeHttpReqCallRequest(encodeHttpReqCallRequest(full));
    assert.deepEqual(plainReq(m), { ...full, args: norm(full.args), headers: norm(full.headers) });
  });

  test("encodeHttpReqCallRequest() omits id 0, method GET, conf_token 0, src_ip and path when absent", () => {
    const bytes = encodeHttpReqCallRequest({
      id: 0,
      srcIp: undefined,
      method: 0,
      path: undefined,
      args: [],
      headers: [],
      confToken: 0,
    });
    for (const id of [0, 1, 2, 3, 6]) assert.equal(vtEntry(bytes, id), 0, `field ${id}`);
    assert.notEqual(vtEntry(bytes, 4), 0, "args always written");
    assert.notEqual(vtEntry(bytes, 5), 0, "headers always written");
    const m = decodeHttpReqCallRequest(bytes);
    assert.deepEqual(plainReq(m), {
      id: 0,
      srcIp: undefined,
      method: 0,
      path: undefined,
      args: [],
      headers: [],
      confToken: 0,
    });
  });

  test("decodeHttpReqCallRequest() returns src_ip as a view of the payload and caches headers", () => {
    const bytes = encodeHttpReqCallRequest(full);
    const m = decodeHttpReqCallRequest(bytes);
    assert.equal(m.srcIp!.buffer, bytes.buffer);
    assert.equal(m.headers, m.headers);
    assert.equal(m.args, m.args);
  });

  test("decodeHttpReqCallRequest() reads a Req written with only 2 fields (short vtable)", () => {
    const b = new Builder(64);
    const ip = b.createByteVector(Uint8Array.from([10, 0, 0, 1]));
    b.startObject(2);
    b.addFieldOffset(1, ip, 0);
    b.addFieldInt32(0, 9, 0);
    b.finish(b.endObject());
    const bytes = b.asUint8Array();
    const t = bytes[0]! | (bytes[1]! << 8);
    assert.equal(bytes[t - new DataView(bytes.buffer, bytes.byteOffset).getInt32(t, true)], 8);
    assert.deepEqual(plainReq(decodeHttpReqCallRequest(bytes)), {
      id: 9,
      srcIp: Uint8Array.from([10, 0, 0, 1]),
      method: 0,
      path: undefined,
      args: [],
      headers: [],
      confToken: 0,
    });
  });

  test("decodeHttpReqCallRequest() reads TextEntry tables that share one vtable", () => {
    const b = new Builder(256);
    const offs = [["host", "h"], ["accept", "*/*"]].map(([n, v]) => {
      const name = b.createString(n!);
      const value = b.createString(v!);
      b.startObject(2);
      b.addFieldOffset(0, name, 0);
      b.addFieldOffset(1, value, 0);
      return b.endObject();
    });
    b.startVector(4, 2, 4);
    b.addOffset(offs[1]!);
    b.addOffset(offs[0]!);
    const headers = b.endVector();
    b.startObject(7);
    b.addFieldOffset(5, headers, 0);
    b.addFieldInt8(2, 2, 0);
    b.finish(b.endObject());
    const bytes = b.asUint8Array();
    // Both entries point at the same vtable.
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const root = view.getUint32(0, true);
    const vec = root + vtEntry(bytes, 5) + view.getUint32(root + vtEntry(bytes, 5), true);
    const vts = [0, 1].map((i) => {
      const slot = vec + 4 + 4 * i;
      const t = slot + view.getUint32(slot, true);
      return t - view.getInt32(t, true);
    });
    assert.equal(vts[0], vts[1]);
    const m = decodeHttpReqCallRequest(bytes);
    assert.equal(METHODS[m.method], "POST");
    assert.deepEqual(plain(m.headers), [{ name: "host", value: "h" }, {
      name: "accept",
      value: "*/*",
    }]);
  });
});

describe("HTTPReqCall.Resp", () => {
  test("HTTPReqCall.Resp without action omits action_type and action", () => {
    const bytes = encodeHttpReqCallResponse({ id: 5 });
    assert.equal(vtEntry(bytes, 1), 0);
    assert.equal(vtEntry(bytes, 2), 0);
    assert.deepEqual(decodeHttpReqCallResponse(bytes), { id: 5, action: undefined });
  });

  test("HTTPReqCall.Resp round-trips a Stop with headers and a binary body", () => {
    const action = {
      type: "stop" as const,
      status: 418,
      headers: [{ name: "X-A", value: "1" }, { name: "X-A", value: "2" }, { name: "x-del" }],
      body: ALL_BYTES,
    };
    const m = decodeHttpReqCallResponse(encodeHttpReqCallResponse({ id: 0, action }));
    assert.equal(m.id, 0);
    assert.equal(m.action?.type, "stop");
    if (m.action?.type !== "stop") return;
    assert.equal(m.action.status, 418);
    assert.deepEqual(plain(m.action.headers), norm(action.headers));
    assert.deepEqual(m.action.body, ALL_BYTES);
  });

  test("encodeHttpReqCallResponse() omits Stop status 0 and keeps absent headers/body absent", () => {
    const bytes = encodeHttpReqCallResponse({ id: 0, action: { type: "stop", status: 0 } });
    assert.equal(vtEntry(bytes, 0), 0, "id 0 omitted");
    assert.equal(bytes[bytes[0]! + vtEntry(bytes, 1)], 1, "action_type Stop");
    const m = decodeHttpReqCallResponse(bytes);
    assert.deepEqual(m, {
      id: 0,
      action: { type: "stop", status: 0, headers: undefined, body: undefined },
    });
  });

  test("HTTPReqCall.Resp round-trips a Rewrite with every field, empty lists staying empty", () => {
    const action = {
      type: "rewrite" as const,
      path: "/new path",
      headers: [{ name: "x-set", value: "v" }, { name: "x-del" }],
      args: [],
      respHeaders: [{ name: "x-resp", value: "" }],
      body: ALL_BYTES,
    };
    const m = decodeHttpReqCallResponse(encodeHttpReqCallResponse({ id: 3, action }));
    assert.equal(m.action?.type, "rewrite");
    if (m.action?.type !== "rewrite") return;
    assert.deepEqual({
      path: m.action.path,
      headers: plain(m.action.headers),
      args: m.action.args,
      respHeaders: plain(m.action.respHeaders),
      body: m.action.body,
    }, {
      path: action.path,
      headers: norm(action.headers),
      args: [],
      respHeaders: norm(action.respHeaders),
      body: ALL_BYTES,
    });
  });

  test("HTTPReqCall.Resp keeps an all-absent Rewrite all absent", () => {
    const m = decodeHttpReqCallResponse(
      encodeHttpReqCallResponse({ id: 3, action: { type: "rewrite" } }),
    );
    assert.deepEqual(m.action, {
      type: "rewrite",
      path: undefined,
      headers: undefined,
      args: undefined,
      respHeaders: undefined,
      body: undefined,
    });
  });

  test("encodeHttpReqCallResponse() matches a Resp built directly with the Builder", () => {
    const b = new Builder(64);
    const body = b.createByteVector(enc.encode("hi"));
    b.startObject(3);
    b.addFieldOffset(2, body, 0);
    b.addFieldInt16(0, 403, 0);
    const stop = b.endObject();
    b.startObject(3);
    b.addFieldInt32(0, 7, 0);
    b.addFieldOffset(2, stop, 0);
    b.addFieldInt8(1, 1, 0);
    b.finish(b.endObject());
    const expected = b.asUint8Array();
    const actual = encodeHttpReqCallResponse({
      id: 7,
      action: { type: "stop", status: 403, body: enc.encode("hi") },
    });
    assert.deepEqual(actual, expected);
  });
});

describe("ExtraInfo", () => {
  test("ExtraInfo.Req round-trips Var, ReqBody and RespBody", () => {
    for (
      const msg of [
        { type: "var", name: "remote_addr" },
        { type: "var", name: "" },
        { type: "reqBody" },
        { type: "respBody" },
      ] as const
    ) {
      assert.deepEqual(decodeExtraInfoRequest(encodeExtraInfoRequest(msg)), msg);
    }
  });

  test("ExtraInfo.Resp keeps an absent result distinct from an empty one", () => {
    const absent = encodeExtraInfoResponse({});
    assert.equal(vtEntry(absent, 0), 0);
    assert.equal(decodeExtraInfoResponse(absent).result, undefined);
    const empty = decodeExtraInfoResponse(encodeExtraInfoResponse({ result: new Uint8Array(0) }));
    assert.deepEqual(empty.result, new Uint8Array(0));
    const all = decodeExtraInfoResponse(encodeExtraInfoResponse({ result: ALL_BYTES }));
    assert.deepEqual(all.result, ALL_BYTES);
  });
});

describe("HTTPRespCall", () => {
  test("HTTPRespCall.Req round-trips every field and omits defaults", () => {
    const msg = {
      id: 4,
      status: 502,
      headers: [{ name: "Content-Type", value: "text/plain" }, { name: "X-Empty", value: "" }],
      confToken: 9,
    };
    const m = decodeHttpRespCallRequest(encodeHttpRespCallRequest(msg));
    assert.deepEqual(
      { id: m.id, status: m.status, headers: plain(m.headers), confToken: m.confToken },
      msg,
    );
    const zero = encodeHttpRespCallRequest({ id: 0, status: 0, headers: [], confToken: 0 });
    for (const id of [0, 1, 3]) assert.equal(vtEntry(zero, id), 0);
    assert.notEqual(vtEntry(zero, 2), 0);
  });

  test("HTTPRespCall.Resp round-trips every field, absent and empty kept apart", () => {
    const full = { id: 4, status: 201, headers: [{ name: "X-A" }], body: ALL_BYTES };
    const m = decodeHttpRespCallResponse(encodeHttpRespCallResponse(full));
    assert.deepEqual({ ...m, headers: plain(m.headers) }, { ...full, headers: norm(full.headers) });
    const bare = encodeHttpRespCallResponse({ id: 0 });
    for (const id of [0, 1, 2, 3]) assert.equal(vtEntry(bare, id), 0);
    assert.deepEqual(decodeHttpRespCallResponse(bare), {
      id: 0,
      status: 0,
      headers: undefined,
      body: undefined,
    });
    const empty = decodeHttpRespCallResponse(
      encodeHttpRespCallResponse({ id: 1, headers: [], body: new Uint8Array(0) }),
    );
    assert.deepEqual(empty.headers, []);
    assert.deepEqual(empty.body, new Uint8Array(0));
  });
});

describe("Err", () => {
  test("Err.Resp round-trips codes and omits BAD_REQUEST", () => {
    for (const code of Object.values(ErrorCode)) {
      assert.equal(decodeErrorResponse(encodeErrorResponse({ code })).code, code);
    }
    assert.equal(vtEntry(encodeErrorResponse({ code: ErrorCode.BadRequest }), 0), 0);
  });

  test("encodeErrorResponse() matches an Err.Resp built directly with the Builder", () => {
    const b = new Builder(16);
    b.startObject(1);
    b.addFieldInt8(0, 2, 0);
    b.finish(b.endObject());
    assert.deepEqual(encodeErrorResponse({ code: 2 }), b.asUint8Array());
  });
});

describe("encoder output and size limit", () => {
  test("encoders return bytes the caller owns, untouched by later encodes", () => {
    const first = encodePrepareConfResponse({ confToken: 1 });
    const copy = first.slice();
    encodePrepareConfResponse({ confToken: 2 });
    encodeHttpRespCallResponse({ id: 9, body: ALL_BYTES });
    assert.deepEqual(first, copy);
    assert.equal(first.byteOffset, 0);
    assert.equal(first.buffer.byteLength, first.length);
  });

  test("encodeHttpReqCallResponse() throws FrameTooLargeError for a Stop body of 0xFFFFFF bytes", () => {
    const body = new Uint8Array(MAX_PAYLOAD_SIZE);
    assert.throws(
      () => encodeHttpReqCallResponse({ id: 1, action: { type: "stop", status: 200, body } }),
      FrameTooLargeError,
    );
    // Just under the limit on its own, but the table around it does not fit.
    assert.throws(
      () => encodeHttpRespCallResponse({ id: 1, body: body.subarray(0, MAX_PAYLOAD_SIZE - 8) }),
      FrameTooLargeError,
    );
    // The shared builder still works afterwards.
    assert.equal(decodeHttpReqCallResponse(encodeHttpReqCallResponse({ id: 8 })).id, 8);
  });

  test("encodeExtraInfoResponse() accepts a result that just fits and rejects one that does not", () => {
    const fits = encodeExtraInfoResponse({ result: new Uint8Array(MAX_PAYLOAD_SIZE - 64) });
    assert.ok(fits.length <= MAX_PAYLOAD_SIZE);
    assert.equal(decodeExtraInfoResponse(fits).result!.length, MAX_PAYLOAD_SIZE - 64);
    assert.throws(
      () => encodeExtraInfoResponse({ result: new Uint8Array(MAX_PAYLOAD_SIZE) }),
      FrameTooLargeError,
    );
  });
});
