// The runner server: owns the listener, the conf cache, every connection, deadlines and shutdown.
import { getLogger } from "@logtape/logtape";
import { type Clock, ConfCache } from "../conf/conf_cache.ts";
import { FrameEncoder, NameCache } from "../protocol/mod.ts";
import type { PreparedPlugin } from "../plugin/prepare.ts";
import type { PluginRegistry } from "../plugin/registry.ts";
import type { Listener, PathInfo, SocketRuntime } from "../runtime/types.ts";
import { type ConnectionContext, ServedConnection } from "./connection.ts";
import { prepareSocketPath } from "./socket_path.ts";

const logger = getLogger(["apisix-runner", "server"]);

/** Default time a filter chain may take: APISIX itself gives up after 60 s. */
export const DEFAULT_CALL_TIMEOUT_MS = 55_000;
/** Default time in-flight calls get to finish on shutdown: APISIX kills after 1 s. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 800;
/** Mode of the socket file: nginx workers often run as another user than the runner. */
export const DEFAULT_SOCKET_MODE = 0o766;

/** Options of {@linkcode RunnerServer}. */
export interface RunnerServerOptions {
  /** Sockets, files and signals of the runtime. */
  runtime: SocketRuntime;
  /** The plugins confs may name. */
  registry: PluginRegistry;
  /** Path of the unix socket to listen on. */
  socketPath: string;
  /** How long a conf lives after its last use (1.2 × `APISIX_CONF_EXPIRE_TIME`). */
  confTtlMs: number;
  /** Deadline of one call's filter chain; defaults to {@linkcode DEFAULT_CALL_TIMEOUT_MS}. */
  callTimeoutMs?: number;
  /** Skip unknown plugins and invalid confs with a warning instead of failing PrepareConf. */
  skipInvalidConf?: boolean;
  /** File mode of the socket; defaults to {@linkcode DEFAULT_SOCKET_MODE}. */
  socketMode?: number;
  /** Time source of the conf cache (tests). */
  clock?: Clock;
  /** First conf token (tests); random by default. */
  firstToken?: number;
  /** Bytes a connection buffers beyond the frame it reads before it stops reading (default 1 MiB). */
  readHighWaterMark?: number;
}

/**
 * Listens on a unix socket and serves APISIX's ext-plugin RPC on any number of
 * connections until {@linkcode RunnerServer.shutdown}.
 */
export class RunnerServer {
  #options: RunnerServerOptions;
  #context: ConnectionContext & { stopping: boolean };
  #connections = new Map<ServedConnection, Promise<void>>();
  #listener: Listener | undefined;
  /** Identity of the socket file this server created, to never remove another one. */
  #socketFile: Pick<PathInfo, "dev" | "ino"> | undefined;
  #acceptLoop: Promise<void> | undefined;
  #deadlineTimer: ReturnType<typeof setInterval> | undefined;
  #shutdown: Promise<void> | undefined;

  /** Creates a server; nothing happens until {@linkcode RunnerServer.start}. */
  constructor(options: RunnerServerOptions) {
    this.#options = options;
    this.#context = {
      registry: options.registry,
      confs: new ConfCache<readonly PreparedPlugin[]>({
        ttlMs: options.confTtlMs,
        clock: options.clock,
        firstToken: options.firstToken,
      }),
      encoder: new FrameEncoder(),
      names: new NameCache(),
      skipInvalidConf: options.skipInvalidConf ?? false,
      callTimeoutMs: options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
      readHighWaterMark: options.readHighWaterMark,
      stopping: false,
    };
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Number of live conf tokens (expired ones may count until the next sweep). */
  get confCount(): number {
    return this.#context.confs.size;
  }

  /** Removes a stale socket file, listens, and starts accepting connections. */
  async start(): Promise<void> {
    const { runtime, socketPath } = this.#options;
    await prepareSocketPath(runtime, socketPath);
    this.#listener = await runtime.listenUnix(socketPath, {
      mode: this.#options.socketMode ?? DEFAULT_SOCKET_MODE,
    });
    const created = await runtime.lstat(socketPath);
    if (created?.isSocket) this.#socketFile = { dev: created.dev, ino: created.ino };
    this.#acceptLoop = this.#accept(this.#listener);
    const timeoutMs = this.#context.callTimeoutMs;
    this.#deadlineTimer = setInterval(
      () => this.#expireCalls(),
      Math.max(10, Math.min(250, Math.floor(timeoutMs / 4))),
    );
    logger.info("Listening on unix:{socketPath}", { socketPath, runtime: runtime.name });
  }

  /**
   * Removes the socket file if it is still the one this server created, stops
   * accepting, closes idle connections, lets in-flight calls finish for up to
   * `graceMs`, then closes the rest. Idempotent.
   */
  shutdown(graceMs: number = DEFAULT_SHUTDOWN_GRACE_MS): Promise<void> {
    this.#shutdown ??= this.#stop(graceMs);
    return this.#shutdown;
  }

  async #stop(graceMs: number): Promise<void> {
    this.#context.stopping = true;
    clearInterval(this.#deadlineTimer);
    // Before closing the listener: while it is open its inode cannot be reused by a new file.
    await this.#removeSocketFile();
    await this.#listener?.close();
    await this.#acceptLoop;
    let busy = 0;
    for (const state of this.#connections.keys()) {
      if (state.busy) busy++;
      else state.conn.close();
    }
    logger.info("Shutting down: {busy} call(s) in flight", { busy });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const graceOver = new Promise<void>((resolve) => timer = setTimeout(resolve, graceMs));
    await Promise.race([Promise.all(this.#connections.values()), graceOver]);
    clearTimeout(timer);
    for (const state of this.#connections.keys()) state.conn.close();
    logger.info("Stopped");
  }

  /**
   * Removes the socket file only when the path still holds the socket this server
   * created (same device and inode): on APISIX reload the next runner replaces it
   * on the same path while this one is still terminating.
   */
  async #removeSocketFile(): Promise<void> {
    const { runtime, socketPath } = this.#options;
    const ours = this.#socketFile;
    if (ours === undefined) return;
    try {
      const now = await runtime.lstat(socketPath);
      if (now === undefined) return;
      if (!now.isSocket || now.dev !== ours.dev || now.ino !== ours.ino) {
        logger.info("Leaving {socketPath} in place: another socket replaced ours", { socketPath });
        return;
      }
      await runtime.removeFile(socketPath);
    } catch (error) {
      logger.warn("Cannot remove socket file {socketPath}: {error}", { socketPath, error });
    }
  }

  async #accept(listener: Listener): Promise<void> {
    try {
      for await (const conn of listener.accept()) {
        if (this.#context.stopping) {
          conn.close();
          continue;
        }
        const served = new ServedConnection(conn, this.#context);
        this.#connections.set(
          served,
          served.serve().finally(() => this.#connections.delete(served)),
        );
      }
    } catch (error) {
      if (!this.#context.stopping) logger.error("Accept loop failed: {error}", { error });
    }
  }

  #expireCalls(): void {
    const now = performance.now();
    for (const state of this.#connections.keys()) {
      if (state.deadlineAt !== 0 && state.deadlineAt <= now) {
        state.expire(this.#context.callTimeoutMs);
      }
    }
  }
}
