// SocketRuntime over Bun.listen/Bun.connect on unix paths; files and signals through node: modules.

import { AcceptQueue, queueListener } from "./accept_queue.ts";
import { createNodeRuntime, NODE_STAGING_OPS } from "./node.ts";
import { QueuedConnection } from "./queued_connection.ts";
import { listenStaged } from "./socket_file.ts";
import type {
  Connection,
  Listener,
  ListenOptions,
  RuntimeOptions,
  SocketRuntime,
} from "./types.ts";
import { SocketClosedError } from "./errors.ts";

// The small part of Bun's API this file uses, declared here instead of depending on @types/bun.
interface BunSocket {
  data: BunConnection | undefined;
  write(data: Uint8Array): number;
  end(): void;
  pause(): void;
  resume(): void;
}
interface BunSocketHandler {
  /** `"uint8array"`: `data` gets plain Uint8Arrays, not Buffers (no conversion per chunk). */
  binaryType: "uint8array";
  open(socket: BunSocket): void;
  data(socket: BunSocket, data: Uint8Array): void;
  drain(socket: BunSocket): void;
  close(socket: BunSocket, error?: Error): void;
  error(socket: BunSocket, error: Error): void;
}
interface BunTcpListener {
  stop(closeActiveConnections?: boolean): void;
}
interface BunApi {
  listen(options: { unix: string; socket: BunSocketHandler }): BunTcpListener;
  connect(options: { unix: string; socket: BunSocketHandler }): Promise<BunSocket>;
}

function _bun(): BunApi {
  return (globalThis as unknown as { Bun: BunApi }).Bun;
}

/** Received chunks up to this size are copied into the runtime's slab (see {@linkcode _Slab}). */
const SLAB_COPY_LIMIT = 4 * 1024;
const SLAB_SIZE = 64 * 1024;

/**
 * Where small received chunks land, one per runtime instance. Bun's `data`
 * arrays are plain Uint8Arrays (binaryType "uint8array"), but JavaScriptCore
 * makes the first view of a fresh array expensive (it materialises an
 * ArrayBuffer, ~0.4 µs per chunk here) and every frame is read through a view;
 * views of a slab are cheap. Slab parts are never written twice (a full slab
 * is dropped), so a chunk never changes under its reader.
 */
class _Slab {
  bytes = new Uint8Array(0);
  used = 0;

  /** Copies `data` in and returns where it starts in {@linkcode _Slab.bytes}. */
  land(data: Uint8Array): number {
    const n = data.byteLength;
    if (this.used + n > this.bytes.length) {
      this.bytes = new Uint8Array(SLAB_SIZE);
      this.used = 0;
    }
    const start = this.used;
    this.bytes.set(data, start);
    this.used = start + n;
    return start;
  }
}

/**
 * A connection over a Bun socket. Bun hands `data` a fresh buffer per callback
 * (checked: distinct ArrayBuffers, contents unchanged after later callbacks),
 * so large chunks go to the sink uncopied and small ones are copied once into
 * the slab. `socket.write()` may take only part of the bytes: the write queue
 * keeps the rest and sends it on `drain`.
 */
class BunConnection extends QueuedConnection {
  #socket: BunSocket;
  #slab: _Slab;

  constructor(socket: BunSocket, options: RuntimeOptions, slab: _Slab) {
    super((bytes) => socket.write(bytes), options.writeHighWaterMark);
    this.#socket = socket;
    this.#slab = slab;
  }

  _data(data: Uint8Array): void {
    const n = data.byteLength;
    if (n > SLAB_COPY_LIMIT) {
      this.slot.push(data, 0, n);
      return;
    }
    const slab = this.#slab;
    const start = slab.land(data);
    this.slot.push(slab.bytes, start, start + n);
  }

  _error(error: Error): void {
    this.slot.fail(error);
  }

  _closedByPeer(error?: Error): void {
    if (error !== undefined) this.slot.fail(error);
    this.shutdown();
  }

  _drain(): void {
    this.drained();
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  close(): void {
    if (this.isClosed) return;
    this.#socket.end();
    this.shutdown();
  }
}

function _handler(
  options: RuntimeOptions,
  slab: _Slab,
  onOpen?: (conn: BunConnection) => void,
): BunSocketHandler {
  return {
    binaryType: "uint8array",
    open(socket: BunSocket): void {
      const conn = new BunConnection(socket, options, slab);
      socket.data = conn;
      onOpen?.(conn);
    },
    data(socket: BunSocket, data: Uint8Array): void {
      socket.data?._data(data);
    },
    drain(socket: BunSocket): void {
      socket.data?._drain();
    },
    close(socket: BunSocket, error?: Error): void {
      socket.data?._closedByPeer(error);
    },
    error(socket: BunSocket, error: Error): void {
      socket.data?._error(error);
    },
  };
}

/**
 * Creates the runtime built on `Bun.listen`/`Bun.connect`; lstat, removeFile,
 * signals, env and exit are the node:fs/node:process ones Bun implements.
 * The socket is created through `listenStaged()` (bound and chmod'ed in a
 * private directory, then linked into place), so the mode holds under any
 * umask and Bun's unlink of the bind path on `stop()` never removes the
 * socket file at the listen path.
 *
 * @example
 * ```ts
 * const runtime = createBunRuntime();
 * const listener = await runtime.listenUnix("/tmp/runner.sock", { mode: 0o766 });
 * ```
 */
export function createBunRuntime(options: RuntimeOptions = {}): SocketRuntime {
  const base = createNodeRuntime(options);
  const slab = new _Slab();
  return {
    ...base,
    name: "bun",
    async listenUnix(path: string, listenOptions: ListenOptions): Promise<Listener> {
      const queue = new AcceptQueue();
      const listener = await listenStaged(path, {
        mode: listenOptions.mode,
        replace: listenOptions.replace ?? false,
        ops: NODE_STAGING_OPS,
        bind: (bindPath) =>
          _bun().listen({
            unix: bindPath,
            socket: _handler(options, slab, (conn) => queue.push(conn)),
          }),
        unbind: (bound) => bound.stop(true),
      });
      // stop(false): accepted connections stay open, as the contract says.
      return queueListener(queue, () => listener.stop(false));
    },
    async connectUnix(path: string): Promise<Connection> {
      const socket = await _bun().connect({ unix: path, socket: _handler(options, slab) });
      const conn = socket.data;
      if (conn === undefined) throw new SocketClosedError(0);
      return conn;
    },
  };
}
