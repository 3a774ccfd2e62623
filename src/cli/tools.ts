// Where the CLI finds the user's project and its tools: deno, bun and tsc from node_modules/.bin or PATH.

import { existsSync } from "node:fs";
import { delimiter, dirname, isAbsolute, join, relative, resolve } from "node:path";
import process from "node:process";
import { detectRuntimeName, executablePath, processEnv } from "../runtime/detect.ts";

/** The user's project and the tools the CLI can use there. */
export interface ProjectTools {
  /** The nearest folder at or above the working directory with a package.json or deno.json. */
  readonly projectRoot: string;
  /** The deno binary, when there is one. */
  readonly deno: string | undefined;
  /** The bun binary, when there is one. */
  readonly bun: string | undefined;
  /** The TypeScript compiler: a JavaScript file and the runtime that runs it. */
  readonly tsc: { readonly runtime: string; readonly script: string } | undefined;
}

/**
 * The directory the user ran the command from. npm and deno task run scripts in
 * the project directory; `INIT_CWD` is where the user typed the command.
 */
export function callerCwd(): string {
  return processEnv("INIT_CWD") || process.cwd();
}

/** `path` relative to `cwd` when it lies below it, else unchanged (for messages). */
export function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

/** The nearest folder at or above `cwd` holding a package.json or deno.json; `cwd` when none. */
export function findProjectRoot(cwd: string): string {
  for (let dir = resolve(cwd);; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) || existsSync(join(dir, "deno.json"))) return dir;
    if (dir === dirname(dir)) return resolve(cwd);
  }
}

/**
 * Finds the project of `cwd` and its tools. A runtime the CLI itself runs on is
 * used as is; otherwise `node_modules/.bin` of the project (and its parents) is
 * searched first (`npm i -D deno` / `npm i -D bun`), then `PATH`. `tsc` is the
 * project's `typescript` package, run by node or bun (whichever runs the CLI,
 * else node).
 *
 * @example
 * ```ts
 * const tools = findProjectTools(process.cwd());
 * if (tools.bun === undefined) console.log("no bun: npm i -D bun");
 * ```
 */
export function findProjectTools(cwd: string): ProjectTools {
  const projectRoot = findProjectRoot(cwd);
  const running = detectRuntimeName();
  const deno = running === "deno" ? executablePath() : findExecutable("deno", projectRoot);
  const bun = running === "bun" ? executablePath() : findExecutable("bun", projectRoot);
  let tsc: ProjectTools["tsc"];
  const script = _findUp(projectRoot, join("node_modules", "typescript", "bin", "tsc"));
  if (script !== undefined) {
    const runtime = running === "deno" ? findExecutable("node", projectRoot) : executablePath();
    if (runtime !== undefined) tsc = { runtime, script };
  }
  return { projectRoot, deno, bun, tsc };
}

/** `name` in `node_modules/.bin` at or above `from`, else on PATH; `undefined` when absent. */
export function findExecutable(name: string, from: string): string | undefined {
  const local = _findUp(from, join("node_modules", ".bin", name));
  if (local !== undefined) return local;
  for (const dir of (processEnv("PATH") ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function _findUp(from: string, rel: string): string | undefined {
  for (let dir = resolve(from);; dir = dirname(dir)) {
    const candidate = join(dir, rel);
    if (existsSync(candidate)) return candidate;
    if (dir === dirname(dir)) return undefined;
  }
}
