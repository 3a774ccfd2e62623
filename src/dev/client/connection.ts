// Client side of one APISIX→runner connection: PrepareConf, HTTP calls and APISIX's ExtraInfo loop.

import {
  decodeErrorResponse,
  decodeExtraInfoRequest,
  decodeHttpReqCallResponse,
  decodeHttpRespCallResponse,
  decodePrepareConfResponse,
  encodeExtraInfoResponse,
  encodeFrame,
  encodeHttpReqCallRequest,
  encodeHttpRespCallRequest,
  encodePrepareConfRequest,
  type Frame,
  FrameReader,
} from "../../protocol/mod.ts";
import {
  errorCodeName,
  type ExtraInfoRequest,
  FrameType,
  type HttpReqCallRequest,
  type HttpReqCallResponse,
  type HttpRespCallRequest,
  type HttpRespCallResponse,
  type TextEntry,
} from "../../protocol/types.ts";
import type { Connection, SocketRuntime } from "../../runtime/types.ts";

/** One raw frame as read from the runner. */
export type RawFrame = Frame;

/**
 * Answers an ExtraInfo question the way APISIX would: the bytes of the var or
 * body, or `undefined` for "absent" (unknown var, no body).
 */
export type ExtraInfoAnswerer = (
  question: ExtraInfoRequest,
) => Uint8Array | undefined | Promise<Uint8Array | undefined>;

/**
 * How a call ended: the runner's final reply, or an error frame (type 0) with
 * its code. `questions` lists the ExtraInfo questions asked before, in order.
 */
export type CallOutcome<R> =
  | {
    readonly kind: "reply";
    readonly response: R;
    readonly questions: readonly ExtraInfoRequest[];
  }
  | {
    readonly kind: "error";
    readonly code: number;
    readonly questions: readonly ExtraInfoRequest[];
  };

/** Outcome of an HTTPReqCall (frame type 2). */
export type ReqCallOutcome = CallOutcome<HttpReqCallResponse>;

/** Outcome of an HTTPRespCall (frame type 4). */
export type RespCallOutcome = CallOutcome<HttpRespCallResponse>;

/** The runner replied with a frame type APISIX does not accept at that point. */
export class UnexpectedReplyTypeError extends Error {
  /** The type APISIX waited for. */
  readonly expected: number;
  /** The type the runner sent. */
  readonly actual: number;
  /** `expected` is the reply type waited for, `actual` the one received. */
  constructor(expected: number, actual: number) {
    super(`Expected a reply of frame type ${expected} from the runner, got type ${actual}`);
    this.name = "UnexpectedReplyTypeError";
    this.expected = expected;
    this.actual = actual;
  }
}

/** The runner closed the connection (cleanly, at a frame boundary) before the reply came. */
export class RunnerClosedError extends Error {
  /** The frame type whose reply was awaited. */
  readonly awaited: number;
  /** `awaited` is the frame type whose reply was awaited. */
  constructor(awaited: number) {
    super(`Runner closed the connection before replying to frame type ${awaited}`);
    this.name = "RunnerClosedError";
    this.awaited = awaited;
  }
}

/** The runner answered a PrepareConf with an error frame. */
export class PrepareConfError extends Error {
  /** The `A6.Err.Code` of the error frame. */
  readonly code: number;
  /** The PrepareConf key that failed. */
  readonly key: string;
  /** `code` is the error frame's code, `key` the PrepareConf key sent. */
  constructor(code: number, key: string) {
    super(
      `PrepareConf for route key "${key}" failed: the runner answered ${
        errorCodeName(code)
      } (code ${code})`,
    );
    this.name = "PrepareConfError";
    this.code = code;
    this.key = key;
  }
}

/** A second exchange was started on an {@linkcode ApisixConnection} while one was running. */
export class ConnectionBusyError extends Error {
  /** `type` is the frame type of the exchange that was refused. */
  constructor(type: number) {
    super(
      `Cannot start an exchange of frame type ${type}: the connection is busy (exchanges are sequential)`,
    );
    this.name = "ConnectionBusyError";
  }
}

const NO_QUESTIONS: readonly ExtraInfoRequest[] = Object.freeze([]);

function _answerAbsent(): undefined {
  return undefined;
}

/**
 * The APISIX end of one connection to the runner. Exchanges are strictly
 * sequential, as on a real APISIX socket; during a call every type-3 frame is
 * an ExtraInfo question that gets answered, and the first other frame is the
 * final reply (docs/PROTOCOL.md §3.3). Error frames come back as outcomes; any other
 * failure (wrong reply type, close, undecodable payload) rejects, after which
 * the connection should be closed, as APISIX does.
 *
 * @example
 * ```ts
 * const conn = await ApisixConnection.connect(runtime, "/tmp/runner.sock");
 * const token = await conn.prepareConf([{ name: "say", value: "{}" }], "route#1#ext-plugin-pre-req#1");
 * const outcome = await conn.httpReqCall({
 *   id: 1, srcIp: undefined, method: 0, path: "/", args: [], headers: [], confToken: token,
 * });
 * conn.close();
 * ```
 */
export class ApisixConnection {
  #conn: Connection;
  #reader: FrameReader;
  #busy = false;
  #closed = false;

  /** Wraps an open connection to the runner. */
  constructor(conn: Connection) {
    this.#conn = conn;
    this.#reader = new FrameReader({
      onPause: () => conn.pause(),
      onResume: () => conn.resume(),
    });
    const reader = this.#reader;
    // Closed as soon as the runner's end of stream arrives, not only once the socket is torn down.
    conn.receive({
      push: (bytes, start, end) => reader.push(bytes, start, end),
      end: () => {
        this.#closed = true;
        reader.end();
      },
      fail: (error) => {
        this.#closed = true;
        reader.fail(error);
      },
    });
    conn.closed.then(() => {
      this.#closed = true;
    });
  }

  /** Connects to the runner's socket at `path`. */
  static async connect(
    runtime: Pick<SocketRuntime, "connectUnix">,
    path: string,
  ): Promise<ApisixConnection> {
    return new ApisixConnection(await runtime.connectUnix(path));
  }

  /** Whether the connection was closed, by either side, or the runner's end of stream arrived. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves once the connection is closed, by either side. */
  get whenClosed(): Promise<void> {
    return this.#conn.closed;
  }

  /** Closes the connection. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#conn.close();
  }

  /**
   * Sends a PrepareConf (type 1) and returns the token. Only a type-1 reply
   * is accepted (docs/PROTOCOL.md §3.1).
   *
   * @throws {PrepareConfError} when the runner answered an error frame.
   * @throws {UnexpectedReplyTypeError} for any other reply type, ExtraInfo included.
   */
  async prepareConf(conf: readonly TextEntry[] | undefined, key: string): Promise<number> {
    this.#enter(FrameType.PrepareConf);
    try {
      await this.sendFrame(FrameType.PrepareConf, encodePrepareConfRequest({ conf, key }));
      const frame = await this.#readReply(FrameType.PrepareConf);
      if (frame.type === FrameType.Error) {
        throw new PrepareConfError(decodeErrorResponse(frame.payload).code, key);
      }
      if (frame.type !== FrameType.PrepareConf) {
        throw new UnexpectedReplyTypeError(FrameType.PrepareConf, frame.type);
      }
      return decodePrepareConfResponse(frame.payload).confToken;
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Sends an HTTPReqCall (type 2), answers ExtraInfo questions with `answer`
   * (default: every answer absent), and returns the final reply or error code.
   *
   * @throws {UnexpectedReplyTypeError} when the final frame is neither type 2 nor 0.
   */
  httpReqCall(req: HttpReqCallRequest, answer?: ExtraInfoAnswerer): Promise<ReqCallOutcome> {
    return this.#call(
      FrameType.HttpReqCall,
      encodeHttpReqCallRequest(req),
      answer,
      decodeHttpReqCallResponse,
    );
  }

  /**
   * Sends an HTTPRespCall (type 4), answers ExtraInfo questions with `answer`
   * (default: every answer absent), and returns the final reply or error code.
   *
   * @throws {UnexpectedReplyTypeError} when the final frame is neither type 4 nor 0.
   */
  httpRespCall(req: HttpRespCallRequest, answer?: ExtraInfoAnswerer): Promise<RespCallOutcome> {
    return this.#call(
      FrameType.HttpRespCall,
      encodeHttpRespCallRequest(req),
      answer,
      decodeHttpRespCallResponse,
    );
  }

  /**
   * Writes one raw frame (any type byte, any payload), e.g. to send malformed input;
   * resolves once the write queue is under its high-water mark.
   */
  async sendFrame(type: number, payload: Uint8Array): Promise<void> {
    await this.#conn.write(encodeFrame(type, payload));
  }

  /** Writes raw bytes as they are: a cut frame, a lying length field. */
  async sendBytes(bytes: Uint8Array): Promise<void> {
    await this.#conn.write(bytes);
  }

  /** Reads one raw frame; `null` when the runner closed at a frame boundary. */
  readFrame(): Promise<RawFrame | null> {
    return this.#reader.next();
  }

  async #call<R>(
    type: number,
    payload: Uint8Array,
    answer: ExtraInfoAnswerer | undefined,
    decode: (payload: Uint8Array) => R,
  ): Promise<CallOutcome<R>> {
    this.#enter(type);
    try {
      await this.sendFrame(type, payload);
      let questions = NO_QUESTIONS as ExtraInfoRequest[];
      for (;;) {
        const frame = await this.#readReply(type);
        if (frame.type === FrameType.ExtraInfo) {
          const question = decodeExtraInfoRequest(frame.payload);
          if (questions === NO_QUESTIONS) questions = [];
          questions.push(question);
          const result = await (answer ?? _answerAbsent)(question);
          await this.sendFrame(FrameType.ExtraInfo, encodeExtraInfoResponse({ result }));
          continue;
        }
        if (frame.type === type) {
          return { kind: "reply", response: decode(frame.payload), questions };
        }
        if (frame.type === FrameType.Error) {
          return { kind: "error", code: decodeErrorResponse(frame.payload).code, questions };
        }
        throw new UnexpectedReplyTypeError(type, frame.type);
      }
    } finally {
      this.#busy = false;
    }
  }

  #enter(type: number): void {
    if (this.#busy) throw new ConnectionBusyError(type);
    this.#busy = true;
  }

  async #readReply(type: number): Promise<RawFrame> {
    const frame = await this.#reader.next();
    if (frame === null) throw new RunnerClosedError(type);
    return frame;
  }
}
