// The one seam between the runtime-blind core and Deno, Bun or Node: byte connections, files, signals, env.

/**
 * Where a connection delivers the bytes it receives (the frame reader of
 * `protocol/frame_reader.ts` is one). The adapter never writes into a range it
 * pushed, so the sink may keep views of it.
 */
export interface ByteSink {
  /** Bytes `start..end` of `bytes` arrived. */
  push(bytes: Uint8Array, start: number, end: number): void;
  /** The peer closed its side cleanly. */
  end(): void;
  /** The stream broke. */
  fail(error: unknown): void;
}

/**
 * A byte stream connection, push-style both ways: received bytes go to one
 * {@linkcode ByteSink}, written bytes go through a write queue.
 */
export interface Connection {
  /** Delivers every byte received from now on to `sink`, in order. Once per connection. */
  receive(sink: ByteSink): void;
  /** Stops taking bytes from the socket (the sink's buffer is full). */
  pause(): void;
  /** Takes bytes again. */
  resume(): void;
  /**
   * Writes all of `bytes`, in order after earlier writes; the caller never changes them
   * afterwards. Returns `undefined` when the queue stays under its high-water mark, else a
   * promise that resolves once it is back under (a peer that does not read shows here).
   *
   * @throws {SocketClosedError} (`errors.ts`) when the connection is closed.
   */
  write(bytes: Uint8Array): Promise<void> | undefined;
  /** Closes both directions at once; queued bytes are dropped, the sink gets `end()`. Idempotent. */
  close(): void;
  /**
   * Sends every byte written so far, then closes: the close reaches the peer right
   * behind the last byte. Resolves once closed. A peer that stops reading holds it
   * until {@linkcode Connection.close}.
   */
  end(): Promise<void>;
  /** Resolves once the connection is closed, by either side. Never rejects. */
  readonly closed: Promise<void>;
}

/** Options of {@linkcode SocketRuntime.listenUnix}. */
export interface ListenOptions {
  /** File mode applied to the socket file after it was created, e.g. `0o766`. */
  mode: number;
  /**
   * Atomically replace the socket or symlink at the path (a rename over it: a
   * connecting peer finds either the old socket or the new one, never nothing).
   * Without it the path must be free.
   */
  replace?: boolean;
}

/** A listening unix socket. */
export interface Listener {
  /** Accepted connections until {@linkcode Listener.close} is called. */
  accept(): AsyncIterable<Connection>;
  /**
   * Stops accepting. Already accepted connections stay open. The socket file at the
   * listen path stays (see {@linkcode SocketRuntime.listenUnix}). Idempotent.
   */
  close(): Promise<void>;
}

/** Result of {@linkcode SocketRuntime.lstat}. */
export interface PathInfo {
  isSocket: boolean;
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
  /** Permission bits (`mode & 0o7777`). */
  mode: number;
  /** Device of the file system holding it: with `ino`, the file's identity. */
  dev: number;
  /** Inode number: a socket replaced at the same path (a new runner on reload) has another one. */
  ino: number;
}

/** Signals the runner reacts to. */
export type ShutdownSignal = "SIGTERM" | "SIGINT";

/** Everything the core needs from a JavaScript runtime. */
export interface SocketRuntime {
  /** `"deno"`, `"bun"` or `"node"` (`"memory"` for the in-memory test runtime). */
  readonly name: string;
  /**
   * Listens on a unix socket path with `options.mode`; the path must be free unless
   * `options.replace`. The socket is bound and given its mode inside a fresh private
   * directory, then hard-linked (or, to replace, renamed) to `path`: nothing else can
   * be chmod'ed through a planted symlink, and the runtime's own unlink-on-close hits
   * the private name, never `path`.
   */
  listenUnix(path: string, options: ListenOptions): Promise<Listener>;
  /** Connects to a unix socket path (used by the APISIX-playing client and the dev gateway). */
  connectUnix(path: string): Promise<Connection>;
  /** File facts without following a symlink; `undefined` when nothing is there. */
  lstat(path: string): Promise<PathInfo | undefined>;
  /** Removes a file (not following symlinks: the link itself goes). Missing file is not an error. */
  removeFile(path: string): Promise<void>;
  /** Calls `handler` on the signal; returns a function that removes the handler. */
  onSignal(signal: ShutdownSignal, handler: () => void): () => void;
  /** Reads an environment variable. */
  env(name: string): string | undefined;
  /** Ends the process. */
  exit(code: number): never;
}

/** Options of the real-socket runtimes (`createDenoRuntime()`, `createBunRuntime()`, `createNodeRuntime()`). */
export interface RuntimeOptions {
  /**
   * Bytes queued for the peer before `write()` returns a promise to wait on (default 64 KiB);
   * node:net also applies it to accepted sockets where `net.createServer()` supports it.
   */
  writeHighWaterMark?: number;
}
