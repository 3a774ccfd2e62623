// Picks the SocketRuntime adapter of the JavaScript runtime the process runs on.

import type { SocketRuntime } from "./types.ts";

/** The real runtimes an adapter exists for. */
export const RUNTIME_NAMES = ["deno", "bun", "node"] as const;

/** Name of a real runtime an adapter exists for. */
export type RuntimeName = typeof RUNTIME_NAMES[number];

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

interface _HostGlobals {
  Deno?: {
    args: string[];
    env: { get(name: string): string | undefined };
    version: { deno: string };
    mainModule: string;
    execPath(): string;
    exit(code: number): never;
  };
  Bun?: { version: string };
  process?: {
    argv: string[];
    version: string;
    execPath: string;
    env: Record<string, string | undefined>;
    exit(code: number): never;
  };
}

const _host = globalThis as unknown as _HostGlobals;

/**
 * The command-line arguments of this process, without the runtime and the script:
 * `Deno.args` on Deno, `process.argv.slice(2)` elsewhere.
 *
 * @example
 * ```ts
 * processArgs(); // ["run", "--log-level", "debug"]
 * ```
 */
export function processArgs(): string[] {
  return _host.Deno?.args ?? _host.process?.argv.slice(2) ?? [];
}

/**
 * An environment variable of this process, or `undefined` when it is unset or
 * this process may not read it (Deno without `--allow-env` for it: the runner
 * from source runs with access to the two APISIX variables only).
 *
 * @example
 * ```ts
 * processEnv("INIT_CWD"); // where `npm run` was typed, or undefined
 * ```
 */
export function processEnv(name: string): string | undefined {
  try {
    return _host.Deno !== undefined ? _host.Deno.env.get(name) : _host.process?.env[name];
  } catch {
    return undefined;
  }
}

/**
 * The version of the runtime called `name` in this process: `2.9.5`, `1.4.5`, `v20.20.2`.
 *
 * @example
 * ```ts
 * runtimeVersion("deno"); // "2.9.5" under deno
 * ```
 */
export function runtimeVersion(name: RuntimeName = detectRuntimeName()): string {
  if (name === "deno") return _host.Deno?.version.deno ?? "?";
  if (name === "bun") return _host.Bun?.version ?? "?";
  return _host.process?.version ?? "?";
}

/**
 * Path of the program this process runs: the compiled executable when the runner
 * was compiled with `deno compile` or `bun build --compile`, else the runtime's binary.
 *
 * @example
 * ```ts
 * executablePath(); // "/usr/local/bin/apisix-ts-runner"
 * ```
 */
export function executablePath(): string {
  return _host.Deno?.execPath() ?? _host.process?.execPath ?? "?";
}

/**
 * The command that starts this same script again: `[node, script]`, `[bun, script]`
 * or `[deno, "run", "-A", script]` (the script as a path when it is a file).
 *
 * @example
 * ```ts
 * scriptCommand(); // ["/usr/bin/node", "/app/node_modules/.bin/apisix-ts-runner"]
 * ```
 */
export function scriptCommand(): string[] {
  const deno = _host.Deno;
  if (deno !== undefined) {
    const main = deno.mainModule;
    const script = main.startsWith("file://") ? decodeURIComponent(new URL(main).pathname) : main;
    return [deno.execPath(), "run", "-A", script];
  }
  const argv = _host.process?.argv ?? [];
  return [executablePath(), ...(argv[1] === undefined ? [] : [argv[1]])];
}

/**
 * Ends the process with `code`, before any adapter was loaded (a usage error).
 *
 * @example
 * ```ts
 * exitProcess(2);
 * ```
 */
export function exitProcess(code: number): never {
  if (_host.Deno !== undefined) _host.Deno.exit(code);
  if (_host.process !== undefined) _host.process.exit(code);
  throw new Error(`exit ${code}`);
}
