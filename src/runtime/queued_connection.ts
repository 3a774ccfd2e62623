// What every adapter's connection shares: received bytes through a SinkSlot, written bytes through a WriteQueue.

import { SocketClosedError } from "./errors.ts";
import { SinkSlot } from "./sink_slot.ts";
import type { ByteSink, Connection } from "./types.ts";
import { type SendBytes, WriteQueue } from "./write_queue.ts";

/**
 * The common part of the adapters' connections. An adapter pushes what its
 * socket reads into {@linkcode QueuedConnection.slot}, hands its socket's write
 * to the constructor, and implements pause, resume and close; `shutdown()`
 * ends both directions once, whoever closed.
 */
export abstract class QueuedConnection implements Connection {
  /** Resolves once the connection is closed, by either side. */
  readonly closed: Promise<void>;
  /** Where the adapter pushes received bytes. */
  protected readonly slot: SinkSlot = new SinkSlot();
  #queue: WriteQueue;
  #isClosed = false;
  #resolveClosed!: () => void;

  /** Writes go through `send`; writers wait past `highWaterMark` queued bytes. */
  constructor(send: SendBytes, highWaterMark?: number) {
    this.#queue = new WriteQueue(send, highWaterMark);
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  /** Whether the connection is closed. */
  protected get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Delivers every byte received from now on to `sink`, in order. */
  receive(sink: ByteSink): void {
    this.slot.attach(sink);
  }

  /** Queues `bytes` for the socket (see `Connection.write`). */
  write(bytes: Uint8Array): Promise<void> | undefined {
    return this.#queue.write(bytes);
  }

  /** The socket can take bytes again. */
  protected drained(): void {
    this.#queue.drain();
  }

  /**
   * Ends both directions: the sink gets `end()`, queued writes are dropped and
   * their writers rejected, `closed` resolves. Returns false when already done.
   */
  protected shutdown(): boolean {
    if (this.#isClosed) return false;
    this.#isClosed = true;
    this.slot.end();
    this.#queue.close(new SocketClosedError(0));
    this.#resolveClosed();
    return true;
  }

  /** Stops taking bytes from the socket. */
  abstract pause(): void;
  /** Takes bytes again. */
  abstract resume(): void;
  /** Closes both directions. Idempotent. */
  abstract close(): void;
}
