// Type-checks the user's plugin modules before a build: with tsc (tsconfig.json) or deno check (deno.json).

import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { TypeCheckError } from "../errors.ts";
import { displayPath, type ProjectTools } from "../tools.ts";
import { runCommand } from "./run.ts";

/** Which checker ran, for the build log. */
export interface TypeCheckResult {
  /** `tsc 5.9.3` or `deno check`. */
  readonly checker: string;
}

/**
 * Type-checks `files` (and what they import) the way the project is set up: a
 * project with a `deno.json` is checked by `deno check`; otherwise by the
 * project's `tsc` (extending its `tsconfig.json` when there is one), or by
 * `deno check` when TypeScript is not installed.
 *
 * @throws {TypeCheckError} listing `file:line:column: TSnnnn message` per error.
 * @throws {Error} naming the packages to add when no checker is installed.
 * @example
 * ```ts
 * await typeCheck(["/app/plugins/auth.ts"], { tools, workDir: "/app/.apisix-ts-runner/x" });
 * ```
 */
export async function typeCheck(
  files: readonly string[],
  options: { tools: ProjectTools; workDir: string },
): Promise<TypeCheckResult> {
  const { tools, workDir } = options;
  const root = tools.projectRoot;
  const hasDenoJson = existsSync(join(root, "deno.json"));
  const hasTsconfig = existsSync(join(root, "tsconfig.json"));
  const useDeno = tools.deno !== undefined && (hasDenoJson || tools.tsc === undefined);
  if (useDeno) {
    const { code, output } = await runCommand(tools.deno!, ["check", ...files], root);
    if (code !== 0) throw new TypeCheckError("deno check", _denoErrors(output, root));
    return { checker: "deno check" };
  }
  if (tools.tsc === undefined) {
    throw new Error(
      "The build type-checks your plugins first and needs TypeScript or Deno for that: add " +
        "one to your project (npm i -D typescript, or npm i -D deno), or pass --no-check",
    );
  }
  const project = join(workDir, "tsconfig.check.json");
  writeFileSync(project, JSON.stringify(_tsconfig(files, root, hasTsconfig), null, 2));
  const { code, output } = await runCommand(
    tools.tsc.runtime,
    [tools.tsc.script, "--pretty", "false", "-p", project],
    root,
  );
  if (code !== 0) throw new TypeCheckError("tsc", _tscErrors(output, root));
  return { checker: "tsc" };
}

/** A tsconfig that checks `files` with the project's options, or sensible ones without a tsconfig. */
function _tsconfig(files: readonly string[], root: string, extend: boolean): unknown {
  const base = extend ? { extends: join(root, "tsconfig.json") } : {};
  const compilerOptions = extend ? { noEmit: true } : {
    noEmit: true,
    strict: true,
    target: "es2022",
    module: "esnext",
    moduleResolution: "bundler",
    allowImportingTsExtensions: true,
    skipLibCheck: true,
    lib: ["es2022", "dom"],
    types: [],
  };
  return { ...base, compilerOptions, files: files.map((f) => resolve(f)) };
}

/** `plugins/bad.ts(3,7): error TS2322: msg` → `plugins/bad.ts:3:7: TS2322 msg`. */
function _tscErrors(output: string, root: string): string[] {
  const errors: string[] = [];
  for (const line of output.split("\n")) {
    const m = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/.exec(line.trim());
    if (m !== null) {
      // tsc names files relative to its working directory, the project root.
      const file = displayPath(resolve(root, m[1]!), root);
      errors.push(`${file}:${m[2]}:${m[3]}: ${m[4]} ${m[5]}`);
    } else if (/^error TS\d+:/.test(line.trim())) {
      errors.push(line.trim());
    }
  }
  return errors.length > 0 ? errors : [output.trim()];
}

/** Deno's `TS2322 [ERROR]: msg` … `at file:///x.ts:3:7` → `x.ts:3:7: TS2322 msg`. */
function _denoErrors(output: string, root: string): string[] {
  const lines = output.split("\n");
  const errors: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const head = /^(TS\d+) \[ERROR\]: (.*)$/.exec(lines[i]!.trim());
    if (head === null) continue;
    let at = "?";
    for (let j = i + 1; j < Math.min(lines.length, i + 30); j++) {
      const where = /^\s+at (file:\/\/\S+):(\d+):(\d+)$/.exec(lines[j]!);
      if (where !== null) {
        at = `${displayPath(fileURLToPath(where[1]!), root)}:${where[2]}:${where[3]}`;
        break;
      }
    }
    errors.push(`${at}: ${head[1]} ${head[2]}`);
  }
  return errors.length > 0 ? errors : [output.trim()];
}
