// The one seam between the runtime-blind core and Deno, Bun or Node: sockets, signals, files, env.

/** Handles one whole frame (see {@linkcode Connection.serveFrames}). */
export type FrameHandler = (
  type: number,
  payload: Uint8Array,
) => Uint8Array | null | Promise<Uint8Array | null>;

/** One frame read by {@linkcode Connection.readFrame}. */
export interface FrameRead {
  /** The frame type byte. */
  readonly type: number;
  /** The payload; `null` when the peer closed cleanly right after the header. */
  readonly payload: Uint8Array | null;
}

/**
 * A byte stream connection with a pull-style read API, so that a call can ask
 * ExtraInfo questions in the middle of its handling on the same connection.
 */
export interface Connection {
  /**
   * Reads exactly `size` bytes. Resolves `null` when the peer closed cleanly
   * before the first byte of this read; rejects with {@linkcode UnexpectedEofError}
   * when it closed after some of them. `size` 0 resolves an empty array.
   * The returned bytes belong to the caller (never overwritten later).
   */
  readExactly(size: number): Promise<Uint8Array | null>;
  /**
   * Reads one whole frame (type byte, 3-byte big-endian length, payload) with
   * one promise: the same bytes and end-of-stream results as `readExactly(4)`
   * then `readExactly(length)`. Resolves `null` when the peer closed cleanly
   * before the header, a frame with a `null` payload when it closed right after it.
   */
  readFrame(): Promise<FrameRead | null>;
  /**
   * Writes all bytes of every chunk, in order, as one logical write (adapters
   * coalesce, e.g. writev). Resolves once the bytes were handed to the OS or
   * buffered under the adapter's high-water mark; this is where backpressure
   * from a peer that does not read shows.
   */
  write(chunks: readonly Uint8Array[]): Promise<void>;
  /**
   * Serves frames push-style, the fast path of the server's frame loop: calls
   * `handler` synchronously from the socket's data callback for each whole frame
   * (type byte, payload view), so a frame costs no promise. A synchronous reply
   * is written at once. A handler that must wait (ExtraInfo round trips through
   * {@linkcode Connection.readExactly} and {@linkcode Connection.write}) returns
   * a promise; no frame is delivered until it settled and its reply was written.
   * Resolves when serving stopped (a `null` reply, the peer closed at a frame
   * boundary, {@linkcode Connection.close}); rejects with
   * {@linkcode UnexpectedEofError} when the peer closed inside a frame, or with
   * the handler's, the write's or the socket's error. Once per connection.
   */
  serveFrames(handler: FrameHandler): Promise<void>;
  /** Closes both directions; pending and later reads resolve `null` or reject. Idempotent. */
  close(): void;
  /** Resolves once the connection is closed, by either side. Never rejects. */
  readonly closed: Promise<void>;
}

/** Options of {@linkcode SocketRuntime.listenUnix}. */
export interface ListenOptions {
  /** File mode applied to the socket file after it was created, e.g. `0o766`. */
  mode: number;
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
   * Listens on a unix socket path (the file must not exist) with `options.mode`.
   * The socket is bound and given its mode inside a fresh private directory, then
   * hard-linked to `path`: nothing else can be chmod'ed through a planted symlink,
   * and the runtime's own unlink-on-close hits the private name, never `path`.
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

/** A connection closed by the peer in the middle of a read. */
export class UnexpectedEofError extends Error {
  /** How many bytes the read wanted and how many it got before the peer closed. */
  constructor(wanted: number, got: number) {
    super(`Connection closed by the peer after ${got} of ${wanted} bytes`);
    this.name = "UnexpectedEofError";
  }
}

/** A write on a connection that was already closed, by either side. */
export class ConnectionClosedError extends Error {
  /** `size` is the number of bytes the failed write carried. */
  constructor(size: number) {
    super(`Cannot write ${size} bytes: the connection is closed`);
    this.name = "ConnectionClosedError";
  }
}

/** Options of the real-socket runtimes (`createDenoRuntime()`, `createBunRuntime()`, `createNodeRuntime()`). */
export interface RuntimeOptions {
  /** Bytes buffered beyond the pending read before the socket is paused (default 1 MiB). */
  readHighWaterMark?: number;
  /**
   * Bytes queued for the peer before `write()` stays pending (default 64 KiB;
   * node:net applies it to accepted sockets where `net.createServer()` supports
   * `highWaterMark`, elsewhere the socket's own default applies; Deno's own
   * adapter ignores it, its writes resolve only once the OS took the bytes).
   */
  writeHighWaterMark?: number;
}
