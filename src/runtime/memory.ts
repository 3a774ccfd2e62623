// In-memory SocketRuntime for unit tests: connection pairs by path, fake socket files, fake signals.

import { AcceptQueue } from "./accept_queue.ts";
import { ChunkReader } from "./chunk_reader.ts";
import {
  type Connection,
  ConnectionClosedError,
  type FrameHandler,
  type FrameRead,
  type Listener,
  type ListenOptions,
  type PathInfo,
  type ShutdownSignal,
  type SocketRuntime,
} from "./types.ts";

/** Options of {@linkcode createMemoryPipe} and {@linkcode createMemoryRuntime}. */
export interface MemoryOptions {
  /** Bytes a side may hold unread before the peer's `write()` stays pending (default 1 MiB). */
  highWaterMark?: number;
}

/** `exit()` of the memory runtime throws this instead of ending the process. */
export class MemoryExitError extends Error {
  /** The code `exit()` was called with. */
  readonly code: number;
  /** `code` is the exit code. */
  constructor(code: number) {
    super(`Memory runtime exit() was called with code ${code}`);
    this.name = "MemoryExitError";
    this.code = code;
  }
}

/** A system call failure of the memory runtime, shaped like Node's (`code` is e.g. `"ENOENT"`). */
export class MemorySystemError extends Error {
  /** `"EADDRINUSE"`, `"ENOENT"` or `"ECONNREFUSED"`. */
  readonly code: string;
  /** `code` names the failure, `path` the file it concerned. */
  constructor(code: string, path: string) {
    super(`${code}: memory runtime cannot use socket path "${path}"`);
    this.name = "MemorySystemError";
    this.code = code;
  }
}

class MemoryConnection implements Connection {
  peer!: MemoryConnection;
  readonly reader: ChunkReader;
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;
  #isClosed = false;
  /** Writers waiting for the peer's reader to drain. */
  #drainWaiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];

  constructor(highWaterMark: number) {
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    // The reader of this side is what the peer writes into: its drain frees the peer's writers.
    this.reader = new ChunkReader({
      highWaterMark,
      onResume: () => this.peer._drained(),
    });
  }

  readExactly(size: number): Promise<Uint8Array | null> {
    return this.reader.readExactly(size);
  }

  readFrame(): Promise<FrameRead | null> {
    return this.reader.readFrame();
  }

  serveFrames(handler: FrameHandler): Promise<void> {
    return this.reader.serveFrames(handler, (frame) => this.write([frame]));
  }

  write(chunks: readonly Uint8Array[]): Promise<void> {
    let size = 0;
    for (const chunk of chunks) size += chunk.byteLength;
    if (this.#isClosed) return Promise.reject(new ConnectionClosedError(size));
    if (size === 0) return Promise.resolve();
    // Copy: the caller may reuse its buffers once write() resolved.
    const bytes = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.byteLength;
    }
    const target = this.peer.reader;
    target.push(bytes);
    if (!target.paused) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#drainWaiters.push({ resolve, reject });
    });
  }

  close(): void {
    if (this.#isClosed) return;
    this._shutdown();
    this.peer._shutdown();
  }

  _drained(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  _shutdown(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.reader.end();
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const waiter of waiters) waiter.reject(new ConnectionClosedError(0));
    this.#resolveClosed();
  }
}

/**
 * Creates two connected in-memory connections: bytes written on one are read on the other.
 *
 * @example
 * ```ts
 * const [client, server] = createMemoryPipe();
 * await client.write([new Uint8Array([1, 2])]);
 * await server.readExactly(2); // Uint8Array [1, 2]
 * ```
 */
export function createMemoryPipe(options: MemoryOptions = {}): [Connection, Connection] {
  const highWaterMark = options.highWaterMark ?? 1024 * 1024;
  const a = new MemoryConnection(highWaterMark);
  const b = new MemoryConnection(highWaterMark);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

interface FakeFile {
  info: PathInfo;
  listener?: MemoryListener;
}

class MemoryListener implements Listener {
  readonly queue = new AcceptQueue();

  accept(): AsyncIterable<Connection> {
    return this.queue;
  }

  close(): Promise<void> {
    this.queue.close();
    return Promise.resolve();
  }
}

/** The in-memory runtime: a {@linkcode SocketRuntime} plus hooks for tests. */
export interface MemoryRuntime extends SocketRuntime {
  /** Calls the handlers registered for `signal` with `onSignal()`. */
  raise(signal: ShutdownSignal): void;
  /** The code of the last `exit()` call, `undefined` before. */
  readonly exitCode: number | undefined;
  /** Environment variables `env()` reads; tests may edit it. */
  readonly environment: Map<string, string>;
  /** Puts a fake file at `path` (e.g. a stale socket, a regular file or a symlink). */
  addFile(path: string, info: Partial<PathInfo>): void;
}

/**
 * Creates an in-memory runtime: `listenUnix`/`connectUnix` pair in-process by
 * path, files live in a fake map (listening creates a socket entry with the
 * given mode; closing the listener leaves it, like a stale socket), signals are
 * triggered with `raise()`, and `exit()` records the code in `exitCode` and
 * then throws {@linkcode MemoryExitError}.
 *
 * @example
 * ```ts
 * const runtime = createMemoryRuntime();
 * const listener = await runtime.listenUnix("/tmp/runner.sock", { mode: 0o766 });
 * const client = await runtime.connectUnix("/tmp/runner.sock");
 * ```
 */
export function createMemoryRuntime(
  options: MemoryOptions & { env?: Record<string, string> } = {},
): MemoryRuntime {
  const files = new Map<string, FakeFile>();
  const handlers = new Map<ShutdownSignal, Set<() => void>>();
  const environment = new Map(Object.entries(options.env ?? {}));
  let exitCode: number | undefined;
  return {
    name: "memory",
    get exitCode() {
      return exitCode;
    },
    environment,
    listenUnix(path: string, listenOptions: ListenOptions): Promise<Listener> {
      if (files.has(path)) return Promise.reject(new MemorySystemError("EADDRINUSE", path));
      const listener = new MemoryListener();
      files.set(path, {
        info: _info({ isSocket: true, mode: listenOptions.mode & 0o7777 }),
        listener,
      });
      return Promise.resolve(listener);
    },
    connectUnix(path: string): Promise<Connection> {
      const file = files.get(path);
      if (file === undefined) return Promise.reject(new MemorySystemError("ENOENT", path));
      const listener = file.listener;
      if (listener === undefined || listener.queue.closed) {
        return Promise.reject(new MemorySystemError("ECONNREFUSED", path));
      }
      const [client, server] = createMemoryPipe(options);
      listener.queue.push(server);
      return Promise.resolve(client);
    },
    lstat(path: string): Promise<PathInfo | undefined> {
      const file = files.get(path);
      return Promise.resolve(file === undefined ? undefined : { ...file.info });
    },
    removeFile(path: string): Promise<void> {
      files.delete(path);
      return Promise.resolve();
    },
    onSignal(signal: ShutdownSignal, handler: () => void): () => void {
      let set = handlers.get(signal);
      if (set === undefined) {
        set = new Set();
        handlers.set(signal, set);
      }
      const entry = () => handler();
      set.add(entry);
      return () => {
        set.delete(entry);
      };
    },
    env(name: string): string | undefined {
      return environment.get(name);
    },
    exit(code: number): never {
      exitCode = code;
      throw new MemoryExitError(code);
    },
    raise(signal: ShutdownSignal): void {
      for (const handler of [...(handlers.get(signal) ?? [])]) handler();
    },
    addFile(path: string, info: Partial<PathInfo>): void {
      files.set(path, { info: _info(info) });
    },
  };
}

let _lastIno = 0;

// Every fake file gets a fresh inode number (never reused), like a new file on disk.
function _info(info: Partial<PathInfo>): PathInfo {
  return {
    isSocket: info.isSocket ?? false,
    isFile: info.isFile ?? false,
    isDirectory: info.isDirectory ?? false,
    isSymlink: info.isSymlink ?? false,
    mode: info.mode ?? 0o644,
    dev: info.dev ?? 1,
    ino: info.ino ?? ++_lastIno,
  };
}
