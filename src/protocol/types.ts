// Message shapes of the APISIX ext-plugin RPC (docs/PROTOCOL.md §1–2), shared by both directions.

/** Frame type byte: the first byte of every frame (docs/PROTOCOL.md §1). */
export const FrameType = {
  /** `A6.Err.Resp`, sent by the runner instead of a normal reply. */
  Error: 0,
  /** `A6.PrepareConf.Req` / `A6.PrepareConf.Resp`. */
  PrepareConf: 1,
  /** `A6.HTTPReqCall.Req` / `A6.HTTPReqCall.Resp`. */
  HttpReqCall: 2,
  /** `A6.ExtraInfo.Req` (runner question) / `A6.ExtraInfo.Resp` (APISIX answer). */
  ExtraInfo: 3,
  /** `A6.HTTPRespCall.Req` / `A6.HTTPRespCall.Resp`. */
  HttpRespCall: 4,
} as const;

/** One of the values of {@linkcode FrameType}. */
export type FrameTypeValue = typeof FrameType[keyof typeof FrameType];

/** `A6.Err.Code`: the code carried by an error frame. */
export const ErrorCode = {
  BadRequest: 0,
  ServiceUnavailable: 1,
  ConfTokenNotFound: 2,
} as const;

/** One of the values of {@linkcode ErrorCode}. */
export type ErrorCodeValue = typeof ErrorCode[keyof typeof ErrorCode];

const _ERROR_CODE_NAMES = ["BAD_REQUEST", "SERVICE_UNAVAILABLE", "CONF_TOKEN_NOT_FOUND"];

/**
 * The name APISIX's Lua client and docs/PROTOCOL.md give an error code.
 *
 * @example
 * ```ts
 * errorCodeName(0); // "BAD_REQUEST"
 * errorCodeName(9); // "unknown error code 9"
 * ```
 */
export function errorCodeName(code: number): string {
  return _ERROR_CODE_NAMES[code] ?? `unknown error code ${code}`;
}

/** Largest payload a frame can carry: the length field is 24 bits. */
export const MAX_PAYLOAD_SIZE = 0xFFFFFF;

/** Size of the frame header: 1 type byte + 3 length bytes (big-endian). */
export const FRAME_HEADER_SIZE = 4;

/** An HTTP method APISIX can send (the names of the `A6.Method` enum). */
export type Method =
  | "GET"
  | "HEAD"
  | "POST"
  | "PUT"
  | "DELETE"
  | "MKCOL"
  | "COPY"
  | "MOVE"
  | "OPTIONS"
  | "PROPFIND"
  | "PROPPATCH"
  | "LOCK"
  | "UNLOCK"
  | "PATCH"
  | "TRACE";

/** `A6.Method` enum: each method at the index of its wire value. */
export const METHODS: readonly Method[] = Object.freeze([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "MKCOL",
  "COPY",
  "MOVE",
  "OPTIONS",
  "PROPFIND",
  "PROPPATCH",
  "LOCK",
  "UNLOCK",
  "PATCH",
  "TRACE",
]);

/**
 * `A6.TextEntry`: a name with an optional value. An absent value (`undefined`)
 * is distinct from an empty one (`""`): in a Rewrite it means "delete", in
 * query args it means `?flag` without `=`.
 */
export interface TextEntry {
  /** `name`: a header, arg or plugin name. */
  readonly name: string;
  /** `value`; `undefined` when absent on the wire. */
  readonly value?: string | undefined;
}

/**
 * A {@linkcode TextEntry} decoded from a payload, whose value is only decoded
 * when read: its lower-case name and whether it has a value are known without.
 */
export interface DecodedTextEntry extends TextEntry {
  /** `name.toLowerCase()`, computed once per distinct name. */
  readonly lower: string;
  /** Whether the entry has a value on the wire. */
  readonly hasValue: boolean;
}

/** `A6.PrepareConf.Req`: the ordered plugin confs of one route phase. */
export interface PrepareConfRequest {
  /** `conf`: plugin name → raw conf text, in route order; `undefined` when absent on the wire. */
  readonly conf?: readonly TextEntry[] | undefined;
  /** `key`: the idempotency key, `<conf_type>#<conf_id>#<plugin>#<version>`. */
  readonly key?: string | undefined;
}

/** `A6.PrepareConf.Resp`. */
export interface PrepareConfResponse {
  readonly confToken: number;
}

/**
 * `A6.HTTPReqCall.Req`. Decoders may implement the fields as lazy getters:
 * headers and args are only decoded when somebody reads them.
 */
export interface HttpReqCallRequest {
  /** `id` (default 0). */
  readonly id: number;
  /** `src_ip`: 4 or 16 raw bytes; `undefined` when absent. */
  readonly srcIp: Uint8Array | undefined;
  /** `method` as its enum value (default 0 = GET). */
  readonly method: number;
  /** `path`; `undefined` when absent. */
  readonly path: string | undefined;
  /** `args`, one entry per value; empty when absent. */
  readonly args: readonly TextEntry[];
  /** `headers`, lower-case names, one entry per value; empty when absent. */
  readonly headers: readonly TextEntry[];
  /**
   * The same headers with each value decoded on first read, when the decoder
   * offers them: a reader that looks at a few headers skips decoding the rest.
   */
  readonly lazyHeaders?: readonly TextEntry[] | undefined;
  /** `conf_token` (default 0). */
  readonly confToken: number;
}

/** `A6.HTTPReqCall.Stop`: answer the client now. */
export interface StopAction {
  /** Discriminant of {@linkcode Action}. */
  readonly type: "stop";
  /** `status`; 0 means 200 to APISIX. */
  readonly status: number;
  /** Response headers: the first entry of a name sets it, later ones append. */
  readonly headers?: readonly TextEntry[] | undefined;
  /** Only sent when non-empty: APISIX ignores an empty body. */
  readonly body?: Uint8Array | undefined;
}

/** `A6.HTTPReqCall.Rewrite`: continue upstream with these changes. */
export interface RewriteAction {
  /** Discriminant of {@linkcode Action}. */
  readonly type: "rewrite";
  /** New upstream path, decoded (APISIX escapes it); never a query string. */
  readonly path?: string | undefined;
  /** Each entry sets a request header; an entry without value deletes it. */
  readonly headers?: readonly TextEntry[] | undefined;
  /** Applied in order: valueless deletes, first value replaces, later values append. */
  readonly args?: readonly TextEntry[] | undefined;
  /** Headers added to the client response. */
  readonly respHeaders?: readonly TextEntry[] | undefined;
  /** Replaces the request body sent upstream; only sent when non-empty. */
  readonly body?: Uint8Array | undefined;
}

/**
 * A Stop made once and returned on many calls (what `stop()` builds, usually in
 * `parseConf`): the runner may reuse its encoded reply, and checks on each use
 * that status, headers and body bytes are still the same.
 */
export interface PreparedStop extends StopAction {
  /** Marks a stop as made for reuse. */
  readonly prepared: true;
}

/** The `Action` union of `A6.HTTPReqCall.Resp`; `undefined` is NONE. */
export type Action = StopAction | RewriteAction;

/** `A6.HTTPReqCall.Resp`. */
export interface HttpReqCallResponse {
  readonly id: number;
  readonly action?: Action | undefined;
}

/** `A6.ExtraInfo.Req`: a question the runner asks APISIX in the middle of a call. */
export type ExtraInfoRequest =
  | { readonly type: "var"; readonly name: string }
  | { readonly type: "reqBody" }
  | { readonly type: "respBody" };

/** `A6.ExtraInfo.Resp`: APISIX's answer; `result` is `undefined` when absent (unknown var, no body). */
export interface ExtraInfoResponse {
  readonly result?: Uint8Array | undefined;
}

/** `A6.HTTPRespCall.Req`: the upstream response, for `ext-plugin-post-resp`. */
export interface HttpRespCallRequest {
  /** `id` (default 0). */
  readonly id: number;
  /** Upstream status (default 0). */
  readonly status: number;
  /** Upstream headers in their original case, one entry per value; empty when absent. */
  readonly headers: readonly TextEntry[];
  /** `conf_token` of the post-resp conf (default 0). */
  readonly confToken: number;
}

/** `A6.HTTPRespCall.Resp`. */
export interface HttpRespCallResponse {
  /** Echo of the call id (APISIX does not check it). */
  readonly id: number;
  /** Non-zero replaces the client status; 0 keeps the upstream one. */
  readonly status?: number | undefined;
  /** When non-empty, APISIX sends exactly these headers (docs/PROTOCOL.md §3.4). */
  readonly headers?: readonly TextEntry[] | undefined;
  /** Non-empty replaces the response body. */
  readonly body?: Uint8Array | undefined;
}

/** `A6.Err.Resp`. */
export interface ErrorResponse {
  readonly code: number;
}
