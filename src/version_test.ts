// VERSION, package.json and deno.json name one version: what `version` prints is what was published.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { VERSION } from "./version.ts";

function versionIn(file: string): unknown {
  const url = new URL(`../${file}`, import.meta.url);
  return (JSON.parse(readFileSync(url, "utf8")) as { version?: unknown }).version;
}

test("VERSION equals the version of package.json and deno.json", () => {
  assert.equal(versionIn("package.json"), VERSION);
  assert.equal(versionIn("deno.json"), VERSION);
});
