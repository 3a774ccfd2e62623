// Error classes raised by the server while handling frames.

/** A call named a conf token the cache does not hold (unknown, or expired by TTL). */
export class ConfTokenNotFoundError extends Error {
  /** The token APISIX sent. */
  readonly token: number;
  /** Creates the error for `token`. */
  constructor(token: number) {
    super(`Conf token ${token} not found: unknown or expired`);
    this.name = "ConfTokenNotFoundError";
    this.token = token;
  }
}

/** APISIX sent a frame type the runner does not serve at this point. */
export class UnexpectedFrameTypeError extends Error {
  /** The type byte received. */
  readonly frameType: number;
  /** Creates the error for `frameType`; `context` says where it arrived. */
  constructor(frameType: number, context: string) {
    super(`Unexpected frame type ${frameType} ${context}`);
    this.name = "UnexpectedFrameTypeError";
    this.frameType = frameType;
  }
}

/** The connection to APISIX closed while a call still needed it. */
export class ApisixDisconnectedError extends Error {
  /** Creates the error; `context` says what was under way. */
  constructor(context: string) {
    super(`Connection closed by APISIX ${context}`);
    this.name = "ApisixDisconnectedError";
  }
}

/** A call ended with an ExtraInfo exchange unfinished or failed: the connection is out of sync. */
export class ExtraInfoOutOfSyncError extends Error {
  /** The id of the call. */
  readonly requestId: number;
  /** Creates the error for the call `requestId`. */
  constructor(requestId: number) {
    super(
      `Request ${requestId} ended with an ExtraInfo exchange unfinished or failed: the connection is out of sync`,
    );
    this.name = "ExtraInfoOutOfSyncError";
    this.requestId = requestId;
  }
}

/** A call ran past its deadline. */
export class CallDeadlineError extends Error {
  /** Creates the error for a call that took longer than `timeoutMs`. */
  constructor(timeoutMs: number) {
    super(`Call deadline of ${timeoutMs} ms exceeded`);
    this.name = "CallDeadlineError";
  }
}

/** APISIX sent a top-level frame whose type the runner does not know. */
export class UnknownFrameTypeError extends Error {
  /** The type byte received. */
  readonly frameType: number;
  /** Creates the error for `frameType`. */
  constructor(frameType: number) {
    super(`Unknown frame type ${frameType}`);
    this.name = "UnknownFrameTypeError";
    this.frameType = frameType;
  }
}

/** The socket path is occupied by something the runner must not delete. */
export class SocketPathOccupiedError extends Error {
  /** The path that is occupied. */
  readonly path: string;
  /** Creates the error for `path`, holding a `what`. */
  constructor(path: string, what: string) {
    super(
      `Cannot listen on ${path}: a ${what} is there; the runner only replaces stale sockets and symlinks`,
    );
    this.name = "SocketPathOccupiedError";
    this.path = path;
  }
}
