// The frame reader: cuts the bytes a socket pushes into frames, served push-style or read one by one.

import { ChunkQueue } from "./chunk_queue.ts";
import { UnexpectedEofError } from "./errors.ts";
import type { Frame } from "./framing.ts";
import { FRAME_HEADER_SIZE } from "./types.ts";

/** Default number of bytes buffered beyond the frame being read before the source is paused (1 MiB). */
export const DEFAULT_READ_HIGH_WATER_MARK = 1024 * 1024;

/** Handles one whole frame pushed to {@linkcode FrameReader.serve}: a reply, `null` to stop, or a promise of either. */
export type FrameHandler = (
  type: number,
  payload: Uint8Array,
) => Uint8Array | null | Promise<Uint8Array | null>;

/**
 * Writes a reply frame for {@linkcode FrameReader.serve}: `undefined` when the
 * next frame may be served at once, a promise when it must wait (the write queue
 * is past its high-water mark). May throw: serving then stops with that error.
 */
export type FrameWriter = (frame: Uint8Array) => Promise<void> | undefined;

/** Options of {@linkcode FrameReader}. */
export interface FrameReaderOptions {
  /**
   * Bytes buffered beyond the frame being read before {@linkcode FrameReaderOptions.onPause}
   * is called. Defaults to {@linkcode DEFAULT_READ_HIGH_WATER_MARK}.
   */
  readonly highWaterMark?: number;
  /** Called once when the buffer grew past the high-water mark: stop reading from the source. */
  readonly onPause?: () => void;
  /** Called once when the buffer drained back under it: read again. */
  readonly onResume?: () => void;
}

/**
 * Cuts the byte stream a socket pushes into frames. Chunks are kept as pushed
 * (a {@linkcode ChunkQueue}): a payload inside one chunk is handed out as a view
 * of it, one spanning chunks is assembled into a fresh array.
 *
 * Two ways to consume frames, one at a time: {@linkcode FrameReader.serve}
 * calls a handler synchronously from inside `push()` for each whole frame (the
 * server's fast path: no promise per frame), and {@linkcode FrameReader.next}
 * resolves with the next frame (an ExtraInfo answer while a handler waits, or a
 * client reading replies).
 *
 * @example
 * ```ts
 * const reader = new FrameReader();
 * reader.push(new Uint8Array([3, 0, 0, 1, 42]), 0, 5);
 * await reader.next(); // { type: 3, payload: Uint8Array [42] }
 * reader.end();
 * await reader.next(); // null
 * ```
 */
export class FrameReader {
  #queue = new ChunkQueue();
  #ended = false;
  #failed = false;
  #error: unknown = undefined;
  #paused = false;
  #highWaterMark: number;
  #onPause: (() => void) | undefined;
  #onResume: (() => void) | undefined;
  /** Size of the frame at the head whose bytes are not all here: it widens the read window. */
  #wanted = 0;
  /** The type of the frame `#takePayload()` took last. */
  #takenType = 0;
  #nextResolve: ((frame: Frame | null) => void) | undefined;
  #nextReject: ((reason: unknown) => void) | undefined;
  #handler: FrameHandler | undefined;
  #writer: FrameWriter | undefined;
  /** A handler's promise or a reply write is pending: frames wait, next() serves. */
  #busy = false;
  #dispatching = false;
  #servedResolve: (() => void) | undefined;
  #servedReject: ((reason: unknown) => void) | undefined;

  /** Creates an empty reader. */
  constructor(options: FrameReaderOptions = {}) {
    this.#highWaterMark = options.highWaterMark ?? DEFAULT_READ_HIGH_WATER_MARK;
    this.#onPause = options.onPause;
    this.#onResume = options.onResume;
  }

  /** Bytes pushed and not handed out yet. */
  get buffered(): number {
    return this.#queue.length;
  }

  /** Whether the source is asked to pause (see {@linkcode FrameReaderOptions.onPause}). */
  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Appends bytes `start..end` of `bytes`, a range the source will never
   * overwrite. Ignored after {@linkcode FrameReader.end} or {@linkcode FrameReader.fail}.
   */
  push(bytes: Uint8Array, start: number, end: number): void {
    if (this.#ended || this.#failed || end <= start) return;
    this.#queue.push(bytes, start, end);
    if (this.#nextResolve !== undefined) {
      const frame = this.#take();
      if (frame !== undefined) {
        const resolve = this.#nextResolve;
        this.#nextResolve = this.#nextReject = undefined;
        this.#updateFlow();
        resolve(frame);
        return;
      }
    } else if (this.#handler !== undefined && !this.#busy) {
      this.#dispatch();
    }
    this.#updateFlow();
  }

  /** Marks a clean end of stream: buffered frames stay readable, then reads resolve `null`. */
  end(): void {
    if (this.#ended || this.#failed) return;
    this.#ended = true;
    this.#settleAtEnd();
  }

  /** Marks a failed stream: buffered frames stay readable, then reads reject with `error`. */
  fail(error: unknown): void {
    if (this.#ended || this.#failed) return;
    this.#failed = true;
    this.#error = error;
    this.#settleAtEnd();
  }

  /**
   * Resolves with the next whole frame; `null` at a clean end between frames.
   * Rejects with {@linkcode UnexpectedEofError} when the stream ends inside a
   * frame, or with the stream's failure. One `next()` at a time, and while
   * {@linkcode FrameReader.serve} runs only while its handler waits.
   */
  next(): Promise<Frame | null> {
    if (this.#nextResolve !== undefined) {
      return Promise.reject(new Error("FrameReader.next() is already waiting for a frame"));
    }
    const frame = this.#take();
    if (frame !== undefined) {
      this.#updateFlow();
      return Promise.resolve(frame);
    }
    if (this.#ended || this.#failed) return this.#endResult();
    return new Promise((resolve, reject) => {
      this.#nextResolve = resolve;
      this.#nextReject = reject;
      // A large frame being read widens the window: a paused source may resume.
      this.#updateFlow();
    });
  }

  /**
   * Serves whole frames push-style: `handler` runs synchronously from inside
   * `push()` for each frame as soon as its last byte is here. A synchronous
   * reply goes straight to `write`. A handler that must wait returns a promise;
   * until it settled and its reply was written, no frame is delivered and pushed
   * bytes serve {@linkcode FrameReader.next}. Resolves once serving stopped (a
   * `null` reply, a clean end between frames); rejects with the handler's or
   * the writer's error, {@linkcode UnexpectedEofError} for an end inside a
   * frame, or the stream's failure. Once per reader.
   */
  serve(handler: FrameHandler, write: FrameWriter): Promise<void> {
    if (this.#handler !== undefined || this.#servedResolve !== undefined) {
      return Promise.reject(new Error("FrameReader.serve() is already serving this stream"));
    }
    return new Promise<void>((resolve, reject) => {
      this.#handler = handler;
      this.#writer = write;
      this.#servedResolve = resolve;
      this.#servedReject = reject;
      if (this.#nextResolve === undefined) this.#dispatch();
    });
  }

  /** Delivers the buffered whole frames, until one must wait or bytes run out. */
  #dispatch(): void {
    if (this.#dispatching) return;
    this.#dispatching = true;
    try {
      while (!this.#busy && this.#handler !== undefined) {
        const payload = this.#takePayload();
        if (payload === undefined) break;
        this.#updateFlow();
        let reply: Uint8Array | null | Promise<Uint8Array | null>;
        try {
          reply = this.#handler(this.#takenType, payload);
        } catch (error) {
          this.#stopServing(error);
          return;
        }
        if (reply instanceof Promise) {
          this.#busy = true;
          reply.then((value) => {
            this.#busy = false;
            if (this.#reply(value)) this.#dispatch();
          }, (error) => {
            this.#busy = false;
            this.#stopServing(error);
          });
          return;
        }
        if (!this.#reply(reply)) return;
      }
      if (this.#handler !== undefined && !this.#busy && (this.#ended || this.#failed)) {
        this.#endResult().then(
          () => this.#stopServing(undefined),
          (error) => this.#stopServing(error),
        );
      }
    } finally {
      this.#dispatching = false;
    }
  }

  /** Writes a reply; returns whether the next frame may be delivered now. */
  #reply(reply: Uint8Array | null): boolean {
    if (this.#handler === undefined) return false;
    if (reply === null) {
      this.#stopServing(undefined);
      return false;
    }
    let pending: Promise<void> | undefined;
    try {
      pending = this.#writer!(reply);
    } catch (error) {
      this.#stopServing(error);
      return false;
    }
    if (pending === undefined) return true;
    this.#busy = true;
    pending.then(() => {
      this.#busy = false;
      this.#dispatch();
    }, (error) => {
      this.#busy = false;
      this.#stopServing(error);
    });
    return false;
  }

  #stopServing(error: unknown): void {
    const resolve = this.#servedResolve;
    const reject = this.#servedReject;
    this.#handler =
      this.#writer =
      this.#servedResolve =
      this.#servedReject =
        undefined;
    this.#wanted = 0;
    if (error === undefined) resolve?.();
    else reject?.(error);
  }

  #settleAtEnd(): void {
    const resolve = this.#nextResolve;
    const reject = this.#nextReject;
    if (resolve !== undefined && reject !== undefined) {
      this.#nextResolve = this.#nextReject = undefined;
      this.#endResult().then(resolve, reject);
    } else if (this.#handler !== undefined && !this.#busy) {
      this.#dispatch();
    }
  }

  /** What a read gets at the end of the stream: `null`, or the error of a cut frame or a failed stream. */
  #endResult(): Promise<null> {
    const got = this.#queue.length;
    if (got > 0) {
      const wanted = got < FRAME_HEADER_SIZE
        ? FRAME_HEADER_SIZE
        : FRAME_HEADER_SIZE + this.#length();
      this.#queue.clear();
      return Promise.reject(new UnexpectedEofError(wanted, got));
    }
    return this.#failed ? Promise.reject(this.#error) : Promise.resolve(null);
  }

  /** Takes the head frame when all of it is here; else records its size and returns `undefined`. */
  #take(): Frame | undefined {
    const payload = this.#takePayload();
    return payload === undefined ? undefined : { type: this.#takenType, payload };
  }

  /**
   * {@linkcode FrameReader.#take} without the frame object (the push path's): the
   * payload, its type left in `#takenType`.
   */
  #takePayload(): Uint8Array | undefined {
    const queue = this.#queue;
    const buffered = queue.length;
    if (buffered < FRAME_HEADER_SIZE) return undefined;
    const header = queue.peekUint32();
    const length = header & 0xffffff;
    if (buffered < FRAME_HEADER_SIZE + length) {
      this.#wanted = FRAME_HEADER_SIZE + length;
      return undefined;
    }
    this.#wanted = 0;
    this.#takenType = header >>> 24;
    queue.skip(FRAME_HEADER_SIZE);
    return length === 0 ? new Uint8Array(0) : queue.take(length);
  }

  /** The payload length in the buffered header (caller checked that 4 bytes are here). */
  #length(): number {
    return this.#queue.peekUint32() & 0xffffff;
  }

  #updateFlow(): void {
    const limit = this.#wanted + this.#highWaterMark;
    const buffered = this.#queue.length;
    if (!this.#paused) {
      if (buffered > limit && !this.#ended && !this.#failed) {
        this.#paused = true;
        this.#onPause?.();
      }
    } else if (buffered <= limit) {
      this.#paused = false;
      this.#onResume?.();
    }
  }
}
