// Error classes of the runtime layer: writes on closed sockets, and the memory runtime's stand-ins.

/** A write on a connection that was already closed, by either side. */
export class SocketClosedError extends Error {
  /** `size` is the number of bytes the failed write carried. */
  constructor(size: number) {
    super(`Cannot write ${size} bytes: the connection is closed`);
    this.name = "SocketClosedError";
  }
}

/** `exit()` of the memory runtime throws this instead of ending the process. */
export class MemoryExitError extends Error {
  /** The code `exit()` was called with. */
  readonly code: number;
  /** `code` is the exit code. */
  constructor(code: number) {
    super(`Memory runtime exit() was called with code ${code}`);
    this.name = "MemoryExitError";
    this.code = code;
  }
}

/** A system call failure of the memory runtime, shaped like Node's (`code` is e.g. `"ENOENT"`). */
export class MemorySystemError extends Error {
  /** `"EADDRINUSE"`, `"ENOENT"` or `"ECONNREFUSED"`. */
  readonly code: string;
  /** `code` names the failure, `path` the file it concerned. */
  constructor(code: string, path: string) {
    super(`${code}: memory runtime cannot use socket path "${path}"`);
    this.name = "MemorySystemError";
    this.code = code;
  }
}
