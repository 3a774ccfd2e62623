// SocketRuntime over node:net, node:fs and node:process; runs on Node 20, Deno and Bun.

import { chmod, link, lstat, mkdir, rmdir, unlink } from "node:fs/promises";
import net from "node:net";
import process from "node:process";
import { AcceptQueue, queueListener } from "./accept_queue.ts";
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

/**
 * A connection over a `net.Socket`. `'data'` chunks are fresh Buffers that
 * Node never reuses, so they go into the reader uncopied; the reader pauses
 * the socket past its high-water mark. `write()` hands the chunks over by
 * reference: callers must not mutate them afterwards.
 */
class NodeConnection implements Connection {
  readonly closed: Promise<void>;
  #socket: net.Socket;
  #reader: ChunkReader;
  #isClosed = false;
  #drainWaiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];

  constructor(socket: net.Socket, options: RuntimeOptions) {
    this.#socket = socket;
    this.#reader = new ChunkReader({
      highWaterMark: options.readHighWaterMark,
      onPause: () => socket.pause(),
      onResume: () => socket.resume(),
    });
    const reader = this.#reader;
    // A plain Uint8Array view: Buffer's slice() shares memory, Uint8Array's copies.
    socket.on("data", (chunk: Uint8Array) => {
      reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    });
    socket.on("end", () => reader.end());
    socket.on("error", (error: Error) => reader.fail(error));
    socket.on("drain", () => this.#drained());
    this.closed = new Promise((resolve) => {
      socket.once("close", () => {
        this.#isClosed = true;
        reader.end();
        this.#failWriters();
        resolve();
      });
    });
  }

  readExactly(size: number): Promise<Uint8Array | null> {
    return this.#reader.readExactly(size);
  }

  readFrame(): Promise<FrameRead | null> {
    return this.#reader.readFrame();
  }

  serveFrames(handler: FrameHandler): Promise<void> {
    return this.#reader.serveFrames(handler, (frame) => {
      const socket = this.#socket;
      if (this.#isClosed || socket.destroyed || !socket.writable) {
        throw new ConnectionClosedError(frame.byteLength);
      }
      if (socket.write(frame)) return undefined;
      return new Promise((resolve, reject) => {
        this.#drainWaiters.push({ resolve, reject });
      });
    });
  }

  write(chunks: readonly Uint8Array[]): Promise<void> {
    const socket = this.#socket;
    if (this.#isClosed || socket.destroyed || !socket.writable) {
      return Promise.reject(new ConnectionClosedError(_size(chunks)));
    }
    let ok = true;
    if (chunks.length === 1) {
      ok = socket.write(chunks[0]);
    } else {
      socket.cork();
      for (const chunk of chunks) ok = socket.write(chunk);
      socket.uncork();
    }
    if (ok) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#drainWaiters.push({ resolve, reject });
    });
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#reader.end();
    this.#socket.destroy();
  }

  #drained(): void {
    const waiters = this.#drainWaiters;
    if (waiters.length === 0) return;
    this.#drainWaiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  #failWriters(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const waiter of waiters) waiter.reject(new ConnectionClosedError(0));
  }
}

function _size(chunks: readonly Uint8Array[]): number {
  let size = 0;
  for (const chunk of chunks) size += chunk.byteLength;
  return size;
}

function _isNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "ENOENT";
}

function _ignoreNotFound(error: unknown): void {
  if (!_isNotFound(error)) throw error;
}

/** The node:fs file operations of the staged listen (shared with the Bun adapter). */
export const NODE_STAGING_OPS: StagingFileOps = {
  mkdir: (path, mode) => mkdir(path, { mode }).then(() => {}),
  chmod: (path, mode) => chmod(path, mode),
  link: (existing, target) => link(existing, target),
  unlink: (path) => unlink(path).catch(_ignoreNotFound),
  rmdir: (path) => rmdir(path).catch(_ignoreNotFound),
};

/**
 * Creates the node:net runtime. The socket is created through
 * `listenStaged()` (bound and chmod'ed in a private directory, then linked into
 * place), so the mode holds under any umask and libuv's unlink of the bind
 * path on close never removes the socket file at the listen path.
 *
 * @example
 * ```ts
 * const runtime = createNodeRuntime();
 * const listener = await runtime.listenUnix("/tmp/runner.sock", { mode: 0o766 });
 * ```
 */
export function createNodeRuntime(options: RuntimeOptions = {}): SocketRuntime {
  const writeHighWaterMark = options.writeHighWaterMark ?? 64 * 1024;
  return {
    name: "node",
    async listenUnix(path: string, listenOptions: ListenOptions): Promise<Listener> {
      const queue = new AcceptQueue();
      const server = net.createServer({ highWaterMark: writeHighWaterMark }, (socket) => {
        queue.push(new NodeConnection(socket, options));
      });
      await listenStaged(path, {
        mode: listenOptions.mode,
        ops: NODE_STAGING_OPS,
        bind: (bindPath) =>
          new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen({ path: bindPath, exclusive: true }, () => {
              server.off("error", reject);
              resolve();
            });
          }),
        unbind: () => server.close(),
      });
      // No callback: server.close() would wait for every accepted connection.
      return queueListener(queue, () => server.close());
    },
    connectUnix(path: string): Promise<Connection> {
      return new Promise((resolve, reject) => {
        const socket = net.createConnection({ path });
        socket.once("error", reject);
        socket.once("connect", () => {
          socket.off("error", reject);
          resolve(new NodeConnection(socket, options));
        });
      });
    },
    async lstat(path: string): Promise<PathInfo | undefined> {
      try {
        const stats = await lstat(path);
        return {
          isSocket: stats.isSocket(),
          isFile: stats.isFile(),
          isDirectory: stats.isDirectory(),
          isSymlink: stats.isSymbolicLink(),
          mode: stats.mode & 0o7777,
          dev: stats.dev,
          ino: stats.ino,
        };
      } catch (error) {
        if (_isNotFound(error)) return undefined;
        throw error;
      }
    },
    async removeFile(path: string): Promise<void> {
      try {
        await unlink(path);
      } catch (error) {
        if (!_isNotFound(error)) throw error;
      }
    },
    onSignal(signal: ShutdownSignal, handler: () => void): () => void {
      const listener = () => handler();
      process.on(signal, listener);
      return () => {
        process.off(signal, listener);
      };
    },
    env(name: string): string | undefined {
      return process.env[name];
    },
    exit(code: number): never {
      process.exit(code);
    },
  };
}
