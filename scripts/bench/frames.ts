// Splits a byte stream into frames by counting: the load generator and the ceiling never copy payloads.

/** Called at the end of each frame with its type; `payload` only when capturing. */
export type FrameHandler = (type: number, payload: Uint8Array | undefined) => void;

/**
 * Tracks frame boundaries in a stream of chunks. By default it only counts
 * payload bytes (no copy, no allocation per frame); with `capture` it also
 * assembles each payload, for the one-off checks.
 *
 * @example
 * ```ts
 * const splitter = new FrameSplitter((type) => console.log("frame", type));
 * splitter.push(new Uint8Array([2, 0, 0, 1, 9])); // frame 2
 * ```
 */
export class FrameSplitter {
  #onFrame: FrameHandler;
  #capture: boolean;
  #header = new Uint8Array(4);
  #headerFill = 0;
  /** Payload bytes still to come, -1 while reading a header. */
  #remaining = -1;
  #type = 0;
  #parts: Uint8Array[] = [];

  /** `onFrame` runs synchronously inside {@linkcode FrameSplitter.push}. */
  constructor(onFrame: FrameHandler, capture = false) {
    this.#onFrame = onFrame;
    this.#capture = capture;
  }

  /** Feeds the next chunk of the stream. */
  push(chunk: Uint8Array): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.#remaining < 0) {
        if (this.#headerFill === 0 && n - i >= 4) {
          this.#type = chunk[i]!;
          this.#remaining = (chunk[i + 1]! << 16) | (chunk[i + 2]! << 8) | chunk[i + 3]!;
          i += 4;
        } else {
          this.#header[this.#headerFill++] = chunk[i++]!;
          if (this.#headerFill < 4) continue;
          const h = this.#header;
          this.#headerFill = 0;
          this.#type = h[0]!;
          this.#remaining = (h[1]! << 16) | (h[2]! << 8) | h[3]!;
        }
        if (this.#remaining === 0) this.#end();
        continue;
      }
      const take = Math.min(this.#remaining, n - i);
      if (this.#capture) this.#parts.push(chunk.slice(i, i + take));
      i += take;
      this.#remaining -= take;
      if (this.#remaining === 0) this.#end();
    }
  }

  #end(): void {
    this.#remaining = -1;
    let payload: Uint8Array | undefined;
    if (this.#capture) {
      let size = 0;
      for (const part of this.#parts) size += part.length;
      payload = new Uint8Array(size);
      let offset = 0;
      for (const part of this.#parts) {
        payload.set(part, offset);
        offset += part.length;
      }
      this.#parts = [];
    }
    this.#onFrame(this.#type, payload);
  }
}
