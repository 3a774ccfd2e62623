// Builds lib/: the package's ESM JavaScript and .d.ts for Node and Deno (run by prepare, prepack and the tests).
//
// Usage: deno run -A scripts/build_lib.ts
// Bun loads the TypeScript sources (the "bun" export condition); Node cannot run TypeScript and
// Deno refuses it inside node_modules, so both get JavaScript compiled by tsc, one file per source.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";

const root = new URL("..", import.meta.url).pathname;
rmSync(join(root, "lib"), { recursive: true, force: true });
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
// tsc is a Node program: run it with node, which npm itself needs anyway.
const result = spawnSync("node", [tsc, "-p", join(root, "tsconfig.lib.json")], {
  cwd: root,
  stdio: "inherit",
});
if (result.status !== 0) {
  console.error(`tsc failed with exit code ${result.status}`);
  process.exit(1);
}

// tsc rewrites `./x.ts` to `./x.js` in the JavaScript only; the declarations keep `.ts`, which
// Deno cannot resolve next to a `.d.ts`. Point them at the JavaScript, as the JavaScript does.
for (const file of _files(join(root, "lib"))) {
  if (!file.endsWith(".d.ts")) continue;
  const text = readFileSync(file, "utf8");
  const fixed = text.replace(
    /((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']+)\.ts(["'])/g,
    "$1$2.js$3",
  );
  if (fixed !== text) writeFileSync(file, fixed);
}

function _files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? _files(path) : [path];
  });
}
