// Fake HttpReqCall/HttpRespCall messages and a recording ExtraInfo channel for plugin tests.

import {
  type ExtraInfoRequest,
  type HttpReqCallRequest,
  type HttpRespCallRequest,
  type Method,
  METHODS,
  type TextEntry,
} from "../protocol/types.ts";
import type { ExtraInfoChannel } from "../plugin/types.ts";
import { type HeaderInit, HeaderMap } from "../plugin/headers.ts";
import { parseIp } from "../plugin/ip.ts";

const ENCODER = new TextEncoder();

/** Query args for a fake request: `null` is a valueless arg (`?flag`). */
export type FakeArgsInit =
  | Record<string, string | null | readonly (string | null)[]>
  | Iterable<readonly [string, string | null]>;

/** What APISIX would know about a fake call: its vars and body, answered through ExtraInfo. */
export interface FakeExtraInfoInit {
  /** APISIX variables; a missing name answers "absent" like an unknown var. */
  readonly vars?: Readonly<Record<string, string>> | undefined;
  /** Request body (request phase) or upstream body (response phase); absent when omitted. */
  readonly body?: string | Uint8Array | undefined;
}

/** A fake request for the request phase. */
export interface FakeRequestInit extends FakeExtraInfoInit {
  /** Call id; default 1. */
  readonly id?: number | undefined;
  /** Client address as text, IPv4 or IPv6; default `"127.0.0.1"`. */
  readonly srcIp?: string | undefined;
  /** Default `"GET"`. */
  readonly method?: Method | undefined;
  /** Default `"/"`. */
  readonly path?: string | undefined;
  /** Header names are lower-cased like APISIX does. */
  readonly headers?: HeaderInit | undefined;
  /** Query args; `null` is a valueless `?flag`. */
  readonly args?: FakeArgsInit | undefined;
}

/** A fake upstream response for the response phase. */
export interface FakeResponseInit extends FakeExtraInfoInit {
  /** Call id; default 1. */
  readonly id?: number | undefined;
  /** Upstream status; default 200. */
  readonly status?: number | undefined;
  /** Upstream headers, kept in their case. */
  readonly headers?: HeaderInit | undefined;
}

/**
 * Builds the decoded HttpReqCall APISIX would send for `init`.
 *
 * @example
 * ```ts
 * import { fakeHttpReqCall } from "./fake.ts";
 * const call = fakeHttpReqCall({ method: "POST", path: "/x", args: { flag: null } });
 * call.args; // [{ name: "flag" }]
 * ```
 */
export function fakeHttpReqCall(init: FakeRequestInit = {}): HttpReqCallRequest {
  const method = METHODS.indexOf(init.method ?? "GET");
  if (method === -1) throw new RangeError(`Unknown method ${init.method}`);
  const headers = HeaderMap.from(init.headers).toTextEntries().map((entry) => ({
    name: entry.name.toLowerCase(),
    value: entry.value,
  }));
  return {
    id: init.id ?? 1,
    srcIp: parseIp(init.srcIp ?? "127.0.0.1"),
    method,
    path: init.path ?? "/",
    args: _argEntries(init.args),
    headers,
    confToken: 1,
  };
}

/**
 * Builds the decoded HttpRespCall APISIX would send for `init`.
 *
 * @example
 * ```ts
 * import { fakeHttpRespCall } from "./fake.ts";
 * fakeHttpRespCall({ status: 404 }).status; // 404
 * ```
 */
export function fakeHttpRespCall(init: FakeResponseInit = {}): HttpRespCallRequest {
  return {
    id: init.id ?? 1,
    status: init.status ?? 200,
    headers: HeaderMap.from(init.headers).toTextEntries(),
    confToken: 1,
  };
}

/**
 * An {@linkcode ExtraInfoChannel} answering from fixed vars and body. It
 * records every question and rejects a question asked while another is still
 * unanswered (APISIX answers strictly one at a time).
 *
 * @example
 * ```ts
 * import { FakeExtraInfoChannel } from "./fake.ts";
 * const channel = new FakeExtraInfoChannel({ vars: { route_id: "1" } });
 * await channel.ask({ type: "var", name: "route_id" }); // Uint8Array of "1"
 * channel.asked; // [{ type: "var", name: "route_id" }]
 * ```
 */
export class FakeExtraInfoChannel implements ExtraInfoChannel {
  #vars: Readonly<Record<string, string>>;
  #body: Uint8Array | undefined;
  #bodyType: "reqBody" | "respBody";
  #busy = false;
  /** Every question asked, in order. */
  readonly asked: ExtraInfoRequest[] = [];

  /** Answers from `init`; `bodyType` says which body question the body answers. */
  constructor(init: FakeExtraInfoInit = {}, bodyType: "reqBody" | "respBody" = "reqBody") {
    this.#vars = init.vars ?? {};
    this.#body = typeof init.body === "string" ? ENCODER.encode(init.body) : init.body;
    this.#bodyType = bodyType;
  }

  /** Answers on a later microtask, like a real round trip. */
  ask(question: ExtraInfoRequest): Promise<Uint8Array | undefined> {
    if (this.#busy) {
      return Promise.reject(new Error("ExtraInfo question asked while another was unanswered"));
    }
    this.#busy = true;
    this.asked.push(question);
    return Promise.resolve().then(() => {
      this.#busy = false;
      if (question.type === "var") {
        const value = Object.hasOwn(this.#vars, question.name)
          ? this.#vars[question.name]
          : undefined;
        return value === undefined ? undefined : ENCODER.encode(value);
      }
      // APISIX answers RespBody asked in the request phase with an absent result.
      return question.type === this.#bodyType ? this.#body : undefined;
    });
  }
}

function _argEntries(init: FakeArgsInit | undefined): TextEntry[] {
  const entries: TextEntry[] = [];
  if (init === undefined) return entries;
  const add = (name: string, value: string | null) =>
    entries.push(value === null ? { name } : { name, value });
  if (Symbol.iterator in init) {
    for (const [name, value] of init as Iterable<readonly [string, string | null]>) {
      add(name, value);
    }
    return entries;
  }
  for (const [name, value] of Object.entries(init)) {
    if (value === null || typeof value === "string") add(name, value);
    else for (const v of value) add(name, v);
  }
  return entries;
}
