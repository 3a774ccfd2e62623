// A fresh private directory with a unix socket path inside, short enough for `sun_path`.

import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { processEnv } from "./detect.ts";

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
 * Makes a fresh temp directory (`mkdtemp`, named `<prefix>XXXXXX`) and returns
 * a socket path inside it. A long TMPDIR (macOS) is passed over for `/tmp`, so
 * the socket name still fits.
 *
 * @throws {RangeError} when the path would still be too long for a unix socket.
 * @example
 * ```ts
 * const socket = await tempSocketPath("apisix-dev-");
 * // ... listen on socket.path ...
 * await socket.remove();
 * ```
 */
export async function tempSocketPath(prefix = "apisix-runner-"): Promise<TempSocketPath> {
  // TMPDIR through processEnv: a Deno runner without env access for it uses /tmp, not a throw.
  let base = processEnv("TMPDIR") ?? "/tmp";
  if (base.length > 60) base = "/tmp";
  const dir = await mkdtemp(join(base, prefix));
  const path = join(dir, "runner.sock");
  if (path.length > MAX_SOCKET_PATH) {
    await rm(dir, { recursive: true, force: true });
    throw new RangeError(`Socket path is too long (${path.length} bytes): ${path}`);
  }
  return { path, dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
