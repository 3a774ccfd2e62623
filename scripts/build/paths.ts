// Where the build script finds things: the repository root, the deno and bun binaries, the caller's directory.

import { existsSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** Absolute path of the repository root. */
export const ROOT: string = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");

/** The deno binary: the one installed from npm in this repository, else `deno` on PATH. */
export const DENO: string = _localBin("deno");
/** The bun binary: the one installed from npm in this repository, else `bun` on PATH. */
export const BUN: string = _localBin("bun");

/**
 * The directory the user ran the build from. npm and deno task run scripts in
 * the project directory; INIT_CWD is where the user typed it.
 */
export function callerCwd(): string {
  return process.env.INIT_CWD ?? process.cwd();
}

/** `path` relative to `cwd` when it lies below it, else unchanged (for messages). */
export function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

function _localBin(name: string): string {
  const local = join(ROOT, "node_modules", ".bin", name);
  return existsSync(local) ? local : name;
}
