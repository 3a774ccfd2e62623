// The runner server: owns the listener, the conf cache, every connection, deadlines and shutdown.
import { getLogger } from "@logtape/logtape";
import { type Clock, ConfCache } from "../conf/conf_cache.ts";
import { FrameEncoder, NameCache } from "../protocol/mod.ts";
import { combineObservers, type FilterObserver } from "../plugin/observer.ts";
import type { PreparedPlugin } from "../plugin/prepare.ts";
import type { PluginRegistry } from "../plugin/registry.ts";
import type { Listener, PathInfo, SocketRuntime } from "../runtime/types.ts";
import { type ConnectionContext, ServedConnection } from "./connection.ts";
import type { RunnerMetrics } from "./metrics.ts";
import { RepeatedLog } from "./repeated_log.ts";
import { listenFailure, prepareSocketPath } from "./socket_path.ts";

const logger = getLogger(["apisix-runner", "server"]);

/** Default time a filter chain may take: APISIX itself gives up after 60 s. */
export const DEFAULT_CALL_TIMEOUT_MS = 55_000;
/** Default time in-flight calls get to finish on shutdown: APISIX kills after 1 s. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 800;
/** Mode of the socket file: nginx workers often run as another user than the runner. */
export const DEFAULT_SOCKET_MODE = 0o766;
/**
 * While draining, a connection that stayed idle this long is closed (100 ms). APISIX's
 * pool hands out the most recently pooled connection first, so one left idle under load
 * sits at the bottom and is the least likely to be taken at the moment it closes.
 */
export const DRAIN_IDLE_CLOSE_MS = 100;

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
  /** Summary window of repeated failure logs in ms (tests); see `repeated_log.ts`. */
  logSummaryIntervalMs?: number;
  /** Counts what the server does (`--metrics-listen`); none by default. */
  metrics?: RunnerMetrics;
  /** Watches plugin filters, e.g. tracing (`--otel`); the metrics' own observer is added. */
  filters?: FilterObserver;
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
      log: new RepeatedLog(logger, { intervalMs: options.logSummaryIntervalMs }),
      metrics: options.metrics,
      filters: _observerOf(options),
      stopping: false,
    };
    options.metrics?.observe({
      connections: () => this.#connections.size,
      confs: () => this.#context.confs.size,
    });
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Number of live conf tokens (expired ones may count until the next sweep). */
  get confCount(): number {
    return this.#context.confs.size;
  }

  /**
   * Checks the socket path, listens (taking over from a runner still serving the
   * path, or replacing a stale socket), and starts accepting connections.
   *
   * @throws {SocketPathTooLongError | SocketDirectoryMissingError | SocketPathOccupiedError | SocketListenError}
   *   each naming the path, never the private staging directory.
   */
  async start(): Promise<void> {
    const { runtime, socketPath } = this.#options;
    const state = await prepareSocketPath(runtime, socketPath);
    try {
      this.#listener = await runtime.listenUnix(socketPath, {
        mode: this.#options.socketMode ?? DEFAULT_SOCKET_MODE,
        replace: state !== "free",
      });
    } catch (error) {
      throw await listenFailure(runtime, socketPath, error);
    }
    const created = await runtime.lstat(socketPath);
    if (created?.isSocket) this.#socketFile = { dev: created.dev, ino: created.ino };
    this.#acceptLoop = this.#accept(this.#listener);
    const timeoutMs = this.#context.callTimeoutMs;
    this.#deadlineTimer = setInterval(
      () => {
        this.#expireCalls();
        this.#context.log.tick();
      },
      Math.max(10, Math.min(250, Math.floor(timeoutMs / 4))),
    );
    logger.info("Listening on unix:{socketPath}", { socketPath, runtime: runtime.name });
  }

  /**
   * Drains and stops, within `graceMs`. Removes the socket file if it is still
   * the one this server created (on an APISIX reload the next runner already
   * replaced it). Every connection goes on serving, but ends right behind its
   * next reply, so APISIX drops it instead of pooling it. For
   * {@linkcode DRAIN_IDLE_CLOSE_MS} the listener still accepts (what APISIX
   * connected before the path changed hands is served too); then it closes,
   * and so does each connection once idle that long. A call in flight
   * finishes unless `graceMs` runs out first; then everything left is closed.
   * Idempotent.
   */
  shutdown(graceMs: number = DEFAULT_SHUTDOWN_GRACE_MS): Promise<void> {
    this.#shutdown ??= this.#stop(graceMs);
    return this.#shutdown;
  }

  async #stop(graceMs: number): Promise<void> {
    const started = performance.now();
    const deadline = started + graceMs;
    this.#context.stopping = true;
    // Before closing the listener: while it is open its inode cannot be reused by a new file.
    await this.#removeSocketFile();
    let busy = 0;
    for (const served of this.#connections.keys()) if (!served.idle) busy++;
    logger.info(
      "Draining: {busy} call(s) in flight on {connections} connection(s), for up to {graceMs} ms",
      {
        connections: this.#connections.size,
        busy,
        graceMs,
      },
    );
    await this.#drain(started, deadline);
    await this.#closeListener();
    const left = this.#connections.size;
    for (const served of this.#connections.keys()) served.conn.close();
    clearInterval(this.#deadlineTimer);
    this.#context.log.flush();
    logger.info("Stopped{left}", {
      left: left === 0 ? "" : ` (${left} connection(s) cut at the deadline)`,
    });
  }

  /**
   * Waits until the listener is closed and every connection ended (behind a
   * reply, or closed by the peer), or until `deadline`. From
   * {@linkcode DRAIN_IDLE_CLOSE_MS} after `started` the listener is closed and
   * idle connections are too, each once open that long: a connection that got
   * a frame ends behind its reply, so one idle then is one APISIX left in its
   * pool, under load at the bottom of it.
   */
  async #drain(started: number, deadline: number): Promise<void> {
    const quietAt = Math.min(deadline, started + DRAIN_IDLE_CLOSE_MS);
    for (;;) {
      const now = performance.now();
      if (now >= deadline) return;
      if (now >= quietAt) {
        await this.#closeListener();
        for (const served of this.#connections.keys()) {
          if (served.idle && now - served.openedAt >= DRAIN_IDLE_CLOSE_MS) served.conn.close();
        }
        if (this.#connections.size === 0) return;
      }
      const wakeAt = now < quietAt ? quietAt : Math.min(deadline, now + 20);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        ...this.#connections.values(),
        new Promise<void>((resolve) => timer = setTimeout(resolve, wakeAt - now)),
      ]);
      clearTimeout(timer);
    }
  }

  /** Stops accepting; connections accepted until then are served. */
  async #closeListener(): Promise<void> {
    await this.#listener?.close();
    await this.#acceptLoop;
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
      // While draining too: APISIX connected before the socket path changed hands.
      for await (const conn of listener.accept()) {
        this.#context.metrics?.connectionOpened();
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

/** The filter observer of the metrics and the one given, as one; `undefined` when none. */
function _observerOf(options: RunnerServerOptions): FilterObserver | undefined {
  const observers = [options.metrics?.filters, options.filters].filter((o) => o !== undefined);
  return observers.length === 0 ? undefined : combineObservers(observers);
}
