// Runs a compiler as a child process in the repository root and collects its output.

import { spawn } from "node:child_process";
import process from "node:process";
import { ROOT } from "./paths.ts";

/** Exit code and interleaved stdout and stderr of a finished command. */
export interface CommandResult {
  /** The exit code (1 when the command could not start or was killed). */
  code: number;
  /** Everything it printed, plus a line when it could not start. */
  output: string;
}

/**
 * Runs `command` with `args` in {@linkcode ROOT}, without colours, and
 * resolves when it exits; never rejects.
 */
export function runCommand(command: string, args: readonly string[]): Promise<CommandResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, [...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const collect = (chunk: Uint8Array) => output += new TextDecoder().decode(chunk);
    child.stdout!.on("data", collect);
    child.stderr!.on("data", collect);
    child.once("error", (error) => {
      output += `cannot start ${command}: ${error.message}\n`;
    });
    child.once("close", (code) => resolvePromise({ code: code ?? 1, output }));
  });
}
