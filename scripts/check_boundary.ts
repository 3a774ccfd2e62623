// Fails when runtime-specific names leak into the runtime-blind core (src/ outside runtime/ and cli/).

import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import process from "node:process";

/** Names only src/runtime/ and src/cli/ may mention. */
export const FORBIDDEN_NAMES: readonly string[] = [
  "Deno.",
  "Bun.",
  "process.",
  "node:net",
  "node:fs",
  "node:child_process",
];

/** One forbidden name found in a core file. */
export interface BoundaryOffence {
  /** Path relative to the project root, with `/` separators. */
  file: string;
  /** 1-based line number. */
  line: number;
  /** The forbidden name found. */
  name: string;
}

const EXEMPT_DIRECTORIES = new Set(["src/runtime", "src/cli"]);

async function* _coreFiles(root: string, dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const rel = relative(root, path).split(sep).join("/");
    if (entry.isDirectory()) {
      if (!EXEMPT_DIRECTORIES.has(rel)) yield* _coreFiles(root, path);
    } else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) {
      yield rel;
    }
  }
}

/**
 * Lists every line of `src/**\/*.ts` (outside `src/runtime/`, `src/cli/` and
 * `*_test.ts`) that mentions a {@linkcode FORBIDDEN_NAMES} entry.
 *
 * @example
 * ```ts
 * const offences = await checkBoundary("/work/main");
 * if (offences.length > 0) console.error(offences);
 * ```
 */
export async function checkBoundary(root: string): Promise<BoundaryOffence[]> {
  const offences: BoundaryOffence[] = [];
  for await (const file of _coreFiles(root, join(root, "src"))) {
    const lines = (await readFile(join(root, file), "utf8")).split("\n");
    lines.forEach((text, index) => {
      for (const name of FORBIDDEN_NAMES) {
        if (text.includes(name)) offences.push({ file, line: index + 1, name });
      }
    });
  }
  return offences;
}

if (import.meta.main) {
  const root = join(import.meta.dirname ?? ".", "..");
  const offences = await checkBoundary(root);
  for (const { file, line, name } of offences) {
    console.error(`${file}:${line}: the core must not mention "${name}"`);
  }
  if (offences.length > 0) process.exit(1);
  console.log("Boundary check passed: the core names no runtime.");
}
