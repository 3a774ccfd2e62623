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
