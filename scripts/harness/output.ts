// Finds, in what a test runner or type checker printed, why a file failed to load or type-check.

import { stripAnsi } from "./junit.ts";

/** A type error: where, and the checker's message. */
export interface TypeErrorLine {
  /** `file:line:column`, relative to the run's root. */
  readonly at: string;
  /** `TS2322 Type 'string' is not assignable to type 'number'.` */
  readonly message: string;
}

/**
 * The type errors in Deno's output (`TS2322 [ERROR]: …` followed by `at file:///…:3:7`), with
 * their paths made relative to `root`.
 */
export function typeErrors(output: string, root: string): TypeErrorLine[] {
  const lines = stripAnsi(output).split("\n");
  const found: TypeErrorLine[] = [];
  for (let i = 0; i < lines.length; i++) {
    const head = /^(TS\d+) \[ERROR\]: (.*)$/.exec(lines[i]!.trim());
    if (head === null) continue;
    let at = "?";
    for (let j = i + 1; j < Math.min(lines.length, i + 30); j++) {
      const where = /^\s+at (file:\/\/\S+)$/.exec(lines[j]!);
      if (where !== null) {
        at = _relative(decodeURIComponent(where[1]!.slice("file://".length)), root);
        break;
      }
    }
    found.push({ at, message: `${head[1]} ${head[2]}` });
  }
  return found;
}

/**
 * Why `file` did not finish loading, from a test runner's output: the first `error:` line
 * after the file's heading (Bun: `file.ts:` then `# Unhandled error between tests`; Deno:
 * `./file.ts (uncaught error)`), or `undefined` when the output does not say.
 */
export function loadError(output: string, file: string): string | undefined {
  const lines = stripAnsi(output).split("\n");
  const headings = [
    `${file}:`,
    `./${file}:`,
    `${file} (uncaught error)`,
    `./${file} (uncaught error)`,
  ];
  for (let i = 0; i < lines.length; i++) {
    if (!headings.includes(lines[i]!.trim())) continue;
    for (let j = i + 1; j < Math.min(lines.length, i + 40); j++) {
      const line = lines[j]!.trim();
      if (line.startsWith("error:")) return line;
      // The next file's heading: this one printed no error of its own.
      if (/^\S+_test\.ts:$/.test(line)) break;
    }
  }
  return undefined;
}

function _relative(path: string, root: string): string {
  const prefix = root.endsWith("/") ? root : `${root}/`;
  return path.startsWith(prefix) ? path.slice(prefix.length) : path;
}
