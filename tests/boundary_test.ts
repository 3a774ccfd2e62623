// Keeps the house in order: the core names no runtime, and each entry's import graph stays in its wing.

import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { checkBoundary, checkWings, staticGraph } from "../scripts/check_boundary.ts";

const ROOT = join(import.meta.dirname ?? ".", "..");

test("checkBoundary() finds no runtime names in the core", async () => {
  assert.deepEqual(await checkBoundary(ROOT), []);
});

test("checkBoundary() reports a core file naming a runtime, and spares runtime/, cli/ and tests", async () => {
  const root = await mkdtemp(join(tmpdir(), "boundary-"));
  try {
    await mkdir(join(root, "src", "server"), { recursive: true });
    await mkdir(join(root, "src", "runtime"), { recursive: true });
    await mkdir(join(root, "src", "cli"), { recursive: true });
    await writeFile(join(root, "src", "server", "bad.ts"), "const a = 1;\nDeno.exit(1);\n");
    await writeFile(join(root, "src", "server", "bad_test.ts"), "Deno.exit(1);\n");
    await writeFile(join(root, "src", "runtime", "deno.ts"), "Deno.exit(1);\n");
    await writeFile(join(root, "src", "cli", "main.ts"), 'import "node:fs";\n');
    assert.deepEqual(await checkBoundary(root), [
      { file: "src/server/bad.ts", line: 2, name: "Deno." },
    ]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("checkWings() finds every entry in its wing: mod.ts loads no runner, CLI, dev tool or node: module", () => {
  assert.deepEqual(checkWings(ROOT), []);
  const graph = staticGraph(ROOT, "mod.ts");
  assert.ok(graph.includes("src/plugin/define_plugin.ts"), graph.join(", "));
  assert.ok(graph.length < 40, `mod.ts loads ${graph.length} modules`);
});

test("checkWings() reports mod.ts reaching the CLI or a node: builtin, and the CLI reaching dev statically", async () => {
  const root = await mkdtemp(join(tmpdir(), "wings-"));
  try {
    await mkdir(join(root, "src", "cli"), { recursive: true });
    await mkdir(join(root, "src", "dev"), { recursive: true });
    await mkdir(join(root, "src", "plugin"), { recursive: true });
    await symlink(join(ROOT, "node_modules"), join(root, "node_modules"));
    await writeFile(join(root, "mod.ts"), 'export * from "./src/plugin/api.ts";\n');
    await writeFile(
      join(root, "src", "plugin", "api.ts"),
      'import type { X } from "../cli/x.ts";\nimport "node:path";\nexport type Y = X;\n',
    );
    await writeFile(join(root, "src", "cli", "x.ts"), "export type X = number;\n");
    await writeFile(
      join(root, "src", "cli", "main.ts"),
      'import "../dev/tool.ts";\nexport const lazy = () => import("../dev/lazy.ts");\n',
    );
    await writeFile(join(root, "src", "dev", "tool.ts"), "export {};\n");
    await writeFile(join(root, "src", "dev", "lazy.ts"), "export {};\n");
    assert.deepEqual(checkWings(root), [
      { entry: "mod.ts", reached: "node:path" },
      { entry: "mod.ts", reached: "src/cli/x.ts" },
      { entry: "src/cli/main.ts", reached: "src/dev/tool.ts" },
    ]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
