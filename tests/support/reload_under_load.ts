// Plays an APISIX reload under load: a Node process calling through one keepalive pool while runners replace each other.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ensureNodeBundle } from "./e2e_helpers.ts";
import {
  REPO_ROOT,
  type RunnerProcess,
  spawnRunner,
  type SpawnRunnerOptions,
  tempSocketPath,
} from "./runner_process.ts";

/** Options of {@linkcode reloadUnderLoad}. */
interface ReloadUnderLoadOptions {
  /** Starts a runner on `socketPath` and resolves once it says it listens. */
  start(socketPath: string): Promise<RunnerProcess>;
  /** The socket path every runner gets. */
  socketPath: string;
  /** How many times a new runner replaces the running one. */
  reloads: number;
  /** Calls in flight at all times (nginx workers × concurrent requests). */
  workers: number;
  /** Load between two reloads, in ms (default 150). */
  settleMs?: number;
}

/** What {@linkcode reloadUnderLoad} saw. */
interface ReloadUnderLoadResult {
  /** Calls that got their Stop reply. */
  readonly calls: number;
  /** One line per failed call: what APISIX would have answered 503 for. */
  readonly failures: readonly string[];
  /** Each replaced runner's exit: code and milliseconds from SIGTERM. */
  readonly exits: readonly { code: number | null; ms: number }[];
  /** Successors that did not log the takeover of a live runner's path at info. */
  readonly silentTakeovers: number;
}

/**
 * Runs `tests/support/pool_load_client.mjs` under Node (`workers` loops of calls
 * through one `ApisixClient`: nginx's keepalive pool, LIFO reuse, a connection
 * the runner closed is dropped and a new one opened, CONF_TOKEN_NOT_FOUND
 * re-prepares) while, `reloads` times, a new runner starts on the same path and
 * the old one then gets SIGTERM: what APISIX does on reload. Every runner is
 * disposed at the end.
 */
async function reloadUnderLoad(
  options: ReloadUnderLoadOptions,
): Promise<ReloadUnderLoadResult> {
  ensureNodeBundle();
  const runners: RunnerProcess[] = [await options.start(options.socketPath)];
  const exits: { code: number | null; ms: number }[] = [];
  let silentTakeovers = 0;
  const client = spawn(
    "node",
    [
      join(REPO_ROOT, "tests/support/pool_load_client.mjs"),
      options.socketPath,
      `${options.workers}`,
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  let output = "";
  const ready = new Promise<void>((resolve, reject) => {
    client.stdout!.on("data", (chunk: Uint8Array) => {
      output += new TextDecoder().decode(chunk);
      if (output.startsWith("ready\n")) resolve();
    });
    client.once("exit", (code) => reject(new Error(`load client exited (${code}): ${output}`)));
  });
  const exited = new Promise<void>((resolve) => client.once("close", () => resolve()));
  try {
    await ready;
    await sleep(options.settleMs ?? 150);
    for (let reload = 0; reload < options.reloads; reload++) {
      const old = runners.at(-1)!;
      const next = await options.start(options.socketPath);
      runners.push(next);
      if (!/Taking over unix:/.test(next.output())) silentTakeovers++;
      // As on APISIX: the old runner is stopped once the old workers are gone, a while after.
      await sleep(options.settleMs ?? 150);
      old.kill("SIGTERM");
      const exit = await old.exited;
      exits.push({ code: exit.code, ms: exit.ms });
      await sleep(options.settleMs ?? 150);
    }
  } finally {
    client.stdin!.end();
    await exited;
    for (const runner of runners) await runner.dispose();
  }
  const last = output.trim().split("\n").at(-1) ?? "";
  let result: { calls: number; failures: string[] };
  try {
    result = JSON.parse(last);
  } catch {
    throw new Error(`The load client printed no result: ${output}`);
  }
  return { calls: result.calls, failures: result.failures, exits, silentTakeovers };
}

/**
 * Starts a runner on `socketPath` once another may still listen there: resolves once it
 * says it listens (the old socket accepts connections too, so connecting proves nothing).
 */
async function startWhenListening(
  options: Omit<SpawnRunnerOptions, "socketPath" | "waitForSocket">,
  socketPath: string,
): Promise<RunnerProcess> {
  const runner = await spawnRunner({ ...options, socketPath, waitForSocket: false });
  await runner.waitForOutput(/Listening on/, 15_000);
  return runner;
}

/**
 * Asserts a {@linkcode reloadUnderLoad} result: no failed call, real load, every old
 * runner exited 0, every successor logged the takeover; prints the counts and the
 * slowest SIGTERM-to-exit time (a figure, not a bound).
 */
function assertCleanReloads(
  label: string,
  result: ReloadUnderLoadResult,
  workers: number,
): void {
  assert.deepEqual(result.failures.slice(0, 5), [], `${result.failures.length} failed calls`);
  assert.ok(result.calls > result.exits.length * workers, `only ${result.calls} calls`);
  assert.deepEqual(result.exits.map((exit) => exit.code), result.exits.map(() => 0));
  assert.equal(result.silentTakeovers, 0, "successors that did not log the takeover");
  const slowest = Math.max(...result.exits.map((exit) => exit.ms));
  console.log(
    `${label}: ${result.calls} calls across ${result.exits.length} reloads, 0 failed; slowest SIGTERM to exit ${
      Math.round(slowest)
    } ms`,
  );
}

/**
 * The whole reload test for one kind of runner: a fresh socket path, `reloads` reloads
 * with `workers` calls always in flight, then {@linkcode assertCleanReloads}.
 */
export async function assertReloadsUnderLoad(
  label: string,
  runner: Omit<SpawnRunnerOptions, "socketPath" | "waitForSocket">,
  options: { reloads: number; workers: number },
): Promise<void> {
  const socket = await tempSocketPath();
  try {
    const result = await reloadUnderLoad({
      socketPath: socket.path,
      ...options,
      start: (socketPath) => startWhenListening(runner, socketPath),
    });
    assertCleanReloads(label, result, options.workers);
  } finally {
    await socket.remove();
  }
}
