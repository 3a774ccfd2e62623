// Test harness that starts a runner child process exactly as APISIX does and watches its socket and output.

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import { delimiter, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { type TempSocketPath, tempSocketPath } from "../../src/runtime/temp_socket.ts";

export { type TempSocketPath, tempSocketPath };

/** Absolute path of the repository root (the runner's working directory). */
export const REPO_ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

/** The deno binary installed from npm. */
export const DENO_BIN: string = join(REPO_ROOT, "node_modules", ".bin", "deno");
/** The bun binary installed from npm. */
export const BUN_BIN: string = join(REPO_ROOT, "node_modules", ".bin", "bun");

/** Default runner entry for deno and bun: the CLI from source (`run --with-bundled` unless `args` says). */
export const DEFAULT_TS_ENTRY = "src/cli/bin.ts";
/** Default runner entry for node: the CLI built into lib/ (scripts/build_lib.ts). */
export const DEFAULT_NODE_ENTRY = "lib/src/cli/bin.js";
/** Arguments of a default entry: serve the bundled plugins. */
export const DEFAULT_ENTRY_ARGS: readonly string[] = ["run", "--with-bundled"];

/**
 * Deno permission flags of the runner: the same set as the `runner:deno` script, so the
 * tests prove it is enough. Unix sockets need `--allow-net` (Deno can only scope it to an
 * exact socket path, which comes from the environment) plus read/write of the socket file.
 */
export const DENO_PERMISSION_FLAGS: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env=APISIX_LISTEN_ADDRESS,APISIX_CONF_EXPIRE_TIME,OTEL_*",
];

/** How the runner is started. */
export type RunnerRuntime = "deno" | "bun" | "node" | "binary";

/** Options of {@linkcode spawnRunner}. */
export interface SpawnRunnerOptions {
  /** Which runtime runs the runner (`"binary"` needs {@linkcode SpawnRunnerOptions.binaryPath}). */
  runtime: RunnerRuntime;
  /** Executable for `"binary"` (absolute, or relative to the repository root). */
  binaryPath?: string;
  /** Entry file replacing the default one (relative to the repository root or absolute). */
  entry?: string;
  /**
   * Arguments after the entry (or after the binary); default `["run"]`, or
   * {@linkcode DEFAULT_ENTRY_ARGS} with the default entry (the CLI).
   */
  args?: readonly string[];
  /** Arguments appended after `args`. */
  extraArgs?: readonly string[];
  /** Socket path; default `<fresh temp dir>/runner.sock`. */
  socketPath?: string;
  /** Overrides the whole `APISIX_LISTEN_ADDRESS` value (default `unix:<socketPath>`); `null` leaves it out. */
  listenAddress?: string | null;
  /** Overrides `APISIX_CONF_EXPIRE_TIME` (default `"3600"`); `null` leaves it out. */
  confExpireTime?: string | null;
  /** Extra environment variables (APISIX passes only those declared in `nginx_config.envs`). */
  env?: Record<string, string>;
  /** Wait until the socket accepts a connection (default true). */
  waitForSocket?: boolean;
  /** Bound on the socket wait (default 10 000 ms). */
  startTimeoutMs?: number;
}

/** How the runner process ended. */
export interface RunnerExit {
  /** Exit code, `null` when killed by a signal. */
  code: number | null;
  /** Signal that ended it, `null` on a normal exit. */
  signal: NodeJS.Signals | null;
  /** Milliseconds from the first `kill()` to the exit; from the spawn when never signalled. */
  ms: number;
}

/** A started runner. */
export interface RunnerProcess {
  /** The socket path the runner was told to listen on. */
  readonly socketPath: string;
  /** The temp directory holding the socket (removed by `dispose()`), if the harness made it. */
  readonly dir: string | undefined;
  /** Process id. */
  readonly pid: number;
  /** The argv the process was started with (executable first). */
  readonly argv: readonly string[];
  /** The environment it was started with. */
  readonly env: Readonly<Record<string, string>>;
  /** Merged stdout and stderr so far. */
  output(): string;
  /** Resolves with the output so far once `pattern` matches it; rejects on timeout or exit. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends a signal (default SIGTERM); the first call starts the `exited.ms` clock. */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves when the process ended. */
  readonly exited: Promise<RunnerExit>;
  /** Whether the process is still running. */
  readonly alive: boolean;
  /** Kills it (SIGKILL) if still alive, waits for the exit and removes the temp directory. */
  dispose(): Promise<void>;
}

/** The requested runtime or entry is not available here, so the test should be skipped. */
export class RunnerUnavailableError extends Error {
  /** `reason` says what is missing. */
  constructor(reason: string) {
    super(reason);
    this.name = "RunnerUnavailableError";
  }
}

/** The runner did not accept connections in time or exited first. */
export class RunnerStartError extends Error {
  /** Output of the runner up to the failure. */
  readonly output: string;
  /** `reason` says what failed, `output` is the runner's merged output. */
  constructor(reason: string, output: string) {
    super(`${reason}\n--- runner output ---\n${output}--- end of runner output ---`);
    this.name = "RunnerStartError";
    this.output = output;
  }
}

/**
 * Why `runtime` cannot be spawned here, or `undefined` when it can. Use it as
 * a `skip` reason: `test("...", { skip: runnerUnavailable("node") }, ...)`.
 */
export function runnerUnavailable(
  runtime: RunnerRuntime,
  options: { entry?: string; binaryPath?: string } = {},
): string | undefined {
  switch (runtime) {
    case "deno":
      if (!existsSync(DENO_BIN)) return `deno binary missing at ${DENO_BIN} (run npm install)`;
      break;
    case "bun":
      if (!existsSync(BUN_BIN)) return `bun binary missing at ${BUN_BIN} (run npm install)`;
      break;
    case "node":
      if (findOnPath("node") === undefined) return "node is not on PATH";
      break;
    case "binary": {
      if (options.binaryPath === undefined) return 'no binaryPath given for runtime "binary"';
      const binary = _fromRoot(options.binaryPath);
      return existsSync(binary) ? undefined : `runner binary missing at ${binary} (build it first)`;
    }
  }
  const entry = _fromRoot(
    options.entry ?? (runtime === "node" ? DEFAULT_NODE_ENTRY : DEFAULT_TS_ENTRY),
  );
  if (!existsSync(entry)) return `runner entry missing at ${entry} (build it first)`;
  return undefined;
}

/**
 * Starts a runner the way APISIX's privileged agent does (docs/PROTOCOL.md §5):
 * an argv array, an environment holding only `APISIX_LISTEN_ADDRESS` and
 * `APISIX_CONF_EXPIRE_TIME` (nginx strips everything else), stdout and stderr
 * merged into one pipe (`2>&1` before exec, like `merge_stderr`) that the
 * harness drains and keeps. Then waits until the socket accepts a connection.
 *
 * None of deno 2.9, bun 1.4 or node 20 needs PATH or HOME to run the runner
 * (checked with npm imports from node_modules): deno finds its cache directory
 * through the passwd entry and sets PATH (to its `node_compat_bin`) and
 * `DENO_NODE_SHIM_ACTIVE` in its own environment. The `/bin/sh` wrapper that
 * merges the streams unsets the PWD it would export. Pass variables in `env`
 * to test anything else.
 *
 * @throws {RunnerUnavailableError} when the runtime binary or entry is missing.
 * @throws {RunnerStartError} when the socket is not ready in time or the process exits first.
 * @example
 * ```ts
 * const runner = await spawnRunner({ runtime: "deno" });
 * try {
 *   // connect to runner.socketPath ...
 * } finally {
 *   await runner.dispose();
 * }
 * ```
 */
export async function spawnRunner(options: SpawnRunnerOptions): Promise<RunnerProcess> {
  const unavailable = runnerUnavailable(options.runtime, options);
  if (unavailable !== undefined) throw new RunnerUnavailableError(unavailable);

  let temp: TempSocketPath | undefined;
  let socketPath = options.socketPath;
  if (socketPath === undefined) {
    temp = await tempSocketPath();
    socketPath = temp.path;
  }
  const env: Record<string, string> = {};
  if (options.listenAddress !== null) {
    env.APISIX_LISTEN_ADDRESS = options.listenAddress ?? `unix:${socketPath}`;
  }
  if (options.confExpireTime !== null) {
    env.APISIX_CONF_EXPIRE_TIME = options.confExpireTime ?? "3600";
  }
  Object.assign(env, options.env);

  const argv = [
    ..._commandOf(options),
    ...(options.args ??
      (options.entry === undefined && options.runtime !== "binary" ? DEFAULT_ENTRY_ARGS : ["run"])),
    ...(options.extraArgs ?? []),
  ];
  // `exec "$@"` keeps the pid; `2>&1` gives the child one pipe for both streams, in write order;
  // dash would export PWD otherwise.
  const child = spawn("/bin/sh", ["-c", 'unset PWD; exec "$@" 2>&1', "sh", ...argv], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "ignore"],
  });
  const runner = new _RunnerProcess(child, { socketPath, temp, argv, env });
  if (options.waitForSocket ?? true) {
    try {
      await runner.waitForSocket(options.startTimeoutMs ?? 10_000);
    } catch (error) {
      await runner.dispose();
      throw error;
    }
  }
  return runner;
}

function _commandOf(options: SpawnRunnerOptions): string[] {
  switch (options.runtime) {
    case "deno":
      return [
        DENO_BIN,
        "run",
        ...DENO_PERMISSION_FLAGS,
        _fromRoot(options.entry ?? DEFAULT_TS_ENTRY),
      ];
    case "bun":
      return [BUN_BIN, _fromRoot(options.entry ?? DEFAULT_TS_ENTRY)];
    case "node":
      return [findOnPath("node")!, _fromRoot(options.entry ?? DEFAULT_NODE_ENTRY)];
    case "binary":
      return [_fromRoot(options.binaryPath!)];
  }
}

function _fromRoot(path: string): string {
  return path.startsWith("/") ? path : join(REPO_ROOT, path);
}

/** The first `name` on PATH, or `undefined`. */
export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

interface _OutputWaiter {
  pattern: RegExp;
  resolve: (output: string) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

class _RunnerProcess implements RunnerProcess {
  readonly socketPath: string;
  readonly dir: string | undefined;
  readonly pid: number;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly exited: Promise<RunnerExit>;
  #temp: TempSocketPath | undefined;
  #output = "";
  #decoder = new TextDecoder();
  #waiters = new Set<_OutputWaiter>();
  #startedAt = performance.now();
  #signalledAt: number | undefined;
  #exit: RunnerExit | undefined;

  constructor(
    child: ChildProcess,
    init: {
      socketPath: string;
      temp: TempSocketPath | undefined;
      argv: string[];
      env: Record<string, string>;
    },
  ) {
    this.socketPath = init.socketPath;
    this.#temp = init.temp;
    this.dir = init.temp?.dir;
    this.argv = init.argv;
    this.env = init.env;
    this.pid = child.pid ?? -1;
    child.stdout!.on("data", (chunk: Uint8Array) => {
      this.#output += this.#decoder.decode(chunk, { stream: true });
      for (const waiter of this.#waiters) {
        if (waiter.pattern.test(this.#output)) this.#settle(waiter, undefined);
      }
    });
    // 'close' comes after both the exit and the end of the output pipe, so output() is complete.
    this.exited = new Promise((resolve) => {
      child.once("close", (code, signal) => {
        this.#output += this.#decoder.decode();
        const from = this.#signalledAt ?? this.#startedAt;
        this.#exit = { code, signal, ms: performance.now() - from };
        for (const waiter of this.#waiters) {
          this.#settle(
            waiter,
            new RunnerStartError(
              `Runner exited (code ${code}, signal ${signal}) before its output matched ${waiter.pattern}`,
              this.#output,
            ),
          );
        }
        resolve(this.#exit);
      });
    });
    child.once("error", (error) => {
      this.#output += `[harness] spawn failed: ${error.message}\n`;
    });
  }

  get alive(): boolean {
    return this.#exit === undefined;
  }

  output(): string {
    return this.#output;
  }

  waitForOutput(pattern: RegExp, timeoutMs = 5_000): Promise<string> {
    if (pattern.test(this.#output)) return Promise.resolve(this.#output);
    if (this.#exit !== undefined) {
      return Promise.reject(
        new RunnerStartError(
          `Runner already exited; output never matched ${pattern}`,
          this.#output,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter: _OutputWaiter = {
        pattern,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#settle(
            waiter,
            new RunnerStartError(
              `Runner output did not match ${pattern} within ${timeoutMs} ms`,
              this.#output,
            ),
          );
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }

  kill(signal: NodeJS.Signals = "SIGTERM"): void {
    if (this.#exit !== undefined) return;
    this.#signalledAt ??= performance.now();
    // Not child.kill(): Deno's node:child_process then reports the signal even for a clean exit.
    process.kill(this.pid, signal);
  }

  async waitForSocket(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let lastError = "";
    while (this.#exit === undefined) {
      const error = await _tryConnect(this.socketPath);
      if (error === undefined) return;
      lastError = error;
      if (performance.now() >= deadline) break;
      // Bounded polling: the runner gives no other readiness signal than an accepting socket.
      await Promise.race([_delay(15), this.exited]);
    }
    const reason = this.#exit !== undefined
      ? `Runner exited (code ${this.#exit.code}, signal ${this.#exit.signal}) before its socket ${this.socketPath} accepted a connection`
      : `Runner socket ${this.socketPath} did not accept a connection within ${timeoutMs} ms (last error: ${lastError})`;
    throw new RunnerStartError(reason, this.#output);
  }

  async dispose(): Promise<void> {
    this.kill("SIGKILL");
    await this.exited;
    await this.#temp?.remove();
  }

  #settle(waiter: _OutputWaiter, error: Error | undefined): void {
    clearTimeout(waiter.timer);
    this.#waiters.delete(waiter);
    if (error === undefined) waiter.resolve(this.#output);
    else waiter.reject(error);
  }
}

/** Connects once and closes again; resolves the error code on failure, `undefined` on success. */
function _tryConnect(path: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.createConnection({ path });
    socket.once("connect", () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      socket.destroy();
      resolve(error.code ?? error.message);
    });
  });
}

function _delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
