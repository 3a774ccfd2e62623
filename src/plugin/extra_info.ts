// ExtraInfo of one call: questions serialised (APISIX answers one at a time), and the views on them.

import type { ExtraInfoRequest } from "../protocol/types.ts";
// Type-only: chain.ts imports the views built on this module, so a value import would be a cycle.
import type { CallOptions, ExtraInfoChannel } from "./chain.ts";

/**
 * Wraps a call's {@linkcode ExtraInfoChannel} so that questions asked
 * concurrently (e.g. `Promise.all([req.var("a"), req.var("b")])`) go out one
 * after the other, and none goes out once the call's signal has aborted.
 */
export class ExtraInfoQueue {
  #channel: ExtraInfoChannel;
  #options: CallOptions;
  #tail: Promise<unknown> | undefined;

  /** Wraps the `extraInfo` channel of one call, whose lifetime is its signal. */
  constructor(options: CallOptions) {
    this.#channel = options.extraInfo;
    this.#options = options;
  }

  /** Asks `question` after every earlier question of this call was answered. */
  ask(question: ExtraInfoRequest): Promise<Uint8Array | undefined> {
    const run = () => {
      if (this.#options.aborted ?? this.#options.signal.aborted) {
        return Promise.reject(this.#options.signal.reason);
      }
      return this.#channel.ask(question);
    };
    let result: Promise<Uint8Array | undefined>;
    if (this.#tail === undefined) {
      try {
        result = run();
      } catch (error) {
        result = Promise.reject(error);
      }
    } else {
      result = this.#tail.then(run);
    }
    this.#tail = result.then(_ignore, _ignore);
    return result;
  }
}

function _ignore(): void {}

const _DECODER = new TextDecoder();

/**
 * What the request and response views share: the call's abort signal and the
 * ExtraInfo questions of the phase (variables by name and the one body), each
 * asked at most once per call and cached. Each costs one round trip to APISIX.
 */
export class CallView {
  #options: CallOptions;
  #bodyQuestion: ExtraInfoRequest;
  #queue: ExtraInfoQueue | undefined;
  #vars: Map<string, Promise<string | undefined>> | undefined;
  #body: Promise<Uint8Array | undefined> | undefined;

  /** Serves one call; `body` names the ExtraInfo question that fetches the phase's body. */
  constructor(options: CallOptions, body: "reqBody" | "respBody") {
    this.#options = options;
    this.#bodyQuestion = body === "reqBody" ? _REQ_BODY : _RESP_BODY;
  }

  /** Fires at the call deadline, when APISIX closes the connection, or when the call failed. */
  get signal(): AbortSignal {
    return this.#options.signal;
  }

  /**
   * An APISIX variable as text (ExtraInfo Var, once per name): nginx variables
   * and APISIX ones such as `route_id`; `undefined` when unknown or unset.
   */
  var(name: string): Promise<string | undefined> {
    const vars = this.#vars ??= new Map();
    let value = vars.get(name);
    if (value === undefined) {
      value = this.#ask().ask({ type: "var", name }).then(_decodeOptional);
      vars.set(name, value);
    }
    return value;
  }

  /**
   * The body of this phase, asked at most once: the request body for request
   * filters (ExtraInfo ReqBody), the upstream body for response filters
   * (ExtraInfo RespBody); `undefined` when there is none (e.g. a GET).
   */
  body(): Promise<Uint8Array | undefined> {
    return this.#body ??= this.#ask().ask(this.#bodyQuestion);
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

  #ask(): ExtraInfoQueue {
    return this.#queue ??= new ExtraInfoQueue(this.#options);
  }
}

const _REQ_BODY: ExtraInfoRequest = Object.freeze({ type: "reqBody" });
const _RESP_BODY: ExtraInfoRequest = Object.freeze({ type: "respBody" });

function _decodeOptional(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : _DECODER.decode(bytes);
}
