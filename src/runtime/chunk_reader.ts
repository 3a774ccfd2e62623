// Portable buffered reader: sources push chunks in, the connection serves pull-style readExactly().

import { type FrameHandler, type FrameRead, UnexpectedEofError } from "./types.ts";

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
 * What a frame handler gives back (see {@linkcode ChunkReader.serveFrames}): the
 * reply frame to write, or `null` to stop serving.
 */
export type FrameReply = Uint8Array | null;

/**
 * Writes a reply frame for {@linkcode ChunkReader.serveFrames}: `undefined` when
 * the next frame may be served at once, a promise when it must wait (the write is
 * still in flight, or the write queue is past its high-water mark).
 */
export type FrameWriter = (frame: Uint8Array) => Promise<void> | undefined;

/** Size of the frame header: 1 type byte + 3 length bytes, big-endian (the ext-plugin framing). */
const FRAME_HEADER_SIZE = 4;

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
  /** Buffered chunks: bytes `#starts[i]..#ends[i]` of `#chunks[i]`. */
  #chunks: Uint8Array[] = [];
  #starts: number[] = [];
  #ends: number[] = [];
  /** Index of the first live chunk in `#chunks`. */
  #head = 0;
  /** One past the last live chunk; the arrays are reused, never shrunk, when the buffer empties. */
  #tail = 0;
  /** Position of the first unread byte in `#chunks[#head]`. */
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
  /** The pending read is a {@linkcode ChunkReader.readFrame}: it resolves through `#pendingFrame`. */
  #pendingFrame: ((value: FrameRead | null) => void) | undefined;
  #pendingResolve: ((value: Uint8Array | null) => void) | undefined;
  #pendingReject: ((reason: unknown) => void) | undefined;
  #frameHandler: FrameHandler | undefined;
  #frameWriter: FrameWriter | undefined;
  /** A handler's promise or a reply write is pending: frames wait, readExactly() serves. */
  #frameBusy = false;
  #dispatching = false;
  /** Size of the frame whose header is here but not all its payload: widens the read window. */
  #frameWanted = 0;
  #framesResolve: (() => void) | undefined;
  #framesReject: ((reason: unknown) => void) | undefined;

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
    this.pushRange(chunk, 0, chunk.byteLength);
  }

  /**
   * Appends bytes `start..end` of `bytes`, a range the source will never
   * overwrite; saves making a view of it (costly on JavaScriptCore).
   */
  pushRange(bytes: Uint8Array, start: number, end: number): void {
    if (this.#ended || this.#failed || end <= start) return;
    const tail = this.#tail;
    if (this.#head === tail) this.#offset = start;
    this.#chunks[tail] = bytes;
    this.#starts[tail] = start;
    this.#ends[tail] = end;
    this.#tail = tail + 1;
    this.#buffered += end - start;
    if (this.#pendingResolve !== undefined) {
      if (this.#pendingFrame !== undefined) {
        const frame = this.#takeFrame();
        if (frame === undefined) {
          this.#updateFlow();
          return;
        }
        const resolveFrame = this.#pendingFrame;
        this.#clearPending();
        this.#updateFlow();
        resolveFrame(frame);
        return;
      }
      if (this.#buffered < this.#pendingSize) return;
      const resolve = this.#pendingResolve;
      const bytes = this.#take(this.#pendingSize);
      this.#clearPending();
      resolve(bytes);
    } else if (this.#frameHandler !== undefined && !this.#frameBusy) {
      this.#dispatch();
    }
    this.#updateFlow();
  }

  /** Marks a clean end of stream: buffered bytes stay readable, then reads resolve `null`. */
  end(): void {
    if (this.#ended || this.#failed) return;
    this.#ended = true;
    this.#settleAtEnd();
    if (this.#frameHandler !== undefined && !this.#frameBusy) this.#dispatch();
  }

  /** Marks a failed stream: buffered bytes stay readable, then reads reject with `error`. */
  fail(error: unknown): void {
    if (this.#ended || this.#failed) return;
    this.#failed = true;
    this.#error = error;
    this.#settleAtEnd();
    if (this.#frameHandler !== undefined && !this.#frameBusy) this.#dispatch();
  }

  /**
   * Serves whole frames push-style (1 type byte, 3 length bytes big-endian, then
   * the payload): `handler` runs synchronously, from inside `push()`, for each
   * frame as soon as its last byte is here, so a frame costs no promise. A
   * synchronous reply goes straight to `write`. A handler that must wait
   * returns a promise; until it settled and its reply was written, no frame is
   * delivered and pushed bytes serve {@linkcode ChunkReader.readExactly} (the
   * only time to call it while serving). Resolves once serving stopped: a
   * `null` reply, or a clean end at a frame boundary; rejects with the
   * handler's or the writer's error, {@linkcode UnexpectedEofError} for an end
   * inside a frame, or the stream's failure.
   */
  serveFrames(handler: FrameHandler, write: FrameWriter): Promise<void> {
    if (this.#frameHandler !== undefined) {
      return Promise.reject(new Error("serveFrames() is already serving this stream"));
    }
    return new Promise<void>((resolve, reject) => {
      this.#frameHandler = handler;
      this.#frameWriter = write;
      this.#framesResolve = resolve;
      this.#framesReject = reject;
      if (this.#pendingResolve === undefined) this.#dispatch();
    });
  }

  /** Delivers the buffered whole frames, until one needs to wait or bytes run out. */
  #dispatch(): void {
    if (this.#dispatching) return;
    this.#dispatching = true;
    try {
      while (!this.#frameBusy && this.#frameHandler !== undefined) {
        if (this.#buffered < FRAME_HEADER_SIZE) break;
        const length = (this.#byteAt(1) << 16) | (this.#byteAt(2) << 8) | this.#byteAt(3);
        if (this.#buffered < FRAME_HEADER_SIZE + length) {
          // Like a pending readExactly(): a large frame must not pause its own source.
          this.#frameWanted = FRAME_HEADER_SIZE + length;
          this.#updateFlow();
          break;
        }
        this.#frameWanted = 0;
        const type = this.#byteAt(0);
        this.#skip(FRAME_HEADER_SIZE);
        const payload = length === 0 ? new Uint8Array(0) : this.#take(length);
        this.#updateFlow();
        let reply: FrameReply | Promise<FrameReply>;
        try {
          reply = this.#frameHandler(type, payload);
        } catch (error) {
          this.#stopServing(error);
          return;
        }
        if (reply instanceof Promise) {
          this.#frameBusy = true;
          reply.then((value) => {
            this.#frameBusy = false;
            if (this.#reply(value)) this.#dispatch();
          }, (error) => {
            this.#frameBusy = false;
            this.#stopServing(error);
          });
          return;
        }
        if (!this.#reply(reply)) return;
      }
      if (this.#frameHandler !== undefined && !this.#frameBusy && (this.#ended || this.#failed)) {
        this.#stopAtEnd();
      }
    } finally {
      this.#dispatching = false;
    }
  }

  /** Writes a reply; returns whether the next frame may be delivered now. */
  #reply(reply: FrameReply): boolean {
    if (this.#frameHandler === undefined) return false;
    if (reply === null) {
      this.#stopServing(undefined);
      return false;
    }
    let pending: Promise<void> | undefined;
    try {
      pending = this.#frameWriter!(reply);
    } catch (error) {
      this.#stopServing(error);
      return false;
    }
    if (pending === undefined) return true;
    this.#frameBusy = true;
    pending.then(() => {
      this.#frameBusy = false;
      this.#dispatch();
    }, (error) => {
      this.#frameBusy = false;
      this.#stopServing(error);
    });
    return false;
  }

  #stopAtEnd(): void {
    const got = this.#buffered;
    if (got > 0) {
      const wanted = got < FRAME_HEADER_SIZE ? FRAME_HEADER_SIZE : FRAME_HEADER_SIZE +
        ((this.#byteAt(1) << 16) | (this.#byteAt(2) << 8) | this.#byteAt(3));
      this.#dropAll();
      this.#stopServing(new UnexpectedEofError(wanted, got));
    } else {
      this.#stopServing(this.#failed ? this.#error : undefined);
    }
  }

  #stopServing(error: unknown): void {
    const resolve = this.#framesResolve;
    const reject = this.#framesReject;
    this.#frameHandler = undefined;
    this.#frameWriter = undefined;
    this.#frameWanted = 0;
    this.#framesResolve = undefined;
    this.#framesReject = undefined;
    if (error === undefined) resolve?.();
    else reject?.(error);
  }

  /** The buffered byte at `index` (caller checked `index < #buffered`). */
  #byteAt(index: number): number {
    let i = this.#head;
    let at = this.#offset + index;
    while (at >= this.#ends[i]!) {
      at -= this.#ends[i]!;
      i++;
      at += this.#starts[i]!;
    }
    return this.#chunks[i]![at]!;
  }

  /** Drops `size` buffered bytes without handing them out (caller checked `#buffered >= size`). */
  #skip(size: number): void {
    this.#buffered -= size;
    while (size > 0) {
      const available = this.#ends[this.#head]! - this.#offset;
      if (available > size) {
        this.#offset += size;
        return;
      }
      size -= available;
      this.#shift();
    }
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

  /**
   * Reads one whole frame (1 type byte, 3 length bytes big-endian, the payload)
   * in one go: what `readExactly(4)` then `readExactly(length)` give, with one
   * promise instead of two. `null` at a clean end before the header; a frame
   * with a `null` payload at a clean end right after it; {@linkcode UnexpectedEofError}
   * for an end inside the header (counting header bytes) or the payload
   * (counting payload bytes). One read at a time.
   */
  readFrame(): Promise<FrameRead | null> {
    if (this.#pendingResolve !== undefined) {
      return Promise.reject(new ConcurrentReadError(FRAME_HEADER_SIZE));
    }
    const frame = this.#takeFrame();
    if (frame !== undefined) {
      this.#updateFlow();
      return Promise.resolve(frame);
    }
    if (this.#ended || this.#failed) {
      this.#pendingSize = 0;
      return this.#frameEndResult();
    }
    return new Promise((resolve, reject) => {
      this.#pendingFrame = resolve;
      this.#pendingResolve = _NO_BYTES;
      this.#pendingReject = reject;
      this.#updateFlow();
    });
  }

  /**
   * Takes the first frame when all of it is buffered; otherwise sets
   * `#pendingSize` to the bytes it needs (for the read window) and returns `undefined`.
   */
  #takeFrame(): FrameRead | undefined {
    const buffered = this.#buffered;
    if (buffered < FRAME_HEADER_SIZE) {
      this.#pendingSize = FRAME_HEADER_SIZE;
      return undefined;
    }
    const length = (this.#byteAt(1) << 16) | (this.#byteAt(2) << 8) | this.#byteAt(3);
    if (buffered < FRAME_HEADER_SIZE + length) {
      this.#pendingSize = FRAME_HEADER_SIZE + length;
      return undefined;
    }
    const type = this.#byteAt(0);
    this.#skip(FRAME_HEADER_SIZE);
    return { type, payload: length === 0 ? new Uint8Array(0) : this.#take(length) };
  }

  /** The result of a frame read at the end of the stream (the frame is not all here). */
  #frameEndResult(): Promise<FrameRead | null> {
    if (this.#buffered < FRAME_HEADER_SIZE) {
      // Resolves only with null (nothing buffered): a partial header rejects.
      return this.#endResult(FRAME_HEADER_SIZE).then(() => null);
    }
    const length = (this.#byteAt(1) << 16) | (this.#byteAt(2) << 8) | this.#byteAt(3);
    const type = this.#byteAt(0);
    this.#skip(FRAME_HEADER_SIZE);
    return this.#endResult(length).then((payload) => ({ type, payload }));
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
    const resolveFrame = this.#pendingFrame;
    const size = this.#pendingSize;
    this.#clearPending();
    if (resolveFrame !== undefined) {
      this.#frameEndResult().then(resolveFrame, reject);
      return;
    }
    this.#endResult(size).then(resolve, reject);
  }

  #clearPending(): void {
    this.#pendingSize = 0;
    this.#pendingFrame = undefined;
    this.#pendingResolve = undefined;
    this.#pendingReject = undefined;
  }

  #updateFlow(): void {
    const limit = Math.max(this.#pendingSize, this.#frameWanted) + this.#highWaterMark;
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
    this.#starts = [];
    this.#ends = [];
    this.#head = 0;
    this.#tail = 0;
    this.#offset = 0;
    this.#buffered = 0;
  }

  /** Removes `size` bytes from the front; the caller checked `#buffered >= size`. */
  #take(size: number): Uint8Array {
    this.#buffered -= size;
    const head = this.#head;
    const first = this.#chunks[head]!;
    const start = this.#offset;
    const end = this.#ends[head]!;
    if (end - start >= size) {
      // Fast path: one chunk holds the whole read, hand out a view.
      if (end - start === size) {
        this.#shift();
        return start === 0 && end === first.byteLength ? first : first.subarray(start, end);
      }
      this.#offset = start + size;
      return first.subarray(start, start + size);
    }
    const out = new Uint8Array(size);
    let filled = 0;
    while (filled < size) {
      // Re-read the fields: #shift() may have compacted the arrays.
      const chunk = this.#chunks[this.#head]!;
      const from = this.#offset;
      const to = this.#ends[this.#head]!;
      const n = Math.min(to - from, size - filled);
      out.set(
        from === 0 && n === chunk.byteLength ? chunk : chunk.subarray(from, from + n),
        filled,
      );
      filled += n;
      if (from + n === to) {
        this.#shift();
      } else {
        this.#offset = from + n;
      }
    }
    return out;
  }

  #shift(): void {
    const chunks = this.#chunks;
    chunks[this.#head] = EMPTY;
    const head = this.#head + 1;
    const tail = this.#tail;
    if (head === tail) {
      // Empty again: start over at index 0, keeping the arrays unless a burst made them big.
      if (tail > 1024) {
        this.#chunks = [];
        this.#starts = [];
        this.#ends = [];
      }
      this.#head = 0;
      this.#tail = 0;
      this.#offset = 0;
      return;
    }
    this.#head = head;
    this.#offset = this.#starts[head]!;
    if (head >= 1024 && head * 2 >= tail) {
      this.#chunks = chunks.slice(head, tail);
      this.#starts = this.#starts.slice(head, tail);
      this.#ends = this.#ends.slice(head, tail);
      this.#head = 0;
      this.#tail = tail - head;
    }
  }
}

const EMPTY = new Uint8Array(0);

/** Stands in for `#pendingResolve` while a frame read is pending (that one resolves a FrameRead). */
function _NO_BYTES(): void {}
