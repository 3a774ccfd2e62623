// Tests of the dev command's refusals before anything starts.

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseRunnerArgs } from "../runner/args.ts";
import { runDev } from "./dev_command.ts";

test("runDev() exits 2 without starting anything when the routes cannot be used", async () => {
  const cwd = await mkdtemp(join(tmpdir(), "dev-command-test-"));
  const errors: string[] = [];
  const original = console.error;
  console.error = (message: string) => errors.push(message);
  try {
    const options = {
      ...parseRunnerArgs([]),
      plugins: [],
      demo: false,
      port: 0,
      upstreamPort: 0,
      program: "runner",
      cwd,
    };
    assert.equal(await runDev({ ...options, routesFile: undefined }), 2);
    assert.equal(await runDev({ ...options, routesFile: "/nonexistent/routes.json" }), 2);
  } finally {
    console.error = original;
    await rm(cwd, { recursive: true, force: true });
  }
  assert.match(errors[0]!, /"runner dev" needs a routes file: pass --routes <file> or put a/);
  assert.match(errors[1]!, /^Cannot read routes file \/nonexistent\/routes\.json: /);
});
