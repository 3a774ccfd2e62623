// Serialises the ExtraInfo questions of one call: APISIX answers strictly one at a time.

import type { ExtraInfoRequest } from "../protocol/types.ts";
import { type CallOptions, type ExtraInfoChannel, isCallAborted } from "./chain.ts";

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
      if (isCallAborted(this.#options)) return Promise.reject(this.#options.signal.reason);
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
 * What a call's view (request or response) asks APISIX for: variables by name
 * and the one body of its phase, each asked at most once per call and cached.
 */
export class CallExtraInfo {
  #queue: ExtraInfoQueue;
  #bodyQuestion: ExtraInfoRequest;
  #vars: Map<string, Promise<string | undefined>> | undefined;
  #body: Promise<Uint8Array | undefined> | undefined;

  /** Serves one call; `body` names the ExtraInfo question that fetches the phase's body. */
  constructor(options: CallOptions, body: "reqBody" | "respBody") {
    this.#queue = new ExtraInfoQueue(options);
    this.#bodyQuestion = { type: body };
  }

  /** A variable as text; `undefined` when APISIX answers without a result. */
  var(name: string): Promise<string | undefined> {
    const vars = this.#vars ??= new Map();
    let value = vars.get(name);
    if (value === undefined) {
      value = this.#queue.ask({ type: "var", name }).then(_decodeOptional);
      vars.set(name, value);
    }
    return value;
  }

  /** The body; `undefined` when APISIX answers without a result. */
  body(): Promise<Uint8Array | undefined> {
    return this.#body ??= this.#queue.ask(this.#bodyQuestion);
  }

  /** The body as UTF-8 text; `""` when there is none. */
  async text(): Promise<string> {
    const body = await this.body();
    return body === undefined ? "" : _DECODER.decode(body);
  }

  /** The body parsed as JSON; throws `SyntaxError` when absent or not JSON. */
  async json<T>(): Promise<T> {
    return JSON.parse(await this.text()) as T;
  }
}

function _decodeOptional(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : _DECODER.decode(bytes);
}
