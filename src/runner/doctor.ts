// `doctor`: checks a deployment the way APISIX will use it and says what to fix, one line per problem.
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { SocketRuntime } from "../runtime/types.ts";
import { MAX_SOCKET_PATH_BYTES } from "../server/socket_path.ts";
import {
  CONF_EXPIRE_TIME_VAR,
  LISTEN_ADDRESS_VAR,
  parseConfTtlMs,
  parseListenAddress,
} from "./env.ts";

/** Options of {@linkcode runDoctor}. */
export interface DoctorOptions {
  /** Environment and file facts. */
  readonly runtime: Pick<SocketRuntime, "env" | "lstat">;
  /** Names of the plugins this runner serves. */
  readonly pluginNames: readonly string[];
  /** `--socket`: the socket path to check instead of `APISIX_LISTEN_ADDRESS`. */
  readonly socket?: string | undefined;
  /** How APISIX starts this runner: `ext-plugin.cmd` without the log flags, e.g. `[exe, "run"]`. */
  readonly command: readonly string[];
}

/** What {@linkcode runDoctor} found. */
export interface DoctorReport {
  /** Every check, in order: `ok ...` or `PROBLEM ...` lines. */
  readonly lines: readonly string[];
  /** One line per problem, each saying what to fix (empty when all is well). */
  readonly problems: readonly string[];
  /** The `ext-plugin` section of APISIX's `conf/config.yaml` that starts this runner. */
  readonly configSnippet: string;
}

/**
 * Checks what APISIX needs from this runner: a well-formed listen address whose
 * directory exists and is writable, a path within the unix socket limit, a
 * socket a non-root nginx worker can reach, valid APISIX variables and at least
 * one plugin; and renders the `config.yaml` snippet that starts this runner.
 *
 * @example
 * ```ts
 * const report = await runDoctor({
 *   runtime,
 *   pluginNames: ["say"],
 *   command: ["/usr/local/bin/apisix-ts-runner", "run"],
 * });
 * for (const line of report.lines) console.log(line);
 * ```
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const lines: string[] = [];
  const problems: string[] = [];
  const ok = (line: string) => lines.push(`ok       ${line}`);
  const problem = (line: string) => {
    lines.push(`PROBLEM  ${line}`);
    problems.push(line);
  };

  const path = _socketPath(options, ok, problem);
  if (path !== undefined) await _checkSocketPath(path, options.runtime, ok, problem);

  const expire = options.runtime.env(CONF_EXPIRE_TIME_VAR);
  try {
    const ttlMs = parseConfTtlMs(expire);
    ok(
      expire === undefined || expire === ""
        ? `${CONF_EXPIRE_TIME_VAR} is not set: confs live ${
          ttlMs / 1000
        } s (APISIX's default 3600 s × 1.2)`
        : `${CONF_EXPIRE_TIME_VAR}=${expire}: confs live ${ttlMs / 1000} s after their last use`,
    );
  } catch (error) {
    problem((error as Error).message);
  }

  if (options.pluginNames.length === 0) {
    problem("No plugin is compiled in: routes can only name plugins the runner has");
  } else {
    ok(`plugins (${options.pluginNames.length}): ${options.pluginNames.join(", ")}`);
  }
  return { lines, problems, configSnippet: configSnippet(options.command) };
}

/**
 * The `ext-plugin` section of APISIX's `conf/config.yaml` that starts `command`
 * with its logs in APISIX's log directory.
 *
 * @example
 * ```ts
 * configSnippet(["/usr/local/bin/apisix-ts-runner", "run"]);
 * // ext-plugin:
 * //   cmd: ["/usr/local/bin/apisix-ts-runner", "run", "--log-file", "/usr/local/apisix/logs/ts-runner.log"]
 * ```
 */
export function configSnippet(command: readonly string[]): string {
  const cmd = [...command, "--log-file", "/usr/local/apisix/logs/ts-runner.log"];
  return `ext-plugin:\n  cmd: [${cmd.map((part) => JSON.stringify(part)).join(", ")}]\n`;
}

function _socketPath(
  options: DoctorOptions,
  ok: (line: string) => void,
  problem: (line: string) => void,
): string | undefined {
  if (options.socket !== undefined) {
    ok(`checking the socket path given with --socket: ${options.socket}`);
    return options.socket;
  }
  const address = options.runtime.env(LISTEN_ADDRESS_VAR);
  try {
    const path = parseListenAddress(address);
    ok(`${LISTEN_ADDRESS_VAR}=${address}`);
    return path;
  } catch (error) {
    problem(
      address === undefined || address === ""
        ? `${LISTEN_ADDRESS_VAR} is not set and no --socket was given: APISIX sets it when it ` +
          `starts the runner; pass --socket <planned path> to check a path before deploying`
        : (error as Error).message,
    );
    return undefined;
  }
}

async function _checkSocketPath(
  path: string,
  runtime: Pick<SocketRuntime, "lstat">,
  ok: (line: string) => void,
  problem: (line: string) => void,
): Promise<void> {
  const bytes = new TextEncoder().encode(path).length;
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    problem(
      `Socket path ${path} is ${bytes} bytes long; a unix socket path can have at most ` +
        `${MAX_SOCKET_PATH_BYTES} bytes on Linux: use a shorter directory`,
    );
  } else {
    ok(`socket path is ${bytes} bytes (limit ${MAX_SOCKET_PATH_BYTES})`);
  }
  const dir = dirname(resolve(path));
  let dirMode: number;
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) {
      problem(`${dir} is not a directory: the socket path ${path} cannot be created`);
      return;
    }
    dirMode = info.mode & 0o7777;
  } catch {
    problem(
      `Directory ${dir} of the socket path does not exist: create it (mkdir -p ${dir}) or ` +
        `change the socket path`,
    );
    return;
  }
  try {
    await access(dir, constants.W_OK | constants.X_OK);
    ok(`directory ${dir} exists and this user can create the socket in it`);
  } catch {
    problem(
      `Directory ${dir} is not writable by this user: the runner cannot create its socket ` +
        `there (mode ${_octal(dirMode)})`,
    );
  }
  // nginx workers usually run as another user ("nobody"): every directory on the way must let
  // other users through.
  const closed: string[] = [];
  for (let d = dir;; d = dirname(d)) {
    const mode = (await stat(d)).mode & 0o7777;
    if ((mode & 0o001) === 0) closed.push(`${d} (mode ${_octal(mode)})`);
    if (d === dirname(d)) break;
  }
  if (closed.length > 0) {
    problem(
      `${closed.join(", ")} cannot be passed by other users: a non-root nginx worker cannot ` +
        `reach the socket; allow it with chmod o+x or put the socket elsewhere`,
    );
  } else {
    ok("every directory on the way lets other users (the nginx workers) through");
  }
  const existing = await runtime.lstat(path);
  if (existing === undefined) return;
  if (existing.isSocket) {
    if ((existing.mode & 0o006) !== 0o006) {
      problem(
        `The socket at ${path} has mode ${_octal(existing.mode)}: other users (the nginx ` +
          `workers) cannot connect; the runner creates it with mode 0766`,
      );
    } else {
      ok(`a socket is at ${path} already (a running or stale runner; a new one replaces it)`);
    }
  } else if (!existing.isSymlink) {
    problem(
      `A ${existing.isDirectory ? "directory" : "regular file"} is at ${path}: the runner ` +
        `refuses to replace it; remove it or change the socket path`,
    );
  }
}

function _octal(mode: number): string {
  return `0${mode.toString(8)}`;
}
