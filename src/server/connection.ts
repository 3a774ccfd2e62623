// Serves one APISIX connection: frames in strict order, one call at a time, ExtraInfo mid-call, error replies.
//
// Life of a call, for a newcomer:
//  1. The runtime adapter pushes the bytes it reads into this connection's FrameReader
//     (protocol/frame_reader.ts), which hands each whole frame to `#serveFrame()` synchronously,
//     from inside the socket's data callback.
//  2. PrepareConf: the confs are parsed once (plugin/phase.ts `prepareConfs`) into the
//     server's conf cache, and the token goes back.
//  3. HttpReqCall and HttpRespCall take one path, `#serveCall()`: decode, find the prepared
//     conf by token, and run the phase (plugin/phase.ts `runPhase`) on a view of the call
//     (plugin/request.ts or response.ts) with a `Call` (plugin/call.ts) as its context.
//     When every filter returns at once, the reply is encoded and written in that same
//     callback: no promise, no timer.
//  4. A filter awaiting `var()` or `body()` makes the Call ask this connection (`ask()`): an
//     ExtraInfo frame goes out and the reader's `next()` takes the answer, while later frames
//     wait. Such a call gets a deadline, watched by the server's timer.
//  5. The reply is encoded by the server's FrameEncoder (protocol/encoder.ts) and queued on
//     the connection; a failure becomes an error frame or a close (failure_policy.ts), and
//     one line per kind of failure in the log (failure_log.ts).
//  6. Once the server drains (SIGTERM), a frame is still served, and the connection ends
//     right behind its reply: APISIX sees the close before it pools the connection again.
import type { ConfCache } from "../conf/conf_cache.ts";
import {
  decodeExtraInfoResponse,
  decodeHttpReqCallRequest,
  decodeHttpRespCallRequest,
  decodePrepareConfRequest,
  type FrameEncoder,
  FrameReader,
  FrameType,
  type NameCache,
} from "../protocol/mod.ts";
import type { ExtraInfoRequest } from "../protocol/types.ts";
import { Call } from "../plugin/call.ts";
import {
  type Phase,
  REQUEST_PHASE,
  type RequestResult,
  RESPONSE_PHASE,
  type ResponseResult,
  runPhase,
} from "../plugin/phase.ts";
import { PluginConfError, UnknownPluginError } from "../plugin/errors.ts";
import { prepareConfs, type PreparedPlugin } from "../plugin/prepare.ts";
import type { PluginRegistry } from "../plugin/registry.ts";
import type { FilterObserver, ObservedCall } from "../plugin/observer.ts";
import type { ExtraInfoChannel } from "../plugin/types.ts";
import type { Connection } from "../runtime/types.ts";
import {
  ApisixDisconnectedError,
  CallDeadlineError,
  ConfTokenNotFoundError,
  ExtraInfoOutOfSyncError,
  UnexpectedFrameTypeError,
  UnknownFrameTypeError,
} from "./errors.ts";
import { logConnectionClosed, logFrameFailure } from "./failure_log.ts";
import { disconnectOf, failureResponse } from "./failure_policy.ts";
import type { FrameKind, RunnerMetrics } from "./metrics.ts";
import { clipPeerValue, type RepeatedLog } from "./repeated_log.ts";

/** What every connection of one runner shares. */
export interface ConnectionContext {
  readonly registry: PluginRegistry;
  readonly confs: ConfCache<readonly PreparedPlugin[]>;
  /** Encodes every frame the runner writes. */
  readonly encoder: FrameEncoder;
  /** Header names seen before, for the decoder. */
  readonly names: NameCache;
  readonly skipInvalidConf: boolean;
  readonly callTimeoutMs: number;
  /** Bytes a connection buffers beyond the frame it reads before it stops reading. */
  readonly readHighWaterMark?: number | undefined;
  /** Where failures a peer can repeat at will are logged, bounded. */
  readonly log: RepeatedLog;
  /** What is counted when metrics are on; `undefined` when off. */
  readonly metrics?: RunnerMetrics | undefined;
  /** Watches plugin filters (metrics, tracing); `undefined` when both are off. */
  readonly filters?: FilterObserver | undefined;
  /** True once the server drains: each connection ends right behind its next reply. */
  readonly stopping: boolean;
}

/** The reply frame of one frame, `null` to close the connection, or a promise of either. */
type _Reply = Uint8Array | null | Promise<Uint8Array | null>;

/**
 * One APISIX connection being served, visible to the server for shutdown and
 * deadlines. It is `busy` from the moment a whole frame arrived until its reply
 * is handed to the socket. It is also the ExtraInfo channel of its calls: one
 * question out, its answer in, on this connection.
 */
export class ServedConnection implements ExtraInfoChannel {
  /** The underlying connection. */
  readonly conn: Connection;
  /** Whether a frame is being handled. */
  busy = false;
  /** When the connection was accepted (ms on the monotonic `performance.now()` clock). */
  readonly openedAt: number = performance.now();
  /** When the current call must be finished (ms on the monotonic `performance.now()` clock); 0 when idle. */
  deadlineAt = 0;
  #context: ConnectionContext;
  #reader: FrameReader;
  #call: Call | undefined;
  /** The `id` of the call being handled, for log lines. */
  #requestId = 0;
  /** The conf token of the call being handled, for log lines. */
  #confToken = 0;
  /** The key of the PrepareConf being handled, for log lines. */
  #confKey: string | undefined;
  /** An ExtraInfo question is waiting for its answer. */
  #asking = false;
  /** An ExtraInfo exchange of the current call failed: the stream is out of sync. */
  #broken = false;

  /** Starts reading `conn`; the current call aborts when the peer closes. */
  constructor(conn: Connection, context: ConnectionContext) {
    this.conn = conn;
    this.#context = context;
    this.#reader = new FrameReader({
      highWaterMark: context.readHighWaterMark,
      onPause: () => conn.pause(),
      onResume: () => conn.resume(),
    });
    conn.receive(this.#reader);
    conn.closed.then(() => this.#call?.abort(new ApisixDisconnectedError("during the call")));
  }

  /** Whether no frame is being handled and none has begun to arrive. */
  get idle(): boolean {
    return !this.busy && this.#reader.buffered === 0;
  }

  /**
   * Reads and answers frames until the peer closes, the stream breaks, or the
   * reply of a frame served while draining went out. Never rejects: failures
   * close only this connection.
   */
  async serve(): Promise<void> {
    try {
      await this.#reader.serve(
        (type, payload) => this.#serveFrame(type, payload),
        (frame) => this.conn.write(frame),
      );
      // Ends behind the last reply, which may still be queued.
      await this.conn.end();
    } catch (error) {
      logConnectionClosed(this.#context.log, error);
    } finally {
      this.busy = false;
      this.conn.close();
    }
  }

  /** Aborts the current call because its deadline passed. */
  expire(timeoutMs: number): void {
    this.#call?.abort(new CallDeadlineError(timeoutMs));
  }

  /** Sends one ExtraInfo question and resolves with APISIX's answer (the Call asks one at a time). */
  async ask(question: ExtraInfoRequest): Promise<Uint8Array | undefined> {
    this.#context.metrics?.extraInfo(_EXTRA_INFO_KINDS[question.type]);
    this.#asking = true;
    try {
      const pending = this.conn.write(this.#context.encoder.extraInfoRequest(question));
      if (pending !== undefined) await pending;
      const frame = await this.#reader.next();
      if (frame === null) {
        throw new ApisixDisconnectedError("while waiting for an ExtraInfo answer");
      }
      if (frame.type !== FrameType.ExtraInfo) {
        throw new UnexpectedFrameTypeError(frame.type, "as an ExtraInfo answer");
      }
      return decodeExtraInfoResponse(frame.payload).result;
    } catch (error) {
      // The plugin may catch this, but the byte stream is no longer trustworthy: close after the call.
      this.#broken = true;
      throw error;
    } finally {
      this.#asking = false;
    }
  }

  #serveFrame(type: number, payload: Uint8Array): _Reply {
    this.busy = true;
    let reply: Uint8Array | Promise<Uint8Array>;
    try {
      switch (type) {
        case FrameType.PrepareConf:
          reply = this.#prepareConf(payload);
          break;
        case FrameType.HttpReqCall:
          reply = this.#serveCall(
            REQUEST_PHASE,
            decodeHttpReqCallRequest(payload, this.#context.names),
            this.#reqCallReply,
          );
          break;
        case FrameType.HttpRespCall:
          reply = this.#serveCall(
            RESPONSE_PHASE,
            decodeHttpRespCallRequest(payload),
            this.#respCallReply,
          );
          break;
        default:
          throw new UnknownFrameTypeError(type);
      }
    } catch (error) {
      return this.#afterWait(this.#failureReply(type, error));
    }
    if (!(reply instanceof Promise)) {
      this.#context.metrics?.frame(_frameKind(type), "ok");
      return this.#afterWait(reply);
    }
    return reply.then(
      (frame) => {
        this.#context.metrics?.frame(_frameKind(type), "ok");
        return this.#afterWait(frame);
      },
      (error) => this.#afterWait(this.#failureReply(type, error)),
    );
  }

  #prepareConf(payload: Uint8Array): Uint8Array {
    const { confs, registry, skipInvalidConf, encoder } = this.#context;
    const request = decodePrepareConfRequest(payload);
    this.#confKey = request.key;
    let prepared = false;
    // An empty key is no key: confs without one must never share a token.
    const token = confs.put(
      request.key === "" ? undefined : request.key,
      () => {
        prepared = true;
        return prepareConfs(registry, request.conf ?? [], {
          skipInvalid: skipInvalidConf,
          onSkip: this.#logSkipped,
        });
      },
    );
    this.#confKey = undefined;
    this.#context.metrics?.conf(prepared ? "prepared" : "reused_key");
    return encoder.prepareConfResponse(token);
  }

  /** One HttpReqCall or HttpRespCall: the conf by token, the phase, the reply. */
  #serveCall<Raw extends ObservedCall, View, Result>(
    phase: Phase<Raw, View, Result>,
    raw: Raw,
    reply: (id: number, result: Result) => Uint8Array,
  ): Uint8Array | Promise<Uint8Array> {
    const chain = this.#context.confs.get(raw.confToken);
    if (chain === undefined) {
      this.#context.metrics?.tokenNotFound();
      throw new ConfTokenNotFoundError(raw.confToken);
    }
    if (chain.length === 0) return reply(raw.id, phase.unchanged);
    const call = this.#call = new Call(this);
    this.#requestId = raw.id;
    this.#confToken = raw.confToken;
    const result = runPhase(phase, chain, raw, call, this.#context.filters);
    if (result instanceof Promise) {
      this.deadlineAt = performance.now() + this.#context.callTimeoutMs;
      return result.then((settled) => this.#replyInSync(reply, raw.id, settled));
    }
    return this.#replyInSync(reply, raw.id, result);
  }

  /**
   * The reply of a call whose chain finished, encoded before the call ends (so a
   * failure, a body over 0xFFFFFF bytes, is logged with the id). A question a
   * plugin left in flight (asked without awaiting) or a failed exchange it caught
   * leaves the byte stream out of sync: the connection is closed instead.
   */
  #replyInSync<Result>(
    reply: (id: number, result: Result) => Uint8Array,
    id: number,
    result: Result,
  ): Uint8Array {
    const frame = reply(id, result);
    if (this.#endCall()) throw new ExtraInfoOutOfSyncError(id);
    return frame;
  }

  #reqCallReply = (id: number, action: RequestResult): Uint8Array =>
    this.#context.encoder.httpReqCallResponse({ id, action });

  #respCallReply = (id: number, result: ResponseResult): Uint8Array =>
    this.#context.encoder.httpRespCallResponse({ id, ...result });

  /**
   * Ends the current call; returns whether an ExtraInfo exchange was left half
   * done. A call that failed gets its signal aborted with `failure`, so plugin
   * work tied to it stops too.
   */
  #endCall(failure?: unknown): boolean {
    const call = this.#call;
    if (call === undefined) return false;
    if (failure !== undefined) call.abort(failure);
    call.end();
    this.#call = undefined;
    this.deadlineAt = 0;
    this.#requestId = 0;
    this.#confToken = 0;
    const outOfSync = this.#asking || this.#broken;
    this.#broken = false;
    return outOfSync;
  }

  /** Ends a frame: its reply goes out; while draining (maybe begun meanwhile), the connection ends behind it. */
  #afterWait(frame: Uint8Array | null): _Reply {
    if (frame === null || !this.#context.stopping) {
      this.busy = false;
      return frame;
    }
    // Draining: the reply, and in this same turn the end of the connection right behind it,
    // so APISIX sees both before it pools the connection. Still busy until the end is done,
    // so the drain never closes it with the reply queued.
    // A write past the high-water mark is waited for by end(); its promise has nothing to add.
    this.conn.write(frame)?.catch(() => {});
    return this.conn.end().then(() => null);
  }

  /** The error frame for a failed frame, or `null` when the connection must be closed. */
  #failureReply(type: number, error: unknown): Uint8Array | null {
    const requestId = this.#requestId;
    const confToken = this.#confToken;
    const confKey = this.#confKey;
    this.#confKey = undefined;
    const outOfSync = this.#endCall(disconnectOf(error) ?? error);
    const failure = failureResponse(error);
    const metrics = this.#context.metrics;
    if (failure.kind === "close" || outOfSync) {
      metrics?.frame(_frameKind(type), "closed");
      logConnectionClosed(this.#context.log, error);
      return null;
    }
    if (metrics !== undefined) {
      metrics.frame(_frameKind(type), "error");
      if (error instanceof UnknownPluginError) metrics.conf("unknown_plugin");
      else if (error instanceof PluginConfError) metrics.conf("bad_conf");
    }
    logFrameFailure(this.#context.log, error, failure.code, {
      type,
      requestId,
      confToken,
      confKey,
    });
    return this.#context.encoder.errorResponse(failure.code);
  }

  #logSkipped = (error: Error): void => {
    const plugin = clipPeerValue(String((error as { pluginName?: unknown }).pluginName ?? "-"));
    this.#context.log.log(
      `Conf entries skipped (${error.name}, plugin ${plugin})`,
      "warning",
      "Skipping conf entry: {reason}",
      { reason: clipPeerValue(error.message), plugin },
    );
  };
}

const _EXTRA_INFO_KINDS = { var: "var", reqBody: "req_body", respBody: "resp_body" } as const;

function _frameKind(type: number): FrameKind {
  switch (type) {
    case FrameType.PrepareConf:
      return "prepare_conf";
    case FrameType.HttpReqCall:
      return "http_req_call";
    case FrameType.HttpRespCall:
      return "http_resp_call";
    default:
      return "unknown";
  }
}
