// SocketRuntime over Deno's own APIs: Deno.listen/connect on unix paths, Deno.lstat, signals.

import { AcceptQueue } from "./accept_queue.ts";
import { ChunkReader } from "./chunk_reader.ts";
import { listenStaged, type StagingFileOps } from "./socket_file.ts";
import {
  type Connection,
  ConnectionClosedError,
  type FrameHandler,
  type FrameRead,
  type Listener,
  type ListenOptions,
  type PathInfo,
  type RuntimeOptions,
  type ShutdownSignal,
  type SocketRuntime,
} from "./types.ts";

/** Size of the slabs socket reads land in; each read takes a fresh, never reused part. */
const SLAB_SIZE = 64 * 1024;
/** A slab with less room than this left is retired (reads would get too small). */
const MIN_READ_ROOM = 8 * 1024;
/** Chunks of one write up to this total size are copied into one buffer and written at once. */
const COALESCE_LIMIT = 64 * 1024;

/**
 * A connection over a `Deno.Conn`. A pump reads into the free tail of a 64 KiB
 * slab and pushes that exact part (never written again) into the reader, so
 * reads need no copy; the pump waits while the reader is past its high-water
 * mark. Writes go out in order, looping on partial writes, so `write()`
 * resolves only once the OS took every byte.
 */
class DenoConnection implements Connection {
  readonly closed: Promise<void>;
  #conn: Deno.Conn;
  #reader: ChunkReader;
  #isClosed = false;
  #resolveClosed!: () => void;
  #resumePump: (() => void) | undefined;
  #pendingWrites = 0;
  #tail: Promise<void> = Promise.resolve();

  constructor(conn: Deno.Conn, options: RuntimeOptions) {
    this.#conn = conn;
    this.#reader = new ChunkReader({
      highWaterMark: options.readHighWaterMark,
      onResume: () => {
        const resume = this.#resumePump;
        this.#resumePump = undefined;
        resume?.();
      },
    });
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#pump();
  }

  async #pump(): Promise<void> {
    const conn = this.#conn;
    const reader = this.#reader;
    let slab = new Uint8Array(SLAB_SIZE);
    let used = 0;
    try {
      while (!this.#isClosed) {
        if (reader.paused) {
          await new Promise<void>((resolve) => {
            this.#resumePump = resolve;
          });
          continue;
        }
        if (SLAB_SIZE - used < MIN_READ_ROOM) {
          slab = new Uint8Array(SLAB_SIZE);
          used = 0;
        }
        const n = await conn.read(slab.subarray(used));
        if (n === null) break;
        reader.pushRange(slab, used, used + n);
        used += n;
      }
      reader.end();
    } catch (error) {
      // A local close() interrupts the pending read: that is a clean end, not a failure.
      if (this.#isClosed) reader.end();
      else reader.fail(error);
    }
    this.close();
  }

  readExactly(size: number): Promise<Uint8Array | null> {
    return this.#reader.readExactly(size);
  }

  readFrame(): Promise<FrameRead | null> {
    return this.#reader.readFrame();
  }

  serveFrames(handler: FrameHandler): Promise<void> {
    // Deno writes are async ops: the next frame waits for the reply's write (the peer
    // sends the next call only after reading the reply anyway).
    return this.#reader.serveFrames(handler, (frame) => this.write([frame]));
  }

  write(chunks: readonly Uint8Array[]): Promise<void> {
    if (this.#isClosed) {
      let size = 0;
      for (const chunk of chunks) size += chunk.byteLength;
      return Promise.reject(new ConnectionClosedError(size));
    }
    this.#pendingWrites++;
    const done = this.#pendingWrites === 1
      ? this.#writeAll(chunks)
      : this.#tail.then(() => this.#writeAll(chunks), () => this.#writeAll(chunks));
    this.#tail = done;
    return done;
  }

  #writeAll(chunks: readonly Uint8Array[]): Promise<void> {
    let bytes: Uint8Array;
    if (chunks.length === 1) {
      bytes = chunks[0];
    } else {
      let size = 0;
      for (const chunk of chunks) size += chunk.byteLength;
      if (size > COALESCE_LIMIT) return this.#writeEach(chunks);
      // One write op beats several for a small header + payload; the copy is cheap.
      bytes = new Uint8Array(size);
      let offset = 0;
      for (const chunk of chunks) {
        bytes.set(chunk, offset);
        offset += chunk.byteLength;
      }
    }
    // Plain promise chaining, no async frames: this is the per-frame hot path.
    return this.#conn.write(bytes).then(
      (n) => {
        if (n === bytes.byteLength) {
          this.#pendingWrites--;
          return;
        }
        return this.#finish(this.#writeRest(bytes, n));
      },
      (error) => this.#finish(Promise.reject(error)),
    );
  }

  async #writeEach(chunks: readonly Uint8Array[]): Promise<void> {
    const each = async () => {
      for (const chunk of chunks) await this.#writeRest(chunk, 0);
    };
    await this.#finish(each());
  }

  async #finish(writing: Promise<void>): Promise<void> {
    try {
      await writing;
    } catch (error) {
      if (this.#isClosed) throw new ConnectionClosedError(0);
      throw error;
    } finally {
      this.#pendingWrites--;
    }
  }

  async #writeRest(chunk: Uint8Array, written: number): Promise<void> {
    while (written < chunk.byteLength) {
      written += await this.#conn.write(chunk.subarray(written));
    }
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#reader.end();
    const resume = this.#resumePump;
    this.#resumePump = undefined;
    resume?.();
    try {
      this.#conn.close();
    } catch {
      // Already closed by the runtime: nothing left to release.
    }
    this.#resolveClosed();
  }
}

class DenoListener implements Listener {
  #listener: Deno.Listener;
  #queue = new AcceptQueue();

  constructor(listener: Deno.Listener, options: RuntimeOptions) {
    this.#listener = listener;
    this.#acceptLoop(options);
  }

  async #acceptLoop(options: RuntimeOptions): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.#queue.push(new DenoConnection(conn, options));
      }
    } catch {
      // close() makes the pending accept fail: the iteration just ends.
    }
    this.#queue.close();
  }

  accept(): AsyncIterable<Connection> {
    return this.#queue;
  }

  close(): Promise<void> {
    if (this.#queue.closed) return Promise.resolve();
    this.#queue.close();
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    return Promise.resolve();
  }
}

/** Deno's file operations of the staged listen. */
const _STAGING_OPS: StagingFileOps = {
  mkdir: (path, mode) => Deno.mkdir(path, { mode }),
  chmod: (path, mode) => Deno.chmod(path, mode),
  link: (existing, target) => Deno.link(existing, target),
  unlink: (path) => Deno.remove(path).catch(_ignoreNotFound),
  rmdir: (path) => Deno.remove(path).catch(_ignoreNotFound),
};

function _ignoreNotFound(error: unknown): void {
  if (!(error instanceof Deno.errors.NotFound)) throw error;
}

/**
 * Creates the runtime built on Deno's own APIs. The socket is created through
 * `listenStaged()` (bound and chmod'ed in a private directory, then linked
 * into place), so the mode holds under any umask and Deno's unlink of the bind
 * path on close never removes the socket file at the listen path.
 *
 * @example
 * ```ts
 * const runtime = createDenoRuntime();
 * const listener = await runtime.listenUnix("/tmp/runner.sock", { mode: 0o766 });
 * ```
 */
export function createDenoRuntime(options: RuntimeOptions = {}): SocketRuntime {
  return {
    name: "deno",
    async listenUnix(path: string, listenOptions: ListenOptions): Promise<Listener> {
      const listener = await listenStaged(path, {
        mode: listenOptions.mode,
        ops: _STAGING_OPS,
        bind: (bindPath) => Deno.listen({ transport: "unix", path: bindPath }),
        unbind: (bound) => bound.close(),
      });
      return new DenoListener(listener, options);
    },
    async connectUnix(path: string): Promise<Connection> {
      const conn = await Deno.connect({ transport: "unix", path });
      return new DenoConnection(conn, options);
    },
    async lstat(path: string): Promise<PathInfo | undefined> {
      try {
        const info = await Deno.lstat(path);
        return {
          isSocket: info.isSocket === true,
          isFile: info.isFile,
          isDirectory: info.isDirectory,
          isSymlink: info.isSymlink,
          mode: (info.mode ?? 0) & 0o7777,
          dev: info.dev ?? 0,
          ino: info.ino ?? 0,
        };
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return undefined;
        throw error;
      }
    },
    async removeFile(path: string): Promise<void> {
      try {
        await Deno.remove(path);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    },
    onSignal(signal: ShutdownSignal, handler: () => void): () => void {
      const listener = () => handler();
      Deno.addSignalListener(signal, listener);
      return () => Deno.removeSignalListener(signal, listener);
    },
    env(name: string): string | undefined {
      return Deno.env.get(name);
    },
    exit(code: number): never {
      Deno.exit(code);
    },
  };
}
