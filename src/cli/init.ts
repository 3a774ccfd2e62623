// `init`: sets up a plugin project (a starter plugin and test, dev routes, scripts), never overwriting a file.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { RuntimeName } from "../runtime/detect.ts";
import { VERSION } from "../version.ts";
import { UsageError } from "./errors.ts";
import {
  HELLO_PLUGIN,
  HELLO_TEST,
  ROUTES,
  starterDevDependencies,
  starterReadme,
  starterScripts,
  TSCONFIG,
} from "./init_templates.ts";

/** Options of {@linkcode runInit}. */
export interface InitOptions {
  /** The project folder (created when missing). */
  readonly dir: string;
  /** The runtime the scripts use. */
  readonly runtime: RuntimeName;
}

/** What {@linkcode runInit} did. */
export interface InitResult {
  /** Files written, relative to the project folder. */
  readonly written: readonly string[];
  /** Files left alone because they existed. */
  readonly kept: readonly string[];
  /** Lines for the user: what happened and the next commands. */
  readonly report: readonly string[];
}

const PACKAGE = "apisix-ts-plugin-runner";

/**
 * Writes a starter into `dir`: `plugins/hello.ts` and its test on the test kit,
 * `routes.json` for `dev`, `tsconfig.json` (and `deno.json` on Deno), a
 * README, and the scripts `test`, `dev`, `build`, `runner` and `doctor` in
 * `package.json`, which gets the runner as a dependency. Existing files, scripts
 * and dependencies are kept as they are.
 *
 * @throws {UsageError} when `package.json` or `deno.json` is not a JSON object.
 * @example
 * ```ts
 * const result = runInit({ dir: "/work/my-plugins", runtime: "node" });
 * result.report.forEach((line) => console.log(line));
 * ```
 */
export function runInit(options: InitOptions): InitResult {
  const { dir, runtime } = options;
  mkdirSync(join(dir, "plugins"), { recursive: true });
  const written: string[] = [];
  const kept: string[] = [];
  const put = (file: string, text: string) => {
    if (existsSync(join(dir, file))) kept.push(file);
    else {
      writeFileSync(join(dir, file), text);
      written.push(file);
    }
  };
  const name = basename(dir).toLowerCase().replace(/[^a-z0-9._-]+/g, "-") || "apisix-plugins";
  const notes = _updatePackageJson(dir, name, runtime, written);
  if (runtime === "deno") _updateDenoJson(dir, written);
  put("plugins/hello.ts", HELLO_PLUGIN);
  put("plugins/hello_test.ts", HELLO_TEST);
  put("routes.json", ROUTES);
  put("tsconfig.json", TSCONFIG);
  put("README.md", starterReadme(name, runtime));
  _appendGitignore(dir, written);

  const run = runtime === "node" ? "npm run" : runtime === "bun" ? "bun run" : "deno task";
  const install = runtime === "node"
    ? "npm install"
    : runtime === "bun"
    ? "bun install"
    : "deno install";
  const report = [
    `Set up ${dir} for ${runtime}.`,
    ...(written.length > 0 ? [`Wrote: ${written.join(", ")}`] : []),
    ...(kept.length > 0 ? [`Kept as they were: ${kept.join(", ")}`] : []),
    ...notes,
    "Next:",
    `  ${install}`,
    `  ${run} test     # the plugin's tests`,
    `  ${run} dev      # curl 'http://127.0.0.1:9080/hello?name=APISIX'`,
    `  ${run} build    # one executable for APISIX's ext-plugin.cmd`,
  ];
  return { written, kept, report };
}

function _updatePackageJson(
  dir: string,
  name: string,
  runtime: RuntimeName,
  written: string[],
): string[] {
  const path = join(dir, "package.json");
  const exists = existsSync(path);
  const manifest = exists ? _readObject(path) : { name, version: "0.1.0", private: true };
  const notes: string[] = [];
  if (manifest.type === undefined) manifest.type = "module";
  else if (manifest.type !== "module") {
    notes.push(
      `Note: package.json has "type": ${JSON.stringify(manifest.type)}; the starter's ` +
        `plugins are ES modules, which TypeScript tools load as such anyway.`,
    );
  }
  const scripts = _object(manifest, "scripts");
  if (runtime !== "deno") {
    for (const [script, command] of Object.entries(starterScripts(runtime))) {
      if (scripts[script] === undefined) scripts[script] = command;
      else notes.push(`Kept your "${script}" script; the starter's would be: ${command}`);
    }
  }
  const dependencies = _object(manifest, "dependencies");
  const devDependencies = _object(manifest, "devDependencies");
  if (dependencies[PACKAGE] === undefined && devDependencies[PACKAGE] === undefined) {
    dependencies[PACKAGE] = `^${VERSION}`;
  }
  for (const [dep, range] of Object.entries(starterDevDependencies(runtime))) {
    if (dependencies[dep] === undefined && devDependencies[dep] === undefined) {
      devDependencies[dep] = range;
    }
  }
  if (Object.keys(scripts).length === 0) delete manifest.scripts;
  if (Object.keys(devDependencies).length === 0) delete manifest.devDependencies;
  writeFileSync(path, `${JSON.stringify(manifest, null, 2)}\n`);
  written.push(exists ? "package.json (scripts and dependencies added)" : "package.json");
  return notes;
}

function _updateDenoJson(dir: string, written: string[]): void {
  const path = join(dir, "deno.json");
  const exists = existsSync(path);
  const config = exists ? _readObject(path) : {};
  const tasks = _object(config, "tasks");
  for (const [task, command] of Object.entries(starterScripts("deno"))) {
    tasks[task] ??= command;
  }
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  written.push(exists ? "deno.json (tasks added)" : "deno.json");
}

function _appendGitignore(dir: string, written: string[]): void {
  const path = join(dir, ".gitignore");
  const lines = existsSync(path) ? readFileSync(path, "utf8").split("\n") : [];
  const missing = ["node_modules/", "dist/", ".apisix-ts-runner/"].filter((l) =>
    !lines.includes(l)
  );
  if (missing.length === 0) return;
  const head = lines.length > 0 && lines.at(-1) !== "" ? "\n" : "";
  writeFileSync(path, `${lines.join("\n")}${head}${missing.join("\n")}\n`);
  written.push(".gitignore");
}

function _readObject(path: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new UsageError(`Cannot read ${path}: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(`${path} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

function _object(parent: Record<string, unknown>, key: string): Record<string, string> {
  const value = parent[key];
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    return value as Record<string, string>;
  }
  const fresh: Record<string, string> = {};
  parent[key] = fresh;
  return fresh;
}
