// SocketRuntime over Bun.listen/Bun.connect on unix paths; files and signals through node: modules.

import { AcceptQueue, queueListener } from "./accept_queue.ts";
import { ChunkReader } from "./chunk_reader.ts";
import { createNodeRuntime, NODE_STAGING_OPS } from "./node.ts";
import { listenStaged } from "./socket_file.ts";
import {
  type Connection,
  ConnectionClosedError,
  type FrameHandler,
  type FrameRead,
  type Listener,
  type ListenOptions,
  type RuntimeOptions,
  type SocketRuntime,
} from "./types.ts";

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

/** Chunks of one write up to this total size are copied into one buffer and written at once. */
const COALESCE_LIMIT = 64 * 1024;

/** Received chunks up to this size are copied into a shared slab (see {@linkcode _land}). */
const SLAB_COPY_LIMIT = 4 * 1024;
const SLAB_SIZE = 64 * 1024;
let _slab = new Uint8Array(0);
let _slabUsed = 0;

/**
 * Copies a small chunk from Bun into the shared slab and returns where it
 * starts there. Bun's `data` arrays are plain Uint8Arrays (binaryType
 * "uint8array", so slice() copies as expected of a Uint8Array), but
 * JavaScriptCore makes the first view of a fresh array expensive (it
 * materialises an ArrayBuffer, ~0.4 µs per chunk here) and every frame is read
 * through a view. Views of the slab are cheap. Slab parts are never written
 * twice (a full slab is dropped), so a chunk never changes under its reader.
 */
function _land(data: Uint8Array): number {
  const n = data.byteLength;
  if (_slabUsed + n > _slab.length) {
    _slab = new Uint8Array(SLAB_SIZE);
    _slabUsed = 0;
  }
  const start = _slabUsed;
  _slab.set(data, start);
  _slabUsed = start + n;
  return start;
}

/**
 * A connection over a Bun socket. Bun hands `data` a fresh buffer per callback
 * (checked: distinct ArrayBuffers, contents unchanged after later callbacks),
 * so large chunks go into the reader uncopied and small ones are copied once
 * into a slab (see {@linkcode _land}). `socket.write()` may take only part
 * of the bytes: the rest is queued (by reference; callers must not mutate
 * written chunks) and flushed on `drain`; `write()` stays pending while more
 * than the write high-water mark is queued.
 */
class BunConnection implements Connection {
  readonly closed: Promise<void>;
  #socket: BunSocket;
  #reader: ChunkReader;
  #isClosed = false;
  #resolveClosed!: () => void;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #highWaterMark: number;
  #drainWaiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];

  constructor(socket: BunSocket, options: RuntimeOptions) {
    this.#socket = socket;
    this.#highWaterMark = options.writeHighWaterMark ?? 64 * 1024;
    this.#reader = new ChunkReader({
      highWaterMark: options.readHighWaterMark,
      onPause: () => socket.pause(),
      onResume: () => socket.resume(),
    });
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  _data(data: Uint8Array): void {
    const n = data.byteLength;
    if (n > SLAB_COPY_LIMIT) {
      this.#reader.push(data);
      return;
    }
    const start = _land(data);
    this.#reader.pushRange(_slab, start, start + n);
  }

  _error(error: Error): void {
    this.#reader.fail(error);
  }

  _closedByPeer(error?: Error): void {
    if (error !== undefined) this.#reader.fail(error);
    this.#shutdown();
  }

  _drain(): void {
    const queue = this.#queue;
    const socket = this.#socket;
    while (queue.length > 0) {
      const chunk = queue[0];
      const n = socket.write(chunk);
      if (n < 0) break;
      this.#queued -= n;
      if (n < chunk.byteLength) {
        queue[0] = chunk.subarray(n);
        break;
      }
      queue.shift();
    }
    if (this.#queued <= this.#highWaterMark && this.#drainWaiters.length > 0) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const waiter of waiters) waiter.resolve();
    }
  }

  readExactly(size: number): Promise<Uint8Array | null> {
    return this.#reader.readExactly(size);
  }

  readFrame(): Promise<FrameRead | null> {
    return this.#reader.readFrame();
  }

  serveFrames(handler: FrameHandler): Promise<void> {
    return this.#reader.serveFrames(handler, (frame) => {
      if (this.#isClosed) throw new ConnectionClosedError(frame.byteLength);
      this.#send(frame);
      if (this.#queued <= this.#highWaterMark) return undefined;
      return new Promise((resolve, reject) => {
        this.#drainWaiters.push({ resolve, reject });
      });
    });
  }

  write(chunks: readonly Uint8Array[]): Promise<void> {
    let size = 0;
    for (const chunk of chunks) size += chunk.byteLength;
    if (this.#isClosed) return Promise.reject(new ConnectionClosedError(size));
    if (chunks.length === 1) {
      this.#send(chunks[0]);
    } else if (size <= COALESCE_LIMIT) {
      // One send beats several for a small header + payload; the copy is cheap.
      const bytes = new Uint8Array(size);
      let offset = 0;
      for (const chunk of chunks) {
        bytes.set(chunk, offset);
        offset += chunk.byteLength;
      }
      this.#send(bytes);
    } else {
      for (const chunk of chunks) this.#send(chunk);
    }
    if (this.#queued <= this.#highWaterMark) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#drainWaiters.push({ resolve, reject });
    });
  }

  #send(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    if (this.#queue.length === 0) {
      const n = this.#socket.write(chunk);
      if (n >= chunk.byteLength) return;
      chunk = n > 0 ? chunk.subarray(n) : chunk;
    }
    this.#queue.push(chunk);
    this.#queued += chunk.byteLength;
  }

  close(): void {
    if (this.#isClosed) return;
    this.#socket.end();
    this.#shutdown();
  }

  #shutdown(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#reader.end();
    this.#queue = [];
    this.#queued = 0;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const waiter of waiters) waiter.reject(new ConnectionClosedError(0));
    this.#resolveClosed();
  }
}

function _handler(options: RuntimeOptions, onOpen?: (conn: BunConnection) => void) {
  return {
    binaryType: "uint8array",
    open(socket: BunSocket): void {
      const conn = new BunConnection(socket, options);
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
  } satisfies BunSocketHandler;
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
  return {
    ...base,
    name: "bun",
    async listenUnix(path: string, listenOptions: ListenOptions): Promise<Listener> {
      const queue = new AcceptQueue();
      const listener = await listenStaged(path, {
        mode: listenOptions.mode,
        ops: NODE_STAGING_OPS,
        bind: (bindPath) =>
          _bun().listen({
            unix: bindPath,
            socket: _handler(options, (conn) => queue.push(conn)),
          }),
        unbind: (bound) => bound.stop(true),
      });
      // stop(false): accepted connections stay open, as the contract says.
      return queueListener(queue, () => listener.stop(false));
    },
    async connectUnix(path: string): Promise<Connection> {
      const socket = await _bun().connect({ unix: path, socket: _handler(options) });
      const conn = socket.data;
      if (conn === undefined) throw new ConnectionClosedError(0);
      return conn;
    },
  };
}
