// Memoised reply frames: byte-identical to a fresh encoding, and never stale after a change.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  decodeHttpReqCallResponse,
  encodeHttpReqCallResponse,
  encodeHttpRespCallResponse,
  FrameEncoder,
} from "./mod.ts";
import { ReplyTemplates } from "./reply_templates.ts";
import type { PreparedStop, StopAction } from "./types.ts";

const enc = new TextEncoder();

/** The reference: header + payload of a plain (never memoised) encoding. */
function reference(id: number, action: StopAction): Uint8Array {
  const copy = {
    ...action,
    headers: action.headers?.map((e) => ({ ...e })),
    body: action.body?.slice(),
  };
  const payload = encodeHttpReqCallResponse({ id, action: copy });
  return new Uint8Array([
    2,
    payload.length >>> 16,
    (payload.length >>> 8) & 0xff,
    payload.length & 0xff,
    ...payload,
  ]);
}

function preparedStop(): PreparedStop {
  return Object.freeze({
    type: "stop" as const,
    status: 403,
    headers: [{ name: "X-Reason", value: "denied" }, { name: "Retry-After", value: "5" }],
    body: enc.encode("go away"),
    prepared: true as const,
  });
}

/** One encoder for the whole file: templates live as long as their encoder. */
const encoder = new FrameEncoder();

describe("memoised Stop frames", () => {
  test("FrameEncoder.httpReqCallResponse() gives the same bytes on every use of a prepared stop", () => {
    const action = preparedStop();
    for (const id of [1, 2, 0xFFFFFFFF, 0, 77, 4242, 0]) {
      assert.deepEqual(
        encoder.httpReqCallResponse({ id, action }),
        reference(id, action),
        `id ${id}`,
      );
    }
  });

  test("FrameEncoder.httpReqCallResponse() sees a changed body, header or status", () => {
    const body = enc.encode("hello");
    const headers = [{ name: "a", value: "1" }];
    const action = Object.freeze({
      type: "stop" as const,
      status: 200,
      headers,
      body,
      prepared: true as const,
    });
    for (let i = 0; i < 3; i++) encoder.httpReqCallResponse({ id: 5, action });
    body[0] = 0x4A; // "Jello"
    let decoded = decodeHttpReqCallResponse(
      encoder.httpReqCallResponse({ id: 5, action }).subarray(4),
    );
    assert.equal(new TextDecoder().decode((decoded.action as StopAction).body), "Jello");
    headers[0] = { name: "a", value: "2" };
    decoded = decodeHttpReqCallResponse(
      encoder.httpReqCallResponse({ id: 5, action }).subarray(4),
    );
    assert.deepEqual((decoded.action as StopAction).headers, [{ name: "a", value: "2" }]);
    const moved = { ...action, status: 201 };
    assert.deepEqual(encoder.httpReqCallResponse({ id: 6, action: moved }), reference(6, moved));
  });

  test("FrameEncoder.httpReqCallResponse() encodes large or unprepared stops every time", () => {
    const big = Object.freeze({
      type: "stop" as const,
      status: 200,
      body: new Uint8Array(4096).fill(1),
      prepared: true as const,
    });
    const open: StopAction = { type: "stop", status: 200, body: enc.encode("x") };
    const small = preparedStop();
    // Count the encodings the templates ask for: they encode only to make a template.
    const templates = new ReplyTemplates((size) => new Uint8Array(size));
    let encodings = 0;
    const encode = (action: PreparedStop, id: number) => {
      encodings++;
      const { type, status, headers, body } = action;
      return encoder.httpReqCallResponse({ id, action: { type, status, headers, body } });
    };
    for (let id = 1; id < 4; id++) {
      assert.equal(templates.stopFrame(big, id, encode), undefined, `big, use ${id}`);
      assert.deepEqual(encoder.httpReqCallResponse({ id, action: big }), reference(id, big));
      assert.deepEqual(encoder.httpReqCallResponse({ id, action: open }), reference(id, open));
      // Not prepared: each use sees the stop as it is now.
      open.body![0] = 0x61 + id;
    }
    assert.equal(encodings, 0);
    // The contrast: a small prepared stop is memoised from its second use on, encoded once.
    assert.equal(templates.stopFrame(small, 1, encode), undefined);
    for (let id = 2; id < 5; id++) {
      assert.deepEqual(templates.stopFrame(small, id, encode), reference(id, small));
    }
    assert.equal(encodings, 1);
  });

  test("replies with only an id come from a template and match a fresh encoding", () => {
    for (const id of [0, 1, 2, 0xFFFFFFFF, 0, 99]) {
      const req = encodeHttpReqCallResponse({ id });
      assert.deepEqual(encoder.httpReqCallResponse({ id }), withHeader(2, req), `req id ${id}`);
      const resp = encodeHttpRespCallResponse({ id });
      assert.deepEqual(
        encoder.httpRespCallResponse({ id }),
        withHeader(4, resp),
        `resp id ${id}`,
      );
    }
  });
});

function withHeader(type: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  return new Uint8Array([type, n >>> 16, (n >>> 8) & 0xff, n & 0xff, ...payload]);
}
