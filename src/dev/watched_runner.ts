// `dev --watch`: the runner as a child process, replaced on the same socket when a plugin file changes.

import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import process from "node:process";
import type { SocketRuntime } from "../runtime/types.ts";

/** How often plugin files are looked at: a poll works the same on Deno, Bun and Node. */
const POLL_MS = 250;
/** Longest wait for a new runner to listen. */
const START_TIMEOUT_MS = 15_000;

/** Options of {@linkcode WatchedRunner}. */
export interface WatchedRunnerOptions {
  /** The command that starts a runner (`run` with its flags); it gets `APISIX_LISTEN_ADDRESS`. */
  readonly command: readonly string[];
  /** Socket path the runners listen on, one after the other. */
  readonly socketPath: string;
  /** Files and folders to watch (their `.ts`, `.js` and `.json` files, outside node_modules). */
  readonly watch: readonly string[];
  /** Base of the paths in messages. */
  readonly cwd: string;
  /** File facts (the socket's identity tells when a new runner listens). */
  readonly runtime: Pick<SocketRuntime, "lstat">;
  /** Progress lines. */
  readonly log: (line: string) => void;
  /**
   * Called once a new runner listens, before the old one is stopped: the place to drop
   * pooled connections to the old runner, so that the next calls reach the new code.
   */
  readonly onReplaced?: () => void;
}

/**
 * Runs the runner as a child process and replaces it when a watched file
 * changes, the way APISIX reloads a runner: the new one starts on the same
 * socket path and takes it over, then the old one gets SIGTERM and finishes the
 * calls it has. A gateway client then meets unknown conf tokens on the new
 * runner and prepares them again (CONF_TOKEN_NOT_FOUND, retried), so requests
 * keep working across the change. A new runner that fails to start leaves the
 * old one serving.
 *
 * @example
 * ```ts
 * const runner = new WatchedRunner({ command, socketPath, watch: ["./plugins"], cwd, runtime, log });
 * await runner.start();
 * // ... edit plugins/hello.ts: "Reloaded after a change in plugins/hello.ts (ready in 180 ms)"
 * await runner.stop();
 * ```
 */
export class WatchedRunner {
  #options: WatchedRunnerOptions;
  #child: ChildProcess | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #signature = "";
  #reloading = false;
  #stopped = false;

  /** Nothing starts until {@linkcode WatchedRunner.start}. */
  constructor(options: WatchedRunnerOptions) {
    this.#options = options;
  }

  /** Starts the first runner and the watch; rejects when the runner does not come up. */
  async start(): Promise<void> {
    this.#signature = this.#scan().signature;
    this.#child = await this.#spawnListening();
    this.#timer = setInterval(() => this.#poll(), POLL_MS);
  }

  /** Stops watching and stops the runner (SIGTERM, then SIGKILL after 2 s). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    const child = this.#child;
    this.#child = undefined;
    if (child !== undefined) await _terminate(child);
  }

  #poll(): void {
    if (this.#reloading || this.#stopped) return;
    const { signature, files } = this.#scan();
    if (signature === this.#signature) return;
    const before = new Map(this.#signature.split("\n").map((line) => [line.split("\t")[0], line]));
    const changed = files.filter((f) => !before.has(f.path) || before.get(f.path) !== f.line)
      .map((f) => relative(this.#options.cwd, f.path));
    this.#signature = signature;
    this.#reloading = true;
    this.#reload(changed.length > 0 ? changed : ["a removed file"]).finally(() => {
      this.#reloading = false;
    });
  }

  async #reload(changed: readonly string[]): Promise<void> {
    const started = performance.now();
    let next: ChildProcess;
    try {
      next = await this.#spawnListening();
    } catch (error) {
      this.#options.log(
        `Reload after a change in ${changed.join(", ")} failed, still serving the previous ` +
          `plugins: ${(error as Error).message}`,
      );
      return;
    }
    const old = this.#child;
    this.#child = next;
    if (this.#stopped) {
      await _terminate(next);
      return;
    }
    this.#options.onReplaced?.();
    this.#options.log(
      `Reloaded after a change in ${changed.join(", ")} (runner ready in ${
        Math.round(performance.now() - started)
      } ms)`,
    );
    if (old !== undefined) await _terminate(old);
  }

  /** Starts a runner and resolves once it owns the socket path; rejects when it exits first. */
  async #spawnListening(): Promise<ChildProcess> {
    const { command, socketPath, runtime } = this.#options;
    const previous = await runtime.lstat(socketPath);
    const child = spawn(command[0]!, command.slice(1), {
      env: { ...process.env, APISIX_LISTEN_ADDRESS: `unix:${socketPath}` },
      stdio: ["ignore", "inherit", "inherit"],
    });
    let exit: string | undefined;
    child.once("exit", (code, signal) => exit = `the runner exited (${signal ?? `code ${code}`})`);
    child.once("error", (error) => exit = `cannot start the runner: ${error.message}`);
    const deadline = performance.now() + START_TIMEOUT_MS;
    for (;;) {
      if (exit !== undefined) throw new Error(exit);
      const now = await runtime.lstat(socketPath);
      if (now?.isSocket && (previous === undefined || now.ino !== previous.ino)) return child;
      if (performance.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`the runner did not listen on ${socketPath} within ${START_TIMEOUT_MS} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Each watched file with its size and modification time, as one string to compare. */
  #scan(): { signature: string; files: { path: string; line: string }[] } {
    const files: { path: string; line: string }[] = [];
    const visit = (path: string) => {
      let info;
      try {
        info = statSync(path);
      } catch {
        return;
      }
      if (info.isDirectory()) {
        for (const name of readdirSync(path).sort()) {
          if (name !== "node_modules" && !name.startsWith(".")) visit(join(path, name));
        }
      } else if (/\.(ts|mts|js|mjs|json)$/.test(path)) {
        files.push({ path, line: `${path}\t${info.size}\t${info.mtimeMs}` });
      }
    };
    for (const path of this.#options.watch) visit(path);
    return { signature: files.map((f) => f.line).join("\n"), files };
  }
}

function _terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
