// Serves one APISIX connection: frames in strict order, ExtraInfo questions mid-call, error replies.
import { getLogger } from "@logtape/logtape";
import {
  decodeExtraInfoResponse,
  decodeHttpReqCallRequest,
  decodeHttpRespCallRequest,
  decodePrepareConfRequest,
  encodeErrorResponse,
  encodeExtraInfoRequest,
  encodeFrameHeader,
  encodeHttpReqCallResponse,
  encodeHttpRespCallResponse,
  encodePrepareConfResponse,
} from "../protocol/mod.ts";
import { type ExtraInfoRequest, FRAME_HEADER_SIZE, FrameType } from "../protocol/types.ts";
import type { Connection } from "../runtime/types.ts";
import type { ConfCache } from "../conf/conf_cache.ts";
import {
  type ExtraInfoChannel,
  prepareConfs,
  type PreparedPlugin,
  runRequestFilters,
  runResponseFilters,
} from "../plugin/chain.ts";
import type { PluginRegistry } from "../plugin/registry.ts";
import {
  CallDeadlineError,
  ConfTokenNotFoundError,
  ConnectionClosedError,
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
 * A connection is `busy` from the moment a frame header arrived until its reply is written.
 */
export class ConnectionState {
  /** The underlying connection. */
  readonly conn: Connection;
  /** Whether a frame is being handled. */
  busy = false;
  /** The `id` of the call being handled, for log lines. */
  requestId = 0;
  /** When the current call must be finished (ms, clock of `Date.now()`); 0 when idle. */
  deadlineAt = 0;
  #call: AbortController | undefined;
  #ioChannel: _CallChannel | undefined;

  /** Wraps `conn`; aborts the current call when the peer closes. */
  constructor(conn: Connection) {
    this.conn = conn;
    conn.closed.then(() => this.#call?.abort(new ConnectionClosedError("during the call")));
  }

  /** Aborts the current call because its deadline passed. */
  expire(timeoutMs: number): void {
    this.#call?.abort(new CallDeadlineError(timeoutMs));
  }

  /** Starts a call: a fresh signal and ExtraInfo channel that die when the call ends. */
  beginCall(timeoutMs: number): _CallChannel {
    this.#call = new AbortController();
    this.deadlineAt = Date.now() + timeoutMs;
    this.#ioChannel = new _CallChannel(this.conn, this.#call.signal);
    return this.#ioChannel;
  }

  /** Ends the call; returns whether an ExtraInfo exchange was left half done. */
  endCall(): boolean {
    const channel = this.#ioChannel;
    this.#call = undefined;
    this.#ioChannel = undefined;
    this.deadlineAt = 0;
    this.requestId = 0;
    return channel?.finish() ?? false;
  }
}

/** The ExtraInfo channel of one call: questions go out one at a time on the call's connection. */
class _CallChannel implements ExtraInfoChannel {
  readonly signal: AbortSignal;
  #conn: Connection;
  #active = true;
  #inFlight = false;

  constructor(conn: Connection, signal: AbortSignal) {
    this.#conn = conn;
    this.signal = signal;
  }

  async ask(question: ExtraInfoRequest): Promise<Uint8Array | undefined> {
    if (!this.#active) throw new ConnectionClosedError("after the call ended");
    if (this.#inFlight) throw new Error("ExtraInfo questions of one call must not overlap");
    this.#inFlight = true;
    try {
      const payload = encodeExtraInfoRequest(question);
      await this.#conn.write([encodeFrameHeader(FrameType.ExtraInfo, payload.length), payload]);
      const header = await this.#conn.readExactly(FRAME_HEADER_SIZE);
      if (header === null) throw new ConnectionClosedError("while waiting for an ExtraInfo answer");
      const length = (header[1] << 16) | (header[2] << 8) | header[3];
      const answer = await this.#conn.readExactly(length);
      if (answer === null) throw new ConnectionClosedError("in an ExtraInfo answer");
      if (header[0] !== FrameType.ExtraInfo) {
        throw new UnexpectedFrameTypeError(header[0], "as an ExtraInfo answer");
      }
      if (!this.#active) throw new ConnectionClosedError("after the call ended");
      return decodeExtraInfoResponse(answer).result;
    } finally {
      this.#inFlight = false;
    }
  }

  /** Closes the channel; returns whether a question was still waiting for its answer. */
  finish(): boolean {
    this.#active = false;
    return this.#inFlight;
  }
}

/**
 * Reads and answers frames on `state.conn` until the peer closes, the stream breaks,
 * or shutdown begins. Never throws: failures close only this connection.
 */
export async function serveConnection(
  state: ConnectionState,
  context: ConnectionContext,
): Promise<void> {
  const conn = state.conn;
  try {
    while (!context.stopping) {
      const header = await conn.readExactly(FRAME_HEADER_SIZE);
      if (header === null) break;
      state.busy = true;
      const type = header[0];
      const length = (header[1] << 16) | (header[2] << 8) | header[3];
      const payload = await conn.readExactly(length);
      if (payload === null) break;
      const keepOpen = await _answerFrame(state, context, type, payload);
      state.busy = false;
      if (!keepOpen) break;
    }
  } catch (error) {
    logger.warn("Closing connection after a read failure: {error}", { error });
  } finally {
    state.busy = false;
    conn.close();
  }
}

// Returns false when the connection must be closed.
async function _answerFrame(
  state: ConnectionState,
  context: ConnectionContext,
  type: number,
  payload: Uint8Array,
): Promise<boolean> {
  let replyType: number = type;
  let reply: Uint8Array;
  try {
    switch (type) {
      case FrameType.PrepareConf:
        reply = _prepareConf(context, payload);
        break;
      case FrameType.HttpReqCall:
        reply = await _httpReqCall(state, context, payload);
        break;
      case FrameType.HttpRespCall:
        reply = await _httpRespCall(state, context, payload);
        break;
      default:
        throw new UnknownFrameTypeError(type);
    }
  } catch (error) {
    const requestId = state.requestId;
    const halfDoneExchange = state.endCall();
    const failure = failureResponse(error);
    if (failure.kind === "close" || halfDoneExchange || _isClosedConnection(error)) {
      logger.warn("Closing connection: {error}", { error, frameType: type });
      return false;
    }
    _logCallFailure(error, type, requestId);
    replyType = FrameType.Error;
    reply = encodeErrorResponse({ code: failure.code });
  }
  await state.conn.write([encodeFrameHeader(replyType, reply.length), reply]);
  return true;
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
  const token = context.confs.put(
    request.key,
    () =>
      prepareConfs(context.registry, request.conf ?? [], {
        skipInvalid: context.skipInvalidConf,
      }),
  );
  return encodePrepareConfResponse({ confToken: token });
}

async function _httpReqCall(
  state: ConnectionState,
  context: ConnectionContext,
  payload: Uint8Array,
): Promise<Uint8Array> {
  const request = decodeHttpReqCallRequest(payload);
  const chain = context.confs.get(request.confToken);
  if (chain === undefined) throw new ConfTokenNotFoundError(request.confToken);
  if (chain.length === 0) return encodeHttpReqCallResponse({ id: request.id });
  const channel = state.beginCall(context.callTimeoutMs);
  state.requestId = request.id;
  const action = await runRequestFilters(chain, request, {
    extraInfo: channel,
    signal: channel.signal,
  });
  state.endCall();
  return encodeHttpReqCallResponse({ id: request.id, action });
}

async function _httpRespCall(
  state: ConnectionState,
  context: ConnectionContext,
  payload: Uint8Array,
): Promise<Uint8Array> {
  const request = decodeHttpRespCallRequest(payload);
  const chain = context.confs.get(request.confToken);
  if (chain === undefined) throw new ConfTokenNotFoundError(request.confToken);
  if (chain.length === 0) return encodeHttpRespCallResponse({ id: request.id });
  const channel = state.beginCall(context.callTimeoutMs);
  state.requestId = request.id;
  const result = await runResponseFilters(chain, request, {
    extraInfo: channel,
    signal: channel.signal,
  });
  state.endCall();
  return encodeHttpRespCallResponse({ id: request.id, ...result });
}
