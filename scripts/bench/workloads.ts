// Benchmark workloads: the frames the load generator sends and the replies a correct runner gives.

import {
  decodeErrorResponse,
  decodeExtraInfoRequest,
  decodeHttpReqCallResponse,
  decodeHttpRespCallResponse,
  encodeExtraInfoRequest,
  encodeExtraInfoResponse,
  encodeHttpReqCallRequest,
  encodeHttpReqCallResponse,
  encodeHttpRespCallRequest,
  encodeHttpRespCallResponse,
  encodePrepareConfRequest,
  encodePrepareConfResponse,
} from "../../src/protocol/mod.ts";
import {
  type ExtraInfoRequest,
  FRAME_HEADER_SIZE,
  FrameType,
  type HttpReqCallResponse,
  type TextEntry,
} from "../../src/protocol/types.ts";

const ENCODER = new TextEncoder();

/** One benchmark workload: a route conf, the call APISIX makes, its ExtraInfo answers and the reply. */
export interface Workload {
  /** Short name used on the command line and in the tables. */
  readonly name: string;
  /** What it exercises, for the tables. */
  readonly title: string;
  /** Frame type of the call: HttpReqCall (2) or HttpRespCall (4). */
  readonly callType: 2 | 4;
  /** The route's plugin confs (PrepareConf). */
  readonly conf: readonly TextEntry[];
  /** The call payload for a conf token. */
  encodeCall(token: number): Uint8Array;
  /** The ExtraInfo questions the runner asks per call, in order. */
  readonly questions: readonly ExtraInfoRequest[];
  /** APISIX's answers to {@linkcode Workload.questions}, same order. */
  readonly answers: readonly (Uint8Array | undefined)[];
  /** The reply payload a correct runner sends (also the ceiling's fixed reply). */
  readonly reply: Uint8Array;
}

/** Request id of every benchmark call (APISIX counts up; the runner never looks at it). */
const CALL_ID = 4242;

/** Headers of a typical proxied browser request. */
const REQUEST_HEADERS: readonly TextEntry[] = [
  { name: "host", value: "api.example.com" },
  {
    name: "user-agent",
    value: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0",
  },
  { name: "accept", value: "application/json, text/plain, */*" },
  { name: "accept-encoding", value: "gzip, deflate, br" },
  { name: "accept-language", value: "en-US,en;q=0.9" },
  { name: "x-request-id", value: "0f9a4c1e-5b7d-4e2a-9c3f-8d6b2a1e7f40" },
  { name: "x-forwarded-for", value: "203.0.113.7" },
  { name: "cookie", value: "session=4f2c9a; theme=dark" },
];

const REQUEST_ARGS: readonly TextEntry[] = [
  { name: "page", value: "2" },
  { name: "limit", value: "10" },
];

const RESPONSE_HEADERS: readonly TextEntry[] = [
  { name: "Content-Type", value: "text/html; charset=utf-8" },
  { name: "Content-Length", value: "16384" },
  { name: "Server", value: "nginx" },
  { name: "Date", value: "Sat, 21 Nov 2026 00:00:00 GMT" },
  { name: "Cache-Control", value: "no-cache" },
];

function _reqCall(method: number, path: string, headers: readonly TextEntry[] = REQUEST_HEADERS) {
  return (token: number) =>
    encodeHttpReqCallRequest({
      id: CALL_ID,
      srcIp: new Uint8Array([127, 0, 0, 1]),
      method,
      path,
      args: REQUEST_ARGS,
      headers,
      confToken: token,
    });
}

/** An HS256 token for the jwt-auth workload: `{"sub":"bench","aud":"api"}`, no expiry (made with jose). */
const BENCH_JWT =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJiZW5jaCIsImF1ZCI6ImFwaSIsImlhdCI6MTc5NjAwMDAwMH0.aWHdni7e9geDmwnQRjgmGD7O58hDMakRJGut4VvUBS8";

function _reqReply(msg: Omit<HttpReqCallResponse, "id">): Uint8Array {
  return encodeHttpReqCallResponse({ id: CALL_ID, ...msg });
}

/** A 16 KiB HTML-ish body with one "world" in the middle for the response-rewrite filter. */
function _responseBody(): Uint8Array {
  const line = "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do.</p>\n";
  let text = "";
  while (text.length < 8192) text += line;
  text += "<h1>hello world</h1>\n";
  while (text.length < 16384) text += line;
  return ENCODER.encode(text.slice(0, 16384));
}

/** A 1 MiB JSON object with the required field first and one large string. */
function _jsonBody(): Uint8Array {
  const head = '{"name":"bench","data":"';
  const tail = '"}';
  return ENCODER.encode(head + "x".repeat(1024 * 1024 - head.length - tail.length) + tail);
}

const RESPONSE_BODY = _responseBody();
const REWRITTEN_BODY = ENCODER.encode(
  new TextDecoder().decode(RESPONSE_BODY).replace("world", "there"),
);

/** Every workload, in table order. */
export const WORKLOADS: readonly Workload[] = [
  {
    name: "empty",
    title: "empty conf (no plugin)",
    callType: FrameType.HttpReqCall,
    conf: [],
    encodeCall: _reqCall(0, "/api/v1/users/42"),
    questions: [],
    answers: [],
    reply: _reqReply({}),
  },
  {
    name: "say",
    title: "say (Stop)",
    callType: FrameType.HttpReqCall,
    conf: [{ name: "say", value: '{"body":"Hello, World!"}' }],
    encodeCall: _reqCall(0, "/api/v1/users/42"),
    questions: [],
    answers: [],
    reply: _reqReply({
      action: {
        type: "stop",
        status: 200,
        headers: [{ name: "X-Resp-A6-Runner", value: "TypeScript" }],
        body: ENCODER.encode("Hello, World!"),
      },
    }),
  },
  {
    name: "request-rewrite",
    title: "request-rewrite (Rewrite)",
    callType: FrameType.HttpReqCall,
    conf: [{
      name: "request-rewrite",
      value: '{"path":"/v2/users/42","headers":{"set":{"x-api-version":"2"},"remove":["cookie"]}}',
    }],
    encodeCall: _reqCall(0, "/api/v1/users/42"),
    questions: [],
    answers: [],
    reply: _reqReply({
      action: {
        type: "rewrite",
        path: "/v2/users/42",
        headers: [{ name: "cookie" }, { name: "x-api-version", value: "2" }],
      },
    }),
  },
  {
    name: "forward-vars",
    title: "forward-vars, 2 vars (2 ExtraInfo)",
    callType: FrameType.HttpReqCall,
    conf: [{ name: "forward-vars", value: '{"vars":["remote_addr","route_id"]}' }],
    encodeCall: _reqCall(0, "/api/v1/users/42"),
    questions: [{ type: "var", name: "remote_addr" }, { type: "var", name: "route_id" }],
    answers: [ENCODER.encode("127.0.0.1"), ENCODER.encode("route-1")],
    reply: _reqReply({
      action: {
        type: "rewrite",
        headers: [
          { name: "x-var-remote_addr", value: "127.0.0.1" },
          { name: "x-var-route_id", value: "route-1" },
        ],
      },
    }),
  },
  {
    name: "response-rewrite",
    title: "response-rewrite, 16 KiB body",
    callType: FrameType.HttpRespCall,
    conf: [{
      name: "response-rewrite",
      value: '{"filters":[{"regex":"world","scope":"once","replace":"there"}]}',
    }],
    encodeCall: (token) =>
      encodeHttpRespCallRequest({
        id: CALL_ID,
        status: 200,
        headers: RESPONSE_HEADERS,
        confToken: token,
      }),
    questions: [{ type: "respBody" }],
    answers: [RESPONSE_BODY],
    reply: encodeHttpRespCallResponse({ id: CALL_ID, body: REWRITTEN_BODY }),
  },
  {
    name: "limit-count",
    title: "limit-count, local policy (no headers)",
    callType: FrameType.HttpReqCall,
    // A count no run reaches: every call is counted and let through, so the reply never changes.
    conf: [{
      name: "limit-count",
      value: '{"count":1000000000,"time_window":3600,"show_limit_quota_header":false}',
    }],
    encodeCall: _reqCall(0, "/api/v1/users/42"),
    questions: [],
    answers: [],
    reply: _reqReply({}),
  },
  {
    name: "jwt-auth",
    title: "jwt-auth, HS256 bearer token",
    callType: FrameType.HttpReqCall,
    conf: [{
      name: "jwt-auth",
      value: '{"secret":"bench-secret-of-at-least-32-bytes!","audience":"api"}',
    }],
    encodeCall: _reqCall(0, "/api/v1/users/42", [
      ...REQUEST_HEADERS,
      { name: "authorization", value: `Bearer ${BENCH_JWT}` },
    ]),
    questions: [],
    answers: [],
    reply: _reqReply({}),
  },
  {
    name: "request-validation",
    title: "request-validation, 1 MiB body",
    callType: FrameType.HttpReqCall,
    conf: [{ name: "request-validation", value: '{"required":["name"]}' }],
    encodeCall: _reqCall(2, "/api/v1/users"),
    questions: [{ type: "reqBody" }],
    answers: [_jsonBody()],
    reply: _reqReply({}),
  },
];

/** The workload called `name`; throws naming the known ones otherwise. */
export function workloadNamed(name: string): Workload {
  const workload = WORKLOADS.find((w) => w.name === name);
  if (workload === undefined) {
    throw new Error(
      `Unknown workload "${name}"; known: ${WORKLOADS.map((w) => w.name).join(", ")}`,
    );
  }
  return workload;
}

/** Header and payload as one buffer, ready to write. */
export function frame(type: number, payload: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(FRAME_HEADER_SIZE + payload.length);
  bytes[0] = type;
  bytes[1] = payload.length >>> 16;
  bytes[2] = payload.length >>> 8;
  bytes[3] = payload.length;
  bytes.set(payload, FRAME_HEADER_SIZE);
  return bytes;
}

/** The PrepareConf request frame of `workload`. */
export function prepareConfFrame(workload: Workload): Uint8Array {
  return frame(
    FrameType.PrepareConf,
    encodePrepareConfRequest({ conf: workload.conf, key: `route#bench#${workload.name}#1` }),
  );
}

/** What the minimal responder writes: fixed frames, prepared once, never decoded per call. */
export interface CeilingScript {
  /** Reply to any PrepareConf. */
  readonly prepareReply: Uint8Array;
  /** ExtraInfo questions sent per call, in order, each waiting for one answer frame. */
  readonly questions: readonly Uint8Array[];
  /** The final reply of each call. */
  readonly reply: Uint8Array;
}

/** The ceiling responder's frames for `workload`: the same bytes a correct runner sends. */
export function ceilingScript(workload: Workload): CeilingScript {
  return {
    prepareReply: frame(FrameType.PrepareConf, encodePrepareConfResponse({ confToken: 1 })),
    questions: workload.questions.map((q) => frame(FrameType.ExtraInfo, encodeExtraInfoRequest(q))),
    reply: frame(workload.callType, workload.reply),
  };
}

/** The load generator's frames for `workload` once PrepareConf gave `token`. */
export interface LoadScript {
  /** The call frame, sent as is on every call. */
  readonly call: Uint8Array;
  /** One answer frame per ExtraInfo question, in order. */
  readonly answers: readonly Uint8Array[];
}

/** Encodes the call and answer frames of `workload` once. */
export function loadScript(workload: Workload, token: number): LoadScript {
  return {
    call: frame(workload.callType, workload.encodeCall(token)),
    answers: workload.answers.map((result) =>
      frame(FrameType.ExtraInfo, encodeExtraInfoResponse({ result }))
    ),
  };
}

/**
 * Checks one ExtraInfo question (`index` of the call) against the workload;
 * returns a description of the mismatch or `undefined`.
 */
export function checkQuestion(
  workload: Workload,
  index: number,
  payload: Uint8Array,
): string | undefined {
  const expected = workload.questions[index];
  const actual = decodeExtraInfoRequest(payload);
  if (expected === undefined) return `unexpected ExtraInfo question ${_json(actual)}`;
  if (_json(actual) !== _json(expected)) {
    return `ExtraInfo question ${index}: expected ${_json(expected)}, got ${_json(actual)}`;
  }
  return undefined;
}

/** Checks a call's final frame against the expected reply; returns a mismatch or `undefined`. */
export function checkReply(
  workload: Workload,
  type: number,
  payload: Uint8Array,
): string | undefined {
  if (type === FrameType.Error) {
    return `error frame with code ${decodeErrorResponse(payload).code}`;
  }
  if (type !== workload.callType) return `reply of frame type ${type}`;
  const decode = type === FrameType.HttpReqCall
    ? decodeHttpReqCallResponse
    : decodeHttpRespCallResponse;
  const actual = _json(decode(payload));
  const expected = _json(decode(workload.reply));
  return actual === expected ? undefined : `expected reply ${expected}, got ${actual}`;
}

function _json(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (v instanceof Uint8Array) {
      return v.length > 64 ? `<${v.length} bytes, sum ${_sum(v)}>` : new TextDecoder().decode(v);
    }
    return v;
  });
}

function _sum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) sum = (sum + bytes[i]! * (i + 1)) >>> 0;
  return sum;
}
