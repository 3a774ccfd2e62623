// The write side every adapter shares: bytes in order, partial and asynchronous writes, backpressure.

import { SocketClosedError } from "./errors.ts";

/** Default bytes queued before `write()` asks its caller to wait (64 KiB). */
export const DEFAULT_WRITE_HIGH_WATER_MARK = 64 * 1024;

/** Chunks of queued writes up to this total are copied into one buffer and sent at once. */
const _COALESCE_LIMIT = 64 * 1024;

/**
 * Hands bytes to the socket: returns how many it took at once (Bun: maybe part
 * of them; the rest waits for {@linkcode WriteQueue.drain}), or a promise of the
 * number taken (Deno's write op; Node's write past its buffer, settled on
 * `drain`). A thrown or rejected error fails the queue.
 */
export type SendBytes = (bytes: Uint8Array) => number | Promise<number>;

/**
 * Bytes on their way to a socket, in order. One send is in flight at a time;
 * what arrives meanwhile waits, and small waiting writes go out together.
 * `write()` tells its caller to wait once more than the high-water mark is
 * queued, so a peer that does not read holds the writer back instead of growing
 * memory.
 *
 * @example
 * ```ts
 * const queue = new WriteQueue((bytes) => socket.write(bytes), 64 * 1024);
 * socket.on("drain", () => queue.drain());
 * await queue.write(frame); // undefined (no wait) under the high-water mark
 * ```
 */
export class WriteQueue {
  #send: SendBytes;
  #highWaterMark: number;
  #chunks: Uint8Array[] = [];
  /** Bytes waiting in `#chunks` plus those of the send in flight. */
  #queued = 0;
  /** An asynchronous send is in flight, or a partial write waits for `drain()`. */
  #blocked = false;
  #closed = false;
  #error: unknown = undefined;
  #waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  /** Callers of flushed() (`handed` false) or handedOver() (`handed` true). */
  #settleWaiters: { handed: boolean; resolve: () => void }[] = [];

  /** Writes through `send`; asks writers to wait past `highWaterMark` queued bytes. */
  constructor(send: SendBytes, highWaterMark: number = DEFAULT_WRITE_HIGH_WATER_MARK) {
    this.#send = send;
    this.#highWaterMark = highWaterMark;
  }

  /** Bytes not yet taken by the socket. */
  get queued(): number {
    return this.#queued;
  }

  /**
   * Queues `bytes` after everything written before and sends what it can.
   * Returns `undefined` while at most the high-water mark is queued, else a
   * promise that resolves once the queue is back under it.
   *
   * @throws {SocketClosedError} after {@linkcode WriteQueue.close}; the socket's
   *   error when sending these bytes failed at once.
   */
  write(bytes: Uint8Array): Promise<void> | undefined {
    if (this.#closed) throw new SocketClosedError(bytes.byteLength);
    if (bytes.byteLength === 0) return undefined;
    this.#queued += bytes.byteLength;
    // Only a send that failed at once throws here: a peer may take the bytes and close in the
    // same turn (the memory runtime's peer answers synchronously), which is no failure of this write.
    if (this.#blocked) {
      this.#chunks.push(bytes);
    } else if (this.#chunks.length === 0) {
      // The common case, a reply to a waiting peer: straight to the socket. Nobody waits on an
      // empty, unblocked queue, so there is nobody to wake either.
      if (this.#sendOne(bytes)) throw this.#error;
    } else {
      // Only from inside a send (a peer that answers synchronously): behind what waits.
      this.#chunks.push(bytes);
      if (this.#flush()) throw this.#error;
    }
    if (this.#queued <= this.#highWaterMark) return undefined;
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Whether the socket took every queued byte (nothing waits, no send in flight). */
  get isFlushed(): boolean {
    return this.#isSettled(false);
  }

  /** Whether no byte waits in the queue (a send may be in flight). */
  get isHandedOver(): boolean {
    return this.#isSettled(true);
  }

  /** Resolves once every queued byte was taken by the socket, or the queue closed. */
  flushed(): Promise<void> {
    return this.#whenSettled(false);
  }

  /**
   * Resolves once no bytes wait in the queue: all were handed to the socket, though
   * a send may still be in flight (Deno's write op, which the runtime finishes in order).
   */
  handedOver(): Promise<void> {
    return this.#whenSettled(true);
  }

  /** The socket can take bytes again (Bun's `drain`): sends what is queued. */
  drain(): void {
    if (this.#closed) return;
    this.#blocked = false;
    this.#flush();
  }

  /**
   * Drops what is queued; waiting writers reject with `error` (a
   * {@linkcode SocketClosedError} by default). Later writes throw. Idempotent.
   */
  close(error: unknown = new SocketClosedError(0)): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error = error;
    this.#chunks = [];
    this.#queued = 0;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(error);
    this.#wakeSettled();
  }

  /** Sends what it can; returns whether a send threw (the queue is then closed with that error). */
  #flush(): boolean {
    const chunks = this.#chunks;
    while (chunks.length > 0 && !this.#blocked && !this.#closed) {
      const bytes = chunks.length === 1 ? chunks.pop()! : this.#coalesced();
      if (this.#sendOne(bytes)) return true;
    }
    this.#wakeWriters();
    return false;
  }

  /**
   * Hands `bytes` (counted in `#queued`, out of `#chunks`) to the socket; what it
   * does not take goes back to the front. Returns whether the send threw.
   */
  #sendOne(bytes: Uint8Array): boolean {
    let sent: number | Promise<number>;
    try {
      sent = this.#send(bytes);
    } catch (error) {
      this.close(error);
      return true;
    }
    if (typeof sent === "number") {
      // A socket that took part of the bytes at once takes more only after `drain()`.
      if (!this.#taken(bytes, sent)) this.#blocked = true;
    } else {
      this.#blocked = true;
      sent.then((n) => {
        if (this.#closed) return;
        // An asynchronous write that took part of the bytes is simply continued.
        this.#blocked = false;
        this.#taken(bytes, n);
        this.#flush();
      }, (error) => this.close(error));
    }
    return false;
  }

  /**
   * Accounts for `n` bytes of `bytes` taken; the rest goes back to the front.
   * Returns whether all of them were taken.
   */
  #taken(bytes: Uint8Array, n: number): boolean {
    const took = Math.max(0, Math.min(n, bytes.byteLength));
    this.#queued -= took;
    if (took === bytes.byteLength) return true;
    this.#chunks.unshift(bytes.subarray(took));
    return false;
  }

  /** Takes the waiting chunks from the front, up to the coalescing limit, as one array. */
  #coalesced(): Uint8Array {
    const chunks = this.#chunks;
    let count = 0;
    let size = 0;
    while (
      count < chunks.length && (count === 0 || size + chunks[count]!.byteLength <= _COALESCE_LIMIT)
    ) {
      size += chunks[count]!.byteLength;
      count++;
    }
    if (count === 1) return chunks.shift()!;
    const bytes = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks.splice(0, count)) {
      bytes.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return bytes;
  }

  #isSettled(handed: boolean): boolean {
    if (this.#closed) return true;
    return handed ? this.#chunks.length === 0 : this.#queued === 0 && !this.#blocked;
  }

  #whenSettled(handed: boolean): Promise<void> {
    if (this.#isSettled(handed)) return Promise.resolve();
    return new Promise((resolve) => this.#settleWaiters.push({ handed, resolve }));
  }

  #wakeSettled(): void {
    const waiters = this.#settleWaiters;
    this.#settleWaiters = [];
    for (const waiter of waiters) {
      if (this.#isSettled(waiter.handed)) waiter.resolve();
      else this.#settleWaiters.push(waiter);
    }
  }

  #wakeWriters(): void {
    if (this.#settleWaiters.length !== 0) this.#wakeSettled();
    if (this.#queued > this.#highWaterMark || this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.resolve();
  }
}
