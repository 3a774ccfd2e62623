// The test harness itself (scripts/test.ts) over a small fixture tree: a red file is never reported green.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, before, describe, test } from "node:test";

const repo = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const deno = join(repo, "node_modules", ".bin", "deno");

const FIXTURES: Record<string, string> = {
  "pass_test.ts": `import { test } from "node:test";
import assert from "node:assert/strict";
test("adds", () => assert.equal(1 + 1, 2));
`,
  "throws_test.ts": `import { test } from "node:test";
import assert from "node:assert/strict";
test("registered before the throw", () => assert.ok(true));
throw new Error("boom at load");
`,
  "typeerr_test.ts": `import { test } from "node:test";
import assert from "node:assert/strict";
const n: number = "not a number";
test("uses n", () => assert.equal(typeof n, "string"));
`,
  "one_runner_test.ts": `import { test } from "node:test";
import assert from "node:assert/strict";
test("fails under bun only", () => {
  assert.equal((globalThis as { Bun?: unknown }).Bun, undefined, "this runner is bun");
});
`,
};

let dir = "";

function harness(...args: string[]): { code: number; out: string } {
  const result = spawnSync(deno, [
    "run",
    "-A",
    join(repo, "scripts/test.ts"),
    "--quick",
    "--root",
    dir,
    ...args,
  ], {
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { code: result.status ?? -1, out: `${result.stdout}${result.stderr}` };
}

function lastLine(out: string): string {
  return out.trimEnd().split("\n").at(-1) ?? "";
}

describe("scripts/test.ts", () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "harness-"));
    for (const [name, text] of Object.entries(FIXTURES)) writeFileSync(join(dir, name), text);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("scripts/test.ts exits 0 and counts each runner's tests over a passing file", () => {
    const { code, out } = harness("pass_test");
    assert.equal(code, 0, out);
    assert.match(out, /^deno test: 1 passed, 0 failed, 0 skipped$/m);
    assert.match(out, /^bun test: 1 passed, 0 failed, 0 skipped$/m);
    assert.equal(lastLine(out), "2 passed, 0 failed, 0 skipped");
  });

  test("scripts/test.ts names a type error and never reads the previous run's report", () => {
    // The passing run above left reports behind; this run's Deno writes none.
    const { code, out } = harness();
    assert.equal(code, 1, out);
    assert.match(out, /FAILED: deno test wrote no report \(exit 1\)/);
    assert.match(out, /type error at typeerr_test\.ts:3:7: TS2322/);
    assert.doesNotMatch(out, /^deno test: 1 passed/m);
    assert.match(lastLine(out), /^\d+ passed, [1-9]\d* failed/);
  });

  test("scripts/test.ts reports a file that throws at load under each runner", () => {
    const { code, out } = harness("pass_test", "throws_test");
    assert.equal(code, 1, out);
    assert.match(
      out,
      /FAILED: deno test: throws_test\.ts throws while loading: Error: boom at load/,
    );
    assert.match(out, /FAILED: bun test: throws_test\.ts failed to load: error: boom at load/);
    assert.match(out, /^deno test: \d+ passed, 1 failed/m);
    assert.match(out, /^bun test: 1 passed, 1 failed/m);
  });

  test("scripts/test.ts fails when its selection runs no test", () => {
    const { code, out } = harness("no_such_test");
    assert.equal(code, 1, out);
    assert.match(out, /FAILED: no test ran: no test file matches \["no_such_test"\]/);
    assert.equal(lastLine(out), "0 passed, 1 failed, 0 skipped");
  });

  test("scripts/test.ts fails on an assertion that fails under one runner only", () => {
    const { code, out } = harness("one_runner_test");
    assert.equal(code, 1, out);
    assert.match(out, /FAILED: bun test: one_runner_test\.ts > fails under bun only/);
    assert.match(out, /^deno test: 1 passed, 0 failed/m);
    assert.equal(lastLine(out), "1 passed, 1 failed, 0 skipped");
  });
});
