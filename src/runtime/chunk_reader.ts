// Portable buffered reader: sources push chunks in, the connection serves pull-style readExactly().

import { UnexpectedEofError } from "./types.ts";

/** Default number of bytes buffered beyond the pending read before the source is paused (1 MiB). */
export const DEFAULT_READ_HIGH_WATER_MARK = 1024 * 1024;

/** Options of {@linkcode ChunkReader}. */
export interface ChunkReaderOptions {
  /**
   * Bytes that may be buffered beyond what the pending read needs before
   * {@linkcode ChunkReaderOptions.onPause} is called. Defaults to
   * {@linkcode DEFAULT_READ_HIGH_WATER_MARK}.
   */
  highWaterMark?: number;
  /** Called once when the buffer grew past the high-water mark: stop reading from the source. */
  onPause?: () => void;
  /** Called once when the buffer drained back under the high-water mark: read again. */
  onResume?: () => void;
}

/** A second `readExactly()` was started before the first one settled. */
export class ConcurrentReadError extends Error {
  /** `size` is the size of the rejected read. */
  constructor(size: number) {
    super(`Cannot read ${size} bytes: another readExactly() is still pending on this connection`);
    this.name = "ConcurrentReadError";
  }
}

/**
 * Buffers chunks pushed by a socket source and serves exact-size reads.
 *
 * Chunks are kept as pushed, never copied on the way in: a source must push
 * chunks it will not overwrite later (each adapter documents why its chunks
 * qualify). A read that one chunk can serve returns a subarray of it without
 * copying; a read spanning chunks is assembled into a fresh array.
 *
 * @example
 * ```ts
 * const reader = new ChunkReader();
 * reader.push(new Uint8Array([1, 2, 3]));
 * reader.end();
 * await reader.readExactly(2); // Uint8Array [1, 2]
 * await reader.readExactly(1); // Uint8Array [3]
 * await reader.readExactly(1); // null
 * ```
 */
export class ChunkReader {
  #chunks: Uint8Array[] = [];
  /** Index of the first live chunk in `#chunks`. */
  #head = 0;
  /** Offset of the first unread byte in `#chunks[#head]`. */
  #offset = 0;
  #buffered = 0;
  #ended = false;
  #failed = false;
  #error: unknown = undefined;
  #paused = false;
  #highWaterMark: number;
  #onPause: (() => void) | undefined;
  #onResume: (() => void) | undefined;
  #pendingSize = 0;
  #pendingResolve: ((value: Uint8Array | null) => void) | undefined;
  #pendingReject: ((reason: unknown) => void) | undefined;

  /** Creates an empty reader. */
  constructor(options: ChunkReaderOptions = {}) {
    this.#highWaterMark = options.highWaterMark ?? DEFAULT_READ_HIGH_WATER_MARK;
    this.#onPause = options.onPause;
    this.#onResume = options.onResume;
  }

  /** Bytes pushed and not read yet. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Whether the source is currently asked to pause (see {@linkcode ChunkReaderOptions.onPause}). */
  get paused(): boolean {
    return this.#paused;
  }

  /** Whether {@linkcode ChunkReader.end} or {@linkcode ChunkReader.fail} was called. */
  get done(): boolean {
    return this.#ended || this.#failed;
  }

  /** Appends a chunk the source will never overwrite. Ignored after end/fail. */
  push(chunk: Uint8Array): void {
    if (this.#ended || this.#failed || chunk.byteLength === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
    if (this.#pendingResolve !== undefined) {
      if (this.#buffered < this.#pendingSize) return;
      const resolve = this.#pendingResolve;
      const bytes = this.#take(this.#pendingSize);
      this.#clearPending();
      resolve(bytes);
    }
    this.#updateFlow();
  }

  /** Marks a clean end of stream: buffered bytes stay readable, then reads resolve `null`. */
  end(): void {
    if (this.#ended || this.#failed) return;
    this.#ended = true;
    this.#settleAtEnd();
  }

  /** Marks a failed stream: buffered bytes stay readable, then reads reject with `error`. */
  fail(error: unknown): void {
    if (this.#ended || this.#failed) return;
    this.#failed = true;
    this.#error = error;
    this.#settleAtEnd();
  }

  /**
   * Reads exactly `size` bytes; `null` at a clean end before the first byte,
   * {@linkcode UnexpectedEofError} at an end after some of them. One read at a time.
   */
  readExactly(size: number): Promise<Uint8Array | null> {
    if (this.#pendingResolve !== undefined) {
      return Promise.reject(new ConcurrentReadError(size));
    }
    if (size <= 0) return Promise.resolve(new Uint8Array(0));
    if (this.#buffered >= size) {
      const bytes = this.#take(size);
      this.#updateFlow();
      return Promise.resolve(bytes);
    }
    if (this.#ended || this.#failed) return this.#endResult(size);
    return new Promise((resolve, reject) => {
      this.#pendingSize = size;
      this.#pendingResolve = resolve;
      this.#pendingReject = reject;
      // A large pending read widens the window: a paused source may resume.
      this.#updateFlow();
    });
  }

  #endResult(size: number): Promise<Uint8Array | null> {
    const got = this.#buffered;
    if (got > 0) {
      this.#dropAll();
      return Promise.reject(new UnexpectedEofError(size, got));
    }
    if (this.#failed) return Promise.reject(this.#error);
    return Promise.resolve(null);
  }

  #settleAtEnd(): void {
    const resolve = this.#pendingResolve;
    const reject = this.#pendingReject;
    if (resolve === undefined || reject === undefined) return;
    const size = this.#pendingSize;
    this.#clearPending();
    this.#endResult(size).then(resolve, reject);
  }

  #clearPending(): void {
    this.#pendingSize = 0;
    this.#pendingResolve = undefined;
    this.#pendingReject = undefined;
  }

  #updateFlow(): void {
    const limit = this.#pendingSize + this.#highWaterMark;
    if (!this.#paused) {
      if (this.#buffered > limit && !this.#ended && !this.#failed) {
        this.#paused = true;
        this.#onPause?.();
      }
    } else if (this.#buffered <= limit) {
      this.#paused = false;
      this.#onResume?.();
    }
  }

  #dropAll(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#offset = 0;
    this.#buffered = 0;
  }

  /** Removes `size` bytes from the front; the caller checked `#buffered >= size`. */
  #take(size: number): Uint8Array {
    this.#buffered -= size;
    const chunks = this.#chunks;
    const first = chunks[this.#head];
    const available = first.byteLength - this.#offset;
    if (available >= size) {
      // Fast path: one chunk holds the whole read, hand out a view.
      const start = this.#offset;
      if (available === size) {
        this.#shift();
        return start === 0 ? first : first.subarray(start);
      }
      this.#offset = start + size;
      return first.subarray(start, start + size);
    }
    const out = new Uint8Array(size);
    let filled = 0;
    while (filled < size) {
      // Re-read the field: #shift() may have compacted the array.
      const chunk = this.#chunks[this.#head];
      const start = this.#offset;
      const n = Math.min(chunk.byteLength - start, size - filled);
      out.set(
        n === chunk.byteLength && start === 0 ? chunk : chunk.subarray(start, start + n),
        filled,
      );
      filled += n;
      if (start + n === chunk.byteLength) {
        this.#shift();
      } else {
        this.#offset = start + n;
      }
    }
    return out;
  }

  #shift(): void {
    const chunks = this.#chunks;
    chunks[this.#head] = EMPTY;
    this.#head++;
    this.#offset = 0;
    if (this.#head === chunks.length) {
      chunks.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= chunks.length) {
      this.#chunks = chunks.slice(this.#head);
      this.#head = 0;
    }
  }
}

const EMPTY = new Uint8Array(0);
