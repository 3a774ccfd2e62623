// Keeps the core runtime-blind: runs the boundary check over src/.

import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { checkBoundary } from "../scripts/check_boundary.ts";

test("checkBoundary() finds no runtime names in the core", async () => {
  const root = join(import.meta.dirname ?? ".", "..");
  assert.deepEqual(await checkBoundary(root), []);
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
