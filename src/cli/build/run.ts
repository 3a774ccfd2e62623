// Runs a compiler or checker as a child process and collects its output.

import { spawn } from "node:child_process";
import process from "node:process";

/** Exit code and interleaved stdout and stderr of a finished command. */
export interface CommandResult {
  /** The exit code (1 when the command could not start or was killed). */
  code: number;
  /** Everything it printed, plus a line when it could not start. */
  output: string;
}

/**
 * Runs `command` with `args` in `cwd`, without colours, and resolves when it
 * exits; never rejects. `env` replaces the environment when given (async spawn:
 * Deno's spawnSync would add the parent's environment to it).
 *
 * @example
 * ```ts
 * const { code, output } = await runCommand("bun", ["--version"], process.cwd());
 * ```
 */
export function runCommand(
  command: string,
  args: readonly string[],
  cwd: string,
  env?: Record<string, string>,
): Promise<CommandResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, [...args], {
      cwd,
      env: env ?? { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const decoder = new TextDecoder();
    const collect = (chunk: Uint8Array) => output += decoder.decode(chunk, { stream: true });
    child.stdout!.on("data", collect);
    child.stderr!.on("data", collect);
    child.once("error", (error) => {
      output += `cannot start ${command}: ${error.message}\n`;
    });
    child.once("close", (code) => resolvePromise({ code: code ?? 1, output }));
  });
}
