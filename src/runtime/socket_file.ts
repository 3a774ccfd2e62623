// Creates a listening socket file without races: bound and chmod'ed in a private directory, then linked into place.

/** The file operations {@linkcode listenStaged} needs; each adapter passes its runtime's own. */
export interface StagingFileOps {
  /** Creates a directory with `mode`; rejects when anything exists at `path`. */
  mkdir(path: string, mode: number): Promise<void>;
  /** Sets the permission bits of `path`. */
  chmod(path: string, mode: number): Promise<void>;
  /** Hard-links `existing` as `target`; rejects when anything exists at `target` (never follows it). */
  link(existing: string, target: string): Promise<void>;
  /** Renames `existing` to `target`, atomically replacing a file (not a directory) there. */
  rename(existing: string, target: string): Promise<void>;
  /** Removes a file (not following a symlink); a missing one is not an error. */
  unlink(path: string): Promise<void>;
  /** Removes an empty directory; a missing one is not an error. */
  rmdir(path: string): Promise<void>;
}

/** Options of {@linkcode listenStaged}. */
export interface StagedListenOptions<T> {
  /** File mode of the socket, e.g. `0o766`. */
  mode: number;
  /** Replace what is at the path (a socket or symlink the caller checked) instead of requiring it free. */
  replace: boolean;
  /** The runtime's file operations. */
  ops: StagingFileOps;
  /** Creates the listening socket at `bindPath`. */
  bind(bindPath: string): T | Promise<T>;
  /** Closes the listener again when a later step fails. */
  unbind(handle: T): void;
}

/** Longest socket path that fits `sockaddr_un.sun_path` everywhere (104 bytes on macOS, with the NUL). */
const MAX_SOCKET_PATH = 103;

/** Name of the socket inside the staging directory. */
const STAGED_NAME = "s";

/**
 * Listens on the unix socket `path` with file mode `mode`, safely.
 *
 * `bind(stagingPath)` creates the socket inside a fresh directory made next to
 * `path` with mode 0700, so no other user can swap the file before `chmod`
 * applies `mode` (a chmod on `path` itself would follow a symlink planted
 * between listen and chmod). The finished socket is then hard-linked to `path`,
 * which fails rather than replaces when anything is there, and the staging
 * name and directory are removed. With `replace`, the socket is renamed over
 * what is there instead: a peer connecting meanwhile (APISIX on reload) finds
 * the old socket or the new one, never an empty path. Every runtime unlinks a unix listener's bind
 * path by name when it closes (checked on Deno 2.9, Bun 1.4, Node 20); that
 * unlink now hits the vanished staging name, never `path`, which on APISIX
 * reload may already hold the socket of the next runner.
 *
 * When the staging path would not fit `sun_path` (a very short socket name in
 * a very deep directory), the socket is bound at `path` and chmod'ed there.
 *
 * @example
 * ```ts
 * const listener = await listenStaged("/run/runner.sock", {
 *   mode: 0o766,
 *   replace: false,
 *   ops,
 *   bind: (bindPath) => Deno.listen({ transport: "unix", path: bindPath }),
 *   unbind: (listener) => listener.close(),
 * });
 * ```
 */
export async function listenStaged<T>(path: string, options: StagedListenOptions<T>): Promise<T> {
  const { mode, ops } = options;
  const dir = _stagingDir(path);
  const staged = `${dir}/${STAGED_NAME}`;
  if (new TextEncoder().encode(staged).length > MAX_SOCKET_PATH) {
    return await _bindInPlace(path, options);
  }
  await ops.mkdir(dir, 0o700);
  let handle: T | undefined;
  try {
    handle = await options.bind(staged);
    await ops.chmod(staged, mode);
    if (options.replace) await ops.rename(staged, path);
    else await ops.link(staged, path);
    return handle;
  } catch (error) {
    if (handle !== undefined) options.unbind(handle);
    throw error;
  } finally {
    // Best effort: a leftover empty private directory does no harm.
    await ops.unlink(staged).catch(() => {});
    await ops.rmdir(dir).catch(() => {});
  }
}

async function _bindInPlace<T>(path: string, options: StagedListenOptions<T>): Promise<T> {
  if (options.replace) await options.ops.unlink(path);
  const handle = await options.bind(path);
  try {
    await options.ops.chmod(path, options.mode);
  } catch (error) {
    options.unbind(handle);
    throw error;
  }
  return handle;
}

/** `<dir of path>/.<8 random base-36 characters>`: short, so the staged path fits `sun_path`. */
function _stagingDir(path: string): string {
  const slash = path.lastIndexOf("/");
  const parent = slash < 0 ? "." : slash === 0 ? "" : path.slice(0, slash);
  const words = new Uint32Array(2);
  crypto.getRandomValues(words);
  const random = (words[0].toString(36) + words[1].toString(36)).padStart(8, "0").slice(-8);
  return `${parent}/.${random}`;
}
