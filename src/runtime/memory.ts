// In-memory SocketRuntime for unit tests: connection pairs by path, fake socket files, fake signals.

import { AcceptQueue } from "./accept_queue.ts";
import { MemoryExitError, MemorySystemError } from "./errors.ts";
import { QueuedConnection } from "./queued_connection.ts";
import {
  type Connection,
  type Listener,
  type ListenOptions,
  type PathInfo,
  type ShutdownSignal,
  type SocketRuntime,
} from "./types.ts";

export { MemoryExitError, MemorySystemError };

/** Options of {@linkcode createMemoryPipe} and {@linkcode createMemoryRuntime}. */
export interface MemoryOptions {
  /** Bytes a side may have queued (the peer paused) before its `write()` asks to wait (default 1 MiB). */
  highWaterMark?: number;
}

class MemoryConnection extends QueuedConnection {
  peer!: MemoryConnection;
  /** Whether this side's consumer asked to pause: the peer's sends wait. */
  #paused = false;
  #resumed: (() => void)[] = [];

  constructor(highWaterMark: number) {
    // A write lands in the peer's sink at once; while the peer is paused the send is not over.
    super((bytes) => {
      const peer = this.peer;
      peer.slot.push(bytes, 0, bytes.byteLength);
      return peer.#paused ? peer.#whenResumed().then(() => bytes.byteLength) : bytes.byteLength;
    }, highWaterMark);
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    const resumed = this.#resumed;
    this.#resumed = [];
    for (const resolve of resumed) resolve();
  }

  close(): void {
    if (this.isClosed) return;
    this._shutdown();
    this.peer._shutdown();
  }

  #whenResumed(): Promise<void> {
    return new Promise((resolve) => this.#resumed.push(resolve));
  }

  _shutdown(): void {
    if (this.shutdown()) this.resume();
  }
}

/**
 * Creates two connected in-memory connections: bytes written on one are read on the other.
 *
 * @example
 * ```ts
 * const [client, server] = createMemoryPipe();
 * server.receive({ push: (bytes, start, end) => console.log(bytes.subarray(start, end)), end() {}, fail() {} });
 * client.write(new Uint8Array([1, 2])); // the server's sink gets [1, 2]
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
      const existing = files.get(path)?.info;
      const replaceable = existing !== undefined && listenOptions.replace === true &&
        (existing.isSocket || existing.isSymlink);
      if (existing !== undefined && !replaceable) {
        return Promise.reject(new MemorySystemError("EADDRINUSE", path));
      }
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
