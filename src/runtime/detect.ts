// Picks the SocketRuntime adapter of the JavaScript runtime the process runs on.

import type { SocketRuntime } from "./types.ts";

/** Names of the real runtimes an adapter exists for. */
export type RuntimeName = "deno" | "bun" | "node";

/**
 * Names the runtime this process runs on: `"bun"` when `globalThis.Bun`
 * exists (checked first: Bun does not define `Deno`), `"deno"` when
 * `globalThis.Deno` exists, else `"node"`.
 *
 * @example
 * ```ts
 * detectRuntimeName(); // "deno" under `deno run`
 * ```
 */
export function detectRuntimeName(): RuntimeName {
  const global = globalThis as { Bun?: unknown; Deno?: unknown };
  if (global.Bun !== undefined) return "bun";
  if (global.Deno !== undefined) return "deno";
  return "node";
}

/**
 * Loads the adapter of `name` (default: {@linkcode detectRuntimeName}). Each
 * adapter module exports a factory (`createDenoRuntime()`, `createBunRuntime()`,
 * `createNodeRuntime()`); the imports are string literals so that
 * `deno compile` and `bun build --compile` bundle them.
 *
 * @example
 * ```ts
 * const runtime = await loadRuntime();
 * const listener = await runtime.listenUnix("/tmp/runner.sock", { mode: 0o766 });
 * ```
 */
export async function loadRuntime(name: RuntimeName = detectRuntimeName()): Promise<SocketRuntime> {
  switch (name) {
    case "deno":
      return (await import("./deno.ts")).createDenoRuntime();
    case "bun":
      return (await import("./bun.ts")).createBunRuntime();
    case "node":
      return (await import("./node.ts")).createNodeRuntime();
  }
}
