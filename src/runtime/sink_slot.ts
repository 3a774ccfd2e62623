// Holds what a connection receives before its consumer attached a sink, then passes everything through.

import type { ByteSink } from "./types.ts";

type _Event = { bytes: Uint8Array; start: number; end: number } | { end: true } | {
  error: unknown;
};

/**
 * The receiving end of an adapter's connection: bytes pushed before
 * {@linkcode SinkSlot.attach} are kept and replayed in order, later ones go
 * straight to the sink. Every adapter pushes through one, so a consumer may
 * attach at any point after accept() without losing bytes.
 *
 * @example
 * ```ts
 * const slot = new SinkSlot();
 * slot.push(chunk, 0, chunk.length); // kept
 * slot.attach(reader);               // the reader gets the chunk now
 * ```
 */
export class SinkSlot implements ByteSink {
  #sink: ByteSink | undefined;
  #early: _Event[] | undefined = [];

  /** Attaches `sink` and replays what arrived before. Once. */
  attach(sink: ByteSink): void {
    if (this.#sink !== undefined) throw new Error("The connection already has a receiver");
    this.#sink = sink;
    const early = this.#early!;
    this.#early = undefined;
    for (const event of early) {
      if ("bytes" in event) sink.push(event.bytes, event.start, event.end);
      else if ("end" in event) sink.end();
      else sink.fail(event.error);
    }
  }

  /** Bytes `start..end` of `bytes` arrived. */
  push(bytes: Uint8Array, start: number, end: number): void {
    const sink = this.#sink;
    if (sink !== undefined) sink.push(bytes, start, end);
    else this.#early!.push({ bytes, start, end });
  }

  /** The peer closed cleanly. */
  end(): void {
    const sink = this.#sink;
    if (sink !== undefined) sink.end();
    else this.#early!.push({ end: true });
  }

  /** The stream broke. */
  fail(error: unknown): void {
    const sink = this.#sink;
    if (sink !== undefined) sink.fail(error);
    else this.#early!.push({ error });
  }
}
