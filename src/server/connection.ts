// Serves one APISIX connection: frames in strict order, ExtraInfo questions mid-call, error replies.
import { getLogger } from "@logtape/logtape";
import {
  decodeExtraInfoResponse,
  decodeHttpReqCallRequest,
  decodeHttpRespCallRequest,
  decodePrepareConfRequest,
  encodeErrorResponseFrame,
  encodeExtraInfoRequestFrame,
  encodeHttpReqCallResponseFrame,
  encodeHttpRespCallResponseFrame,
  encodePrepareConfResponseFrame,
} from "../protocol/mod.ts";
import {
  type Action,
  type ExtraInfoRequest,
  FrameType,
  type HttpRespCallResponse,
} from "../protocol/types.ts";
import type { Connection } from "../runtime/types.ts";
import type { ConfCache } from "../conf/conf_cache.ts";
import {
  type CallOptions,
  type ExtraInfoChannel,
  prepareConfs,
  type PreparedPlugin,
  runRequestChain,
  runResponseChain,
} from "../plugin/chain.ts";
import type { PluginRegistry } from "../plugin/registry.ts";
import {
  CallDeadlineError,
  ConfTokenNotFoundError,
  ConnectionClosedError,
  ExtraInfoOutOfSyncError,
  UnexpectedFrameTypeError,
  UnknownFrameTypeError,
} from "./errors.ts";
import { failureResponse } from "./failure_policy.ts";

const logger = getLogger(["apisix-runner", "server"]);

/** What every connection of one runner shares. */
export interface ConnectionContext {
  readonly registry: PluginRegistry;
  readonly confs: ConfCache<readonly PreparedPlugin[]>;
  readonly skipInvalidConf: boolean;
  readonly callTimeoutMs: number;
  /** True once shutdown began: finish the current call, then close. */
  readonly stopping: boolean;
}

/**
 * The state of one connection, visible to the server for shutdown and deadlines.
 * A connection is `busy` from the moment a whole frame arrived until its reply is handed to
 * the socket.
 */
export class ConnectionState {
  /** The underlying connection. */
  readonly conn: Connection;
  /** Whether a frame is being handled. */
  busy = false;
  /** The `id` of the call being handled, for log lines. */
  requestId = 0;
  /** When the current call must be finished (ms on the monotonic `performance.now()` clock); 0 when idle. */
  deadlineAt = 0;
  #call: _CallChannel | undefined;

  /** Wraps `conn`; aborts the current call when the peer closes. */
  constructor(conn: Connection) {
    this.conn = conn;
    conn.closed.then(() => this.#call?.abort(new ConnectionClosedError("during the call")));
  }

  /** Aborts the current call because its deadline passed. */
  expire(timeoutMs: number): void {
    this.#call?.abort(new CallDeadlineError(timeoutMs));
  }

  /**
   * Starts a call: a fresh signal and ExtraInfo channel that die when the call ends.
   * Its deadline starts with {@linkcode ConnectionState.startDeadline}.
   */
  beginCall(): _CallChannel {
    return this.#call = new _CallChannel(this.conn);
  }

  /**
   * Starts the deadline of the current call. Only a call that waits needs one:
   * a chain that returns synchronously is over before any timer could fire.
   */
  startDeadline(timeoutMs: number): void {
    this.deadlineAt = performance.now() + timeoutMs;
  }

  /**
   * Ends the call; returns whether an ExtraInfo exchange was left half done. A call
   * that failed gets its signal aborted with `failure`, so plugin work tied to it
   * stops too (e.g. APISIX closed the connection and the ExtraInfo read saw it
   * before the connection's `closed` did).
   */
  endCall(failure?: unknown): boolean {
    const channel = this.#call;
    if (failure !== undefined) channel?.abort(failure);
    this.#call = undefined;
    this.deadlineAt = 0;
    this.requestId = 0;
    return channel?.finish() ?? false;
  }
}

/**
 * One call's options for the chain: its ExtraInfo channel (questions go out one
 * at a time on the call's connection) and its abort signal. The AbortController
 * behind the signal is created on first use: most calls finish synchronously
 * and never need one (it costs ~0.3 µs on Bun, ~3 µs on Node).
 */
class _CallChannel implements ExtraInfoChannel, CallOptions {
  #conn: Connection;
  #active = true;
  #inFlight = false;
  #broken = false;
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown = undefined;
  #abortListeners: (() => void)[] | undefined;

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  get extraInfo(): ExtraInfoChannel {
    return this;
  }

  get signal(): AbortSignal {
    let controller = this.#controller;
    if (controller === undefined) {
      controller = this.#controller = new AbortController();
      if (this.#aborted) controller.abort(this.#reason);
    }
    return controller.signal;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  onAbort(listener: () => void): () => void {
    const listeners = this.#abortListeners ??= [];
    listeners.push(listener);
    return () => {
      const i = listeners.indexOf(listener);
      if (i !== -1) listeners.splice(i, 1);
    };
  }

  /** Aborts the call's signal with `reason` (the first reason wins). */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    const listeners = this.#abortListeners;
    this.#abortListeners = undefined;
    if (listeners !== undefined) { for (const listener of listeners) listener(); }
  }

  async ask(question: ExtraInfoRequest): Promise<Uint8Array | undefined> {
    if (!this.#active) throw new ConnectionClosedError("after the call ended");
    if (this.#inFlight) throw new Error("ExtraInfo questions of one call must not overlap");
    this.#inFlight = true;
    const conn = this.#conn;
    try {
      await conn.write([encodeExtraInfoRequestFrame(question)]);
      // Header and payload with one promise (the same results as two readExactly() calls).
      const frame = await conn.readFrame();
      if (frame === null) throw new ConnectionClosedError("while waiting for an ExtraInfo answer");
      const answer = frame.payload;
      if (answer === null) throw new ConnectionClosedError("in an ExtraInfo answer");
      if (frame.type !== FrameType.ExtraInfo) {
        throw new UnexpectedFrameTypeError(frame.type, "as an ExtraInfo answer");
      }
      if (!this.#active) throw new ConnectionClosedError("after the call ended");
      return decodeExtraInfoResponse(answer).result;
    } catch (error) {
      // The plugin may catch this, but the byte stream is no longer trustworthy: close after the call.
      this.#broken = true;
      throw error;
    } finally {
      this.#inFlight = false;
    }
  }

  /**
   * Closes the channel; returns whether the connection is out of sync: a question was
   * still waiting for its answer, or an exchange failed (closed, wrong type, undecodable).
   */
  finish(): boolean {
    this.#active = false;
    return this.#inFlight || this.#broken;
  }
}

/**
 * Reads and answers frames on `state.conn` until the peer closes, the stream breaks,
 * or shutdown begins. Never throws: failures close only this connection.
 *
 * Frames are served push-style ({@linkcode Connection.serveFrames}): a call
 * whose filters all return synchronously is decoded, run, encoded and written
 * from inside the socket's data callback, with no promise on the way.
 */
export async function serveConnection(
  state: ConnectionState,
  context: ConnectionContext,
): Promise<void> {
  const conn = state.conn;
  try {
    if (!context.stopping) {
      await conn.serveFrames((type, payload) => _answerFrame(state, context, type, payload));
    }
  } catch (error) {
    logger.warn("Closing connection after a read failure: {error}", { error });
  } finally {
    state.busy = false;
    conn.close();
  }
}

/** The reply frame of one frame, `null` to close the connection, or a promise of either. */
type _Reply = Uint8Array | null | Promise<Uint8Array | null>;

function _answerFrame(
  state: ConnectionState,
  context: ConnectionContext,
  type: number,
  payload: Uint8Array,
): _Reply {
  // Once shutdown began, frames that were not yet being handled are not served.
  if (context.stopping) return null;
  state.busy = true;
  let reply: Uint8Array | Promise<Uint8Array>;
  try {
    switch (type) {
      case FrameType.PrepareConf:
        reply = _prepareConf(context, payload);
        break;
      case FrameType.HttpReqCall:
        reply = _httpReqCall(state, context, payload);
        break;
      case FrameType.HttpRespCall:
        reply = _httpRespCall(state, context, payload);
        break;
      default:
        throw new UnknownFrameTypeError(type);
    }
  } catch (error) {
    state.busy = false;
    return _failureReply(state, type, error);
  }
  if (!(reply instanceof Promise)) {
    state.busy = false;
    return reply;
  }
  return reply.then(
    (frame) => _afterWait(state, context, frame),
    (error) => _afterWait(state, context, _failureReply(state, type, error)),
  );
}

/** Ends a call that had to wait; shutdown may have begun meanwhile. */
function _afterWait(
  state: ConnectionState,
  context: ConnectionContext,
  frame: Uint8Array | null,
): _Reply {
  if (frame === null || !context.stopping) {
    state.busy = false;
    return frame;
  }
  // Shutdown began during the call: the reply still goes out, then the connection closes.
  return state.conn.write([frame]).then(() => {
    state.busy = false;
    return null;
  });
}

/** The error frame for a failed frame, or `null` when the connection must be closed. */
function _failureReply(state: ConnectionState, type: number, error: unknown): Uint8Array | null {
  const requestId = state.requestId;
  const halfDoneExchange = state.endCall(_abortReason(error));
  const failure = failureResponse(error);
  if (failure.kind === "close" || halfDoneExchange || _isClosedConnection(error)) {
    logger.warn("Closing connection: {error}", { error, frameType: type });
    return null;
  }
  _logCallFailure(error, type, requestId);
  return encodeErrorResponseFrame({ code: failure.code });
}

function _abortReason(error: unknown): unknown {
  if (error instanceof Error && error.cause instanceof ConnectionClosedError) return error.cause;
  return error;
}

function _isClosedConnection(error: unknown): boolean {
  return error instanceof ConnectionClosedError ||
    (error instanceof Error && error.cause instanceof ConnectionClosedError);
}

function _logCallFailure(error: unknown, frameType: number, requestId: number): void {
  if (error instanceof ConfTokenNotFoundError) {
    logger.info("{message}", { message: error.message, token: error.token });
    return;
  }
  const plugin = (error as { pluginName?: unknown }).pluginName;
  logger.error("Frame of type {frameType} failed (request {requestId}, plugin {plugin}): {error}", {
    error,
    frameType,
    plugin,
    requestId,
  });
}

function _prepareConf(context: ConnectionContext, payload: Uint8Array): Uint8Array {
  const request = decodePrepareConfRequest(payload);
  // An empty key is no key: confs without one must never share a token.
  const token = context.confs.put(
    request.key === "" ? undefined : request.key,
    () =>
      prepareConfs(context.registry, request.conf ?? [], {
        skipInvalid: context.skipInvalidConf,
      }),
  );
  return encodePrepareConfResponseFrame({ confToken: token });
}

function _httpReqCall(
  state: ConnectionState,
  context: ConnectionContext,
  payload: Uint8Array,
): Uint8Array | Promise<Uint8Array> {
  const request = decodeHttpReqCallRequest(payload);
  const chain = context.confs.get(request.confToken);
  if (chain === undefined) throw new ConfTokenNotFoundError(request.confToken);
  if (chain.length === 0) return encodeHttpReqCallResponseFrame({ id: request.id });
  const channel = state.beginCall();
  state.requestId = request.id;
  const action = runRequestChain(chain, request, channel);
  if (action instanceof Promise) {
    state.startDeadline(context.callTimeoutMs);
    return action.then((settled) => _httpReqCallReply(state, request.id, settled));
  }
  return _httpReqCallReply(state, request.id, action);
}

function _httpReqCallReply(
  state: ConnectionState,
  id: number,
  action: Action | undefined,
): Uint8Array {
  // Encoded before the call ends, so a failure (a body over 0xFFFFFF bytes) is logged with the id.
  const reply = encodeHttpReqCallResponseFrame({ id, action });
  _endCallInSync(state);
  return reply;
}

function _httpRespCall(
  state: ConnectionState,
  context: ConnectionContext,
  payload: Uint8Array,
): Uint8Array | Promise<Uint8Array> {
  const request = decodeHttpRespCallRequest(payload);
  const chain = context.confs.get(request.confToken);
  if (chain === undefined) throw new ConfTokenNotFoundError(request.confToken);
  if (chain.length === 0) return encodeHttpRespCallResponseFrame({ id: request.id });
  const channel = state.beginCall();
  state.requestId = request.id;
  const result = runResponseChain(chain, request, channel);
  if (result instanceof Promise) {
    state.startDeadline(context.callTimeoutMs);
    return result.then((settled) => _httpRespCallReply(state, request.id, settled));
  }
  return _httpRespCallReply(state, request.id, result);
}

function _httpRespCallReply(
  state: ConnectionState,
  id: number,
  result: Omit<HttpRespCallResponse, "id">,
): Uint8Array {
  const reply = encodeHttpRespCallResponseFrame({ id, ...result });
  _endCallInSync(state);
  return reply;
}

/**
 * Ends a call whose chain finished. A question a plugin left in flight (asked
 * without awaiting) or a failed exchange it caught leaves the byte stream out of
 * sync: the connection is closed instead of answered.
 */
function _endCallInSync(state: ConnectionState): void {
  const requestId = state.requestId;
  if (state.endCall()) throw new ExtraInfoOutOfSyncError(requestId);
}
