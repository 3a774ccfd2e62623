// What the request and response views share: the call's signal and its ExtraInfo vars and body, cached.

import type { ExtraInfoRequest } from "../protocol/types.ts";
import type { CallContext, CallView } from "./types.ts";

const _DECODER = new TextDecoder();
const _REQ_BODY: ExtraInfoRequest = Object.freeze({ type: "reqBody" });
const _RESP_BODY: ExtraInfoRequest = Object.freeze({ type: "respBody" });

/**
 * The {@linkcode CallView} part of a request or response view: vars by name and
 * the phase's body, each asked at most once per call through the call's
 * context and cached.
 */
export abstract class CallViewBase implements CallView {
  #call: CallContext;
  #bodyQuestion: ExtraInfoRequest;
  #vars: Map<string, Promise<string | undefined>> | undefined;
  #body: Promise<Uint8Array | undefined> | undefined;

  /** Serves one call; `body` names the ExtraInfo question that fetches the phase's body. */
  constructor(call: CallContext, body: "reqBody" | "respBody") {
    this.#call = call;
    this.#bodyQuestion = body === "reqBody" ? _REQ_BODY : _RESP_BODY;
  }

  /** Fires at the call deadline, when APISIX closes the connection, or when the call failed. */
  get signal(): AbortSignal {
    return this.#call.signal;
  }

  /** The `traceparent` for this filter's outgoing calls: its span's, or the call's own header. */
  get traceparent(): string | undefined {
    return this.#call.traceparent ?? this.headers.get("traceparent");
  }

  /** The headers of this phase: the request's, or the upstream response's. */
  abstract readonly headers: { get(name: string): string | undefined };

  /** An APISIX variable as text (ExtraInfo Var, once per name); `undefined` when unknown or unset. */
  var(name: string): Promise<string | undefined> {
    const vars = this.#vars ??= new Map();
    let value = vars.get(name);
    if (value === undefined) {
      value = this.#call.ask({ type: "var", name }).then(_decodeOptional);
      vars.set(name, value);
    }
    return value;
  }

  /** The body of this phase, asked at most once; `undefined` when there is none. */
  body(): Promise<Uint8Array | undefined> {
    return this.#body ??= this.#call.ask(this.#bodyQuestion);
  }

  /** The body as UTF-8 text; `""` when there is none. */
  async text(): Promise<string> {
    const body = await this.body();
    return body === undefined ? "" : _DECODER.decode(body);
  }

  /** The body parsed as JSON; throws `SyntaxError` when absent or not JSON. */
  async json<T = unknown>(): Promise<T> {
    return JSON.parse(await this.text()) as T;
  }
}

function _decodeOptional(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : _DECODER.decode(bytes);
}
