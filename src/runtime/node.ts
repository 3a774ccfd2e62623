// SocketRuntime over node:net, node:fs and node:process; runs on Node 20, Deno and Bun.

import { chmod, link, lstat, mkdir, rename, rmdir, unlink } from "node:fs/promises";
import net from "node:net";
import process from "node:process";
import { AcceptQueue, queueListener } from "./accept_queue.ts";
import { QueuedConnection } from "./queued_connection.ts";
import { listenStaged, type StagingFileOps } from "./socket_file.ts";
import {
  type Connection,
  type Listener,
  type ListenOptions,
  type PathInfo,
  type RuntimeOptions,
  type ShutdownSignal,
  type SocketRuntime,
} from "./types.ts";
import { SocketClosedError } from "./errors.ts";
import { DEFAULT_WRITE_HIGH_WATER_MARK } from "./write_queue.ts";

/**
 * A connection over a `net.Socket`. `'data'` chunks are fresh Buffers that
 * Node never reuses, so they go to the sink uncopied. Node's `write()` takes
 * every byte into its own buffer; past its high-water mark it returns false,
 * and the write queue then waits for `'drain'` before it sends more.
 */
class NodeConnection extends QueuedConnection {
  #socket: net.Socket;

  constructor(socket: net.Socket, options: RuntimeOptions) {
    super(
      (bytes) =>
        socket.write(bytes)
          ? bytes.byteLength
          : new Promise((resolve) => socket.once("drain", () => resolve(bytes.byteLength))),
      options.writeHighWaterMark,
    );
    this.#socket = socket;
    const slot = this.slot;
    // A plain Uint8Array view: Buffer's slice() shares memory, Uint8Array's copies.
    socket.on("data", (chunk: Uint8Array) => {
      slot.push(
        new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength),
        0,
        chunk.byteLength,
      );
    });
    socket.on("end", () => slot.end());
    socket.on("error", (error: Error) => slot.fail(error));
    socket.once("close", () => this.shutdown());
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  override write(bytes: Uint8Array): Promise<void> | undefined {
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) throw new SocketClosedError(bytes.byteLength);
    return super.write(bytes);
  }

  close(): void {
    if (!this.shutdown()) return;
    this.#socket.destroy();
  }

  protected override finishWriting(): Promise<void> | undefined {
    const socket = this.#socket;
    // libuv wrote every byte already: close() (a full close) may follow them at once.
    if (this.isFlushed && socket.writableLength === 0) return undefined;
    // node:net still holds bytes: its end() sends them, then the FIN.
    return this.flushed().then(() =>
      new Promise<void>((resolve) => {
        socket.end(() => resolve());
        this.closed.then(resolve);
      })
    );
  }
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
  rename: (existing, target) => rename(existing, target),
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
  const writeHighWaterMark = options.writeHighWaterMark ?? DEFAULT_WRITE_HIGH_WATER_MARK;
  return {
    name: "node",
    async listenUnix(path: string, listenOptions: ListenOptions): Promise<Listener> {
      const queue = new AcceptQueue();
      const server = net.createServer({ highWaterMark: writeHighWaterMark }, (socket) => {
        queue.push(new NodeConnection(socket, options));
      });
      await listenStaged(path, {
        mode: listenOptions.mode,
        replace: listenOptions.replace ?? false,
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
