// Keeps the house in order: the core names no runtime, and each entry's imports stay inside its wing.
//
// Usage: deno run -A scripts/check_boundary.ts   (also run by tests/boundary_test.ts)

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** Names only the runtime adapters and the composition roots may mention. */
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

/**
 * Folders outside the runtime-blind core: the adapters, the runner's composition root
 * (environment, signals, log files), the CLI and the dev tools.
 */
// src/ops is loaded by the runner only, like src/runner: node:http and node:process (which Deno,
// Bun and Node all provide) serve the metrics endpoint and the process metrics there.
const EXEMPT_DIRECTORIES = new Set(["src/runtime", "src/runner", "src/cli", "src/dev", "src/ops"]);

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
 * Lists every line of `src/**\/*.ts` (outside the exempt folders and `*_test.ts`)
 * that mentions a {@linkcode FORBIDDEN_NAMES} entry.
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

/** What one entry file's static imports must never reach. */
export interface WingRule {
  /** The entry, relative to the root. */
  readonly entry: string;
  /** Folders (relative, `/`-separated) its static import graph must stay out of. */
  readonly forbidden: readonly string[];
  /** Whether `node:` builtins are forbidden too. */
  readonly noNodeBuiltins: boolean;
}

/**
 * The three wings: what a plugin author imports loads no runner, no CLI and no `node:`
 * module; the runner loads no CLI; nothing in the product loads the dev tools except the
 * CLI's `dev` command, through a dynamic import, and the dev tools load no CLI.
 */
export const WING_RULES: readonly WingRule[] = [
  {
    entry: "mod.ts",
    forbidden: [
      "src/cli",
      "src/runner",
      "src/server",
      "src/runtime",
      "src/dev",
      "src/conf",
      "src/ops",
    ],
    noNodeBuiltins: true,
  },
  {
    entry: "plugins/mod.ts",
    forbidden: ["src/cli", "src/runner", "src/server", "src/runtime", "src/dev", "src/ops"],
    noNodeBuiltins: true,
  },
  {
    entry: "testing.ts",
    forbidden: ["src/cli", "src/runner", "src/runtime", "src/dev", "src/ops"],
    noNodeBuiltins: true,
  },
  // prom-client and the OpenTelemetry SDK are imported only when switched on (dynamic imports).
  {
    entry: "runner.ts",
    forbidden: [
      "src/cli",
      "src/dev",
      "plugins",
      "src/ops/prometheus.ts",
      "src/ops/tracing.ts",
      "src/ops/metrics_http.ts",
      "node_modules",
    ],
    noNodeBuiltins: false,
  },
  { entry: "src/cli/main.ts", forbidden: ["src/dev"], noNodeBuiltins: false },
  { entry: "src/dev/dev_command.ts", forbidden: ["src/cli"], noNodeBuiltins: false },
];

/** One import that crosses a wing's wall. */
export interface WingOffence {
  /** The entry whose graph reaches it. */
  readonly entry: string;
  /** The module reached: a root-relative path or a `node:` specifier. */
  readonly reached: string;
}

/**
 * Follows each rule's entry through its static imports (type imports included, dynamic
 * imports not: those load only when their command runs) with `deno info`, and lists every
 * module the rule forbids. Entries missing below `root` are skipped.
 *
 * @example
 * ```ts
 * const offences = checkWings("/work/main");
 * ```
 */
export function checkWings(
  root: string,
  rules: readonly WingRule[] = WING_RULES,
): WingOffence[] {
  const offences: WingOffence[] = [];
  for (const rule of rules) {
    if (!existsSync(join(root, rule.entry))) continue;
    for (const reached of staticGraph(root, rule.entry)) {
      const forbidden = reached.startsWith("node:")
        ? rule.noNodeBuiltins
        : rule.forbidden.some((dir) => reached === dir || reached.startsWith(`${dir}/`));
      if (forbidden) offences.push({ entry: rule.entry, reached });
    }
  }
  return offences;
}

/**
 * The modules `entry` reaches through static imports: root-relative paths of local files
 * and `node:` specifiers (npm packages are not listed).
 */
export function staticGraph(root: string, entry: string): string[] {
  const deno = join(root, "node_modules", ".bin", "deno");
  const result = spawnSync(existsSync(deno) ? deno : "deno", ["info", "--json", entry], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  if (result.status !== 0) throw new Error(`deno info ${entry} failed: ${result.stderr}`);
  const info = JSON.parse(result.stdout) as {
    roots: string[];
    modules: {
      specifier: string;
      dependencies?: {
        code?: { specifier: string };
        type?: { specifier: string };
        isDynamic?: boolean;
      }[];
    }[];
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const queue = [...info.roots];
  while (queue.length > 0) {
    const specifier = queue.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dep of bySpecifier.get(specifier)?.dependencies ?? []) {
      if (dep.isDynamic) continue;
      for (const target of [dep.code?.specifier, dep.type?.specifier]) {
        if (target !== undefined && !seen.has(target)) queue.push(target);
      }
    }
  }
  const reached: string[] = [];
  for (const specifier of seen) {
    if (specifier.startsWith("node:")) reached.push(specifier);
    else if (specifier.startsWith("file://")) {
      const rel = relative(root, fileURLToPath(specifier)).split(sep).join("/");
      if (!rel.startsWith("node_modules/") && !rel.startsWith("..")) reached.push(rel);
    }
  }
  return reached.sort();
}

if (import.meta.main) {
  const root = join(import.meta.dirname ?? ".", "..");
  const offences = await checkBoundary(root);
  for (const { file, line, name } of offences) {
    console.error(`${file}:${line}: the core must not mention "${name}"`);
  }
  const crossings = checkWings(root);
  for (const { entry, reached } of crossings) {
    console.error(`${entry} must not load ${reached}`);
  }
  if (offences.length + crossings.length > 0) process.exit(1);
  for (const rule of WING_RULES) {
    console.log(`${rule.entry}: ${staticGraph(root, rule.entry).length} modules`);
  }
  console.log("Boundary check passed: the core names no runtime; every entry stays in its wing.");
}
