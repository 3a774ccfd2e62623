// Makes the socket path free for listening without ever deleting something that is not ours.
import type { SocketRuntime } from "../runtime/types.ts";

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

/**
 * Removes a stale socket file (left by a killed predecessor: APISIX restarts the
 * runner on the same path) or a symlink (the link itself, never its target).
 * A regular file or directory is refused rather than deleted.
 */
export async function prepareSocketPath(runtime: SocketRuntime, path: string): Promise<void> {
  const info = await runtime.lstat(path);
  if (info === undefined) return;
  if (info.isSocket || info.isSymlink) {
    await runtime.removeFile(path);
    return;
  }
  throw new SocketPathOccupiedError(path, info.isDirectory ? "directory" : "regular file");
}
