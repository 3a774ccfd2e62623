// Fresh temp directories holding a unix socket path, one per test.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A temp directory with a socket path inside. */
export interface TempSocketPath {
  /** The socket path (`<dir>/runner.sock`); nothing exists there yet. */
  path: string;
  /** The directory. */
  dir: string;
  /** Removes the directory and everything in it. */
  remove(): Promise<void>;
}

/** Longest unix socket path that fits `sockaddr_un.sun_path` everywhere (104 on macOS). */
const MAX_SOCKET_PATH = 103;

/**
 * Makes a fresh temp directory (`mkdtemp`) and returns a socket path inside it.
 *
 * @example
 * ```ts
 * const socket = await tempSocketPath();
 * // ... listen on socket.path ...
 * await socket.remove();
 * ```
 */
export async function tempSocketPath(): Promise<TempSocketPath> {
  let base = tmpdir();
  // A long TMPDIR would not leave room for the socket name.
  if (base.length > 60) base = "/tmp";
  const dir = await mkdtemp(join(base, "apisix-runner-"));
  const path = join(dir, "runner.sock");
  if (path.length > MAX_SOCKET_PATH) {
    throw new RangeError(`Socket path is too long (${path.length} bytes): ${path}`);
  }
  return { path, dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
