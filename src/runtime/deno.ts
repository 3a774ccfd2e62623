// SocketRuntime over Deno's own APIs: Deno.listen/connect on unix paths, Deno.lstat, signals.

import { AcceptQueue } from "./accept_queue.ts";
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

/** Size of the slabs socket reads land in; each read takes a fresh, never reused part. */
const SLAB_SIZE = 64 * 1024;
/** A slab with less room than this left is retired (reads would get too small). */
const MIN_READ_ROOM = 8 * 1024;

/**
 * A connection over a `Deno.Conn`. A pump reads into the free tail of a 64 KiB
 * slab and pushes that exact part (never written again) to the sink, so reads
 * need no copy; the pump waits while paused. Writes are Deno's asynchronous
 * write ops, one in flight at a time through the write queue.
 */
class DenoConnection extends QueuedConnection {
  #conn: Deno.Conn;
  #paused = false;
  #resumePump: (() => void) | undefined;

  constructor(conn: Deno.Conn, options: RuntimeOptions) {
    super((bytes) => conn.write(bytes), options.writeHighWaterMark);
    this.#conn = conn;
    this.#pump();
  }

  async #pump(): Promise<void> {
    const conn = this.#conn;
    const slot = this.slot;
    let slab = new Uint8Array(SLAB_SIZE);
    let used = 0;
    try {
      while (!this.isClosed) {
        if (this.#paused) {
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
        slot.push(slab, used, used + n);
        used += n;
      }
      slot.end();
    } catch (error) {
      // A local close() interrupts the pending read: that is a clean end, not a failure.
      if (this.isClosed) slot.end();
      else slot.fail(error);
    }
    this.close();
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    const resume = this.#resumePump;
    this.#resumePump = undefined;
    resume?.();
  }

  protected override finishWriting(): Promise<void> {
    // The FIN once Deno took the last byte (a shutdown while a write op is pending cuts it
    // short): for a write the socket took at once, its op settles within this turn's
    // microtasks, so the FIN still leaves before the event loop reads anything else.
    return this.flushed().then(() => this.#conn.closeWrite().catch(() => {}));
  }

  close(): void {
    if (!this.shutdown()) return;
    this.resume();
    try {
      this.#conn.close();
    } catch {
      // Already closed by the runtime: nothing left to release.
    }
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
  rename: (existing, target) => Deno.rename(existing, target),
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
        replace: listenOptions.replace ?? false,
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
