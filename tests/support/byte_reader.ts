// Test helper: reads a connection's bytes pull-style (exact sizes), as the adapter suite checks them.

import { ChunkQueue } from "../../src/protocol/chunk_queue.ts";
import { UnexpectedEofError } from "../../src/protocol/errors.ts";
import type { ByteSink, Connection } from "../../src/runtime/types.ts";

/**
 * Receives a connection's bytes and serves `readExactly()`. Pushed ranges are
 * kept as views (never copied on the way in), so a test sees it when an adapter
 * writes into a range it already pushed. Past `highWaterMark` unread bytes the
 * connection is paused, as the frame reader does.
 */
export class ByteReader implements ByteSink {
  #conn: Connection;
  #queue = new ChunkQueue();
  #ended = false;
  #error: unknown = undefined;
  #paused = false;
  #highWaterMark: number;
  #waiter:
    | { size: number; resolve(bytes: Uint8Array | null): void; reject(e: unknown): void }
    | undefined;

  /** Starts receiving `conn`'s bytes. */
  constructor(conn: Connection, highWaterMark = 1024 * 1024) {
    this.#conn = conn;
    this.#highWaterMark = highWaterMark;
    conn.receive(this);
  }

  push(bytes: Uint8Array, start: number, end: number): void {
    this.#queue.push(bytes, start, end);
    this.#serve();
    if (!this.#paused && this.#queue.length > this.#highWaterMark + (this.#waiter?.size ?? 0)) {
      this.#paused = true;
      this.#conn.pause();
    }
  }

  end(): void {
    this.#ended = true;
    this.#serve();
  }

  fail(error: unknown): void {
    this.#ended = true;
    this.#error = error;
    this.#serve();
  }

  /**
   * Exactly `size` bytes; `null` at a clean end before the first of them;
   * {@linkcode UnexpectedEofError} at an end after some of them. One read at a time.
   */
  readExactly(size: number): Promise<Uint8Array | null> {
    if (size === 0) return Promise.resolve(new Uint8Array(0));
    return new Promise((resolve, reject) => {
      this.#waiter = { size, resolve, reject };
      this.#serve();
      if (this.#paused && this.#queue.length <= this.#highWaterMark + size) {
        this.#paused = false;
        this.#conn.resume();
      }
    });
  }

  #serve(): void {
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    const buffered = this.#queue.length;
    if (buffered >= waiter.size) {
      this.#waiter = undefined;
      waiter.resolve(this.#queue.take(waiter.size));
      if (this.#paused && this.#queue.length <= this.#highWaterMark) {
        this.#paused = false;
        this.#conn.resume();
      }
    } else if (this.#ended) {
      this.#waiter = undefined;
      if (buffered > 0) waiter.reject(new UnexpectedEofError(waiter.size, buffered));
      else if (this.#error !== undefined) waiter.reject(this.#error);
      else waiter.resolve(null);
    }
  }
}
