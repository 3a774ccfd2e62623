// Keeps the README's "write your first plugin" code equal to the example files that CI runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";

const root = new URL("../", import.meta.url);

async function readmeBlocks(): Promise<string[]> {
  const readme = await readFile(new URL("README.md", root), "utf8");
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]);
}

for (const file of ["add_greeting.ts", "add_greeting_test.ts"]) {
  test(`README shows examples/first_plugin/${file} exactly`, async () => {
    const source = await readFile(new URL(`examples/first_plugin/${file}`, root), "utf8");
    assert.ok(
      (await readmeBlocks()).includes(source),
      `README.md has no \`\`\`ts block equal to examples/first_plugin/${file}`,
    );
  });
}
