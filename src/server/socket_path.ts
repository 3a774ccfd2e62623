// Checks the socket path before listening: its length, its directory, and what is there (a predecessor on reload?).
import { getLogger } from "@logtape/logtape";
import type { SocketRuntime } from "../runtime/types.ts";
import {
  SocketDirectoryMissingError,
  SocketListenError,
  SocketPathOccupiedError,
  SocketPathTooLongError,
} from "./errors.ts";

const logger = getLogger(["apisix-runner", "server"]);

/** Longest unix socket path Linux accepts: `sun_path` holds 108 bytes with the final NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

/** How long the probe of a socket already at the path may take to connect. */
const PROBE_TIMEOUT_MS = 500;

/** What {@linkcode prepareSocketPath} found at the path. */
export type SocketPathState =
  /** Nothing: listen on a free path. */
  | "free"
  /** A runner still accepts on it (an APISIX reload): take it over. */
  | "live"
  /** A socket nobody accepts on (a killed predecessor), or a symlink: replace it. */
  | "stale";

/**
 * Makes sure the runner can listen on `path` and says how: refuses a path over
 * {@linkcode MAX_SOCKET_PATH_BYTES} bytes and a regular file or directory at the
 * path (never deleted). A socket there is probed: one a
 * runner still accepts on is taken over (logged at info: APISIX reloads by
 * starting the next runner on the same path), a dead one or a symlink (the link,
 * never its target) is replaced with a warning. Replacing is left to the listen
 * (`replace: true`), which renames the new socket over the old one atomically.
 *
 * @throws {SocketPathTooLongError | SocketPathOccupiedError}
 */
export async function prepareSocketPath(
  runtime: SocketRuntime,
  path: string,
): Promise<SocketPathState> {
  const bytes = new TextEncoder().encode(path).length;
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new SocketPathTooLongError(path, bytes, MAX_SOCKET_PATH_BYTES);
  }
  const info = await runtime.lstat(path);
  if (info === undefined) return "free";
  if (info.isSymlink) {
    logger.warn("Replacing the symlink at {socketPath} (the link, not its target)", {
      socketPath: path,
    });
    return "stale";
  }
  if (!info.isSocket) {
    throw new SocketPathOccupiedError(path, info.isDirectory ? "directory" : "regular file");
  }
  if (await _accepts(runtime, path)) {
    logger.info(
      "Taking over unix:{socketPath} from the runner still serving it (an APISIX reload): new connections come here",
      { socketPath: path },
    );
    return "live";
  }
  logger.warn("Replacing the stale socket at {socketPath}: nothing accepts on it", {
    socketPath: path,
  });
  return "stale";
}

/** Whether something accepts connections on the socket at `path` (closed again at once). */
async function _accepts(runtime: SocketRuntime, path: string): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const connecting = runtime.connectUnix(path);
  const timedOut = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), PROBE_TIMEOUT_MS);
  });
  try {
    const conn = await Promise.race([connecting, timedOut]);
    if (conn === undefined) {
      connecting.then((late) => late.close(), () => {});
      return false;
    }
    conn.close();
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The error to report when listening on `path` failed with `error`: the
 * directory missing, named as the user gave it (the runtime's own error names
 * the private staging directory), or the runtime's reason.
 */
export async function listenFailure(
  runtime: SocketRuntime,
  path: string,
  error: unknown,
): Promise<Error> {
  const dir = _directoryOf(path);
  const info = await runtime.lstat(dir).catch(() => undefined);
  if (info === undefined || !(info.isDirectory || info.isSymlink)) {
    return new SocketDirectoryMissingError(path, dir);
  }
  return new SocketListenError(path, error);
}

function _directoryOf(path: string): string {
  const slash = path.lastIndexOf("/");
  if (slash < 0) return ".";
  return slash === 0 ? "/" : path.slice(0, slash);
}
