// Makes the socket path free for listening without ever deleting something that is not ours.
import type { SocketRuntime } from "../runtime/types.ts";
import { SocketPathOccupiedError } from "./errors.ts";

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
