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
  #ending: Promise<void> | undefined;
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

  /**
   * Sends what is queued, then closes (see `Connection.end`). When the queue holds
   * nothing, the adapter's {@linkcode QueuedConnection.finishWriting} and the close
   * run before this returns, so the close follows the last byte at once. Idempotent.
   */
  end(): Promise<void> {
    this.#ending ??= this.#end();
    return this.#ending;
  }

  #end(): Promise<void> {
    if (this.#isClosed) return this.closed;
    const queue = this.#queue;
    if (!queue.isHandedOver) return queue.handedOver().then(() => this.#end());
    const finishing = this.finishWriting();
    if (finishing === undefined) {
      this.close();
      return this.closed;
    }
    return finishing.then(() => {
      this.close();
      return this.closed;
    });
  }

  /**
   * Called by `end()` once every byte was handed to the socket: sends the end of
   * stream right behind them, at once when it can (then returns `undefined`), and
   * resolves once the socket took every byte. The default waits for the queue.
   */
  protected finishWriting(): Promise<void> | undefined {
    return this.#queue.isFlushed ? undefined : this.#queue.flushed();
  }

  /** Whether the socket took every queued byte. */
  protected get isFlushed(): boolean {
    return this.#queue.isFlushed;
  }

  /** Resolves once the socket took every queued byte (or the queue closed). */
  protected flushed(): Promise<void> {
    return this.#queue.flushed();
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
