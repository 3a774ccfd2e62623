// Measures how long a runner takes from spawn until its socket accepts a connection (build and bench).

import { spawn } from "node:child_process";
import net from "node:net";
import process from "node:process";
import { tempSocketPath } from "../../runtime/temp_socket.ts";

/** Options of {@linkcode measureStartToListening}. */
export interface MeasureStartOptions {
  /** Arguments after the command (default `["run"]`). */
  args?: readonly string[];
  /** Runs to make; `ms` is their median (default 1). */
  runs?: number;
  /** Bound on one start (default 10 000 ms). */
  timeoutMs?: number;
  /** Extra environment variables (the runner gets only the APISIX ones otherwise). */
  env?: Record<string, string>;
}

/** What {@linkcode measureStartToListening} measured. */
export interface StartMeasurement {
  /** Median start-to-listening time in milliseconds. */
  ms: number;
  /** Each run's start-to-listening time, in run order. */
  samples: number[];
}

/** The runner exited or did not listen in time. */
export class StartMeasurementError extends Error {
  /** The runner's merged output. */
  readonly output: string;
  /** `reason` says what failed; `output` is the runner's merged stdout and stderr. */
  constructor(reason: string, output: string) {
    super(`${reason}\n--- runner output ---\n${output}--- end of runner output ---`);
    this.name = "StartMeasurementError";
    this.output = output;
  }
}

/**
 * Starts `command` the way APISIX does (only `APISIX_LISTEN_ADDRESS` and
 * `APISIX_CONF_EXPIRE_TIME` in the environment, a fresh socket path), polls
 * the socket until it accepts a connection, then kills the runner (SIGKILL:
 * a SIGTERM that early would test the shutdown, not the start). The clock
 * starts right before the spawn and stops at the first accepted connection;
 * polling adds at most about a millisecond.
 *
 * @example
 * ```ts
 * const { ms, samples } = await measureStartToListening(["dist/apisix-ts-runner"], { runs: 3 });
 * console.log(`start to listening: ${ms.toFixed(0)} ms (${samples.length} runs)`);
 * ```
 */
export async function measureStartToListening(
  command: readonly string[],
  options: MeasureStartOptions = {},
): Promise<StartMeasurement> {
  const runs = Math.max(1, options.runs ?? 1);
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    samples.push(await _measureOnce(command, options));
  }
  return { ms: _median(samples), samples };
}

async function _measureOnce(
  command: readonly string[],
  options: MeasureStartOptions,
): Promise<number> {
  const socket = await tempSocketPath("apisix-start-");
  const socketPath = socket.path;
  const timeoutMs = options.timeoutMs ?? 10_000;
  let output = "";
  const started = performance.now();
  const child = spawn(command[0]!, [...command.slice(1), ...(options.args ?? ["run"])], {
    env: {
      APISIX_LISTEN_ADDRESS: `unix:${socketPath}`,
      APISIX_CONF_EXPIRE_TIME: "3600",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const collect = (chunk: Uint8Array) => output += new TextDecoder().decode(chunk);
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  let exited: { code: number | null } | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once("close", (code) => {
      exited = { code };
      resolve();
    });
    child.once("error", (error) => {
      output += `spawn failed: ${error.message}\n`;
    });
  });
  try {
    while (true) {
      if (await socketAccepts(socketPath)) break;
      if (exited !== undefined) {
        throw new StartMeasurementError(
          `${command[0]} exited with code ${exited.code} before listening`,
          output,
        );
      }
      if (performance.now() - started > timeoutMs) {
        throw new StartMeasurementError(
          `${command[0]} did not listen on ${socketPath} within ${timeoutMs} ms`,
          output,
        );
      }
      // Polling is the only readiness signal a runner gives; 1 ms keeps the error small.
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    return performance.now() - started;
  } finally {
    if (exited === undefined) {
      process.kill(child.pid!, "SIGKILL");
      await exit;
    }
    await socket.remove();
  }
}

/** Whether a unix socket at `path` accepts a connection now (the connection is closed at once). */
export function socketAccepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.createConnection({ path });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function _median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
