// Error classes raised by the server: while handling frames, and before listening.

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

/** The socket path does not fit a unix socket address. */
export class SocketPathTooLongError extends Error {
  /** The path given. */
  readonly path: string;
  /** Creates the error for `path`, `bytes` long where at most `limit` fit. */
  constructor(path: string, bytes: number, limit: number) {
    super(
      `Cannot listen on ${path}: the path is ${bytes} bytes long and unix sockets take at most ${limit} bytes; use a shorter path`,
    );
    this.name = "SocketPathTooLongError";
    this.path = path;
  }
}

/** The directory of the socket path does not exist. */
export class SocketDirectoryMissingError extends Error {
  /** The path given. */
  readonly path: string;
  /** Creates the error for `path`, whose directory `dir` is missing. */
  constructor(path: string, dir: string) {
    super(`Cannot listen on ${path}: the directory ${dir} does not exist`);
    this.name = "SocketDirectoryMissingError";
    this.path = path;
  }
}

/** Listening on the socket path failed (permissions, a race with another process). */
export class SocketListenError extends Error {
  /** The path given. */
  readonly path: string;
  /** Creates the error for `path`; `cause` is the runtime's error. */
  constructor(path: string, cause: unknown) {
    const code = (cause as { code?: unknown } | null)?.code;
    const reason = typeof code === "string" ? code : cause instanceof Error ? cause.name : "";
    super(`Cannot listen on ${path}: ${_describe(reason, cause)}`, { cause });
    this.name = "SocketListenError";
    this.path = path;
  }
}

// A runtime error message names the internal staging path; the code alone says what went wrong.
function _describe(code: string, cause: unknown): string {
  switch (code) {
    case "EACCES":
    case "PermissionDenied":
      return "permission denied (EACCES): the runner's user cannot create files in that directory";
    case "EADDRINUSE":
    case "AddrInUse":
    case "EEXIST":
    case "AlreadyExists":
      return "another process created a file there meanwhile";
    case "ENOENT":
    case "NotFound":
      return "the directory disappeared meanwhile";
    default:
      return code !== "" ? code : String(cause);
  }
}
