// Lets Node import the user's TypeScript plugin modules (Deno and Bun load TypeScript themselves).

import { detectRuntimeName } from "../runtime/detect.ts";

let _enabled: Promise<void> | undefined;

/**
 * Makes `import()` of `file` work on this runtime. Deno and Bun run TypeScript
 * as is. Node 20 cannot: there the `tsx` package (esbuild-based, what Node users
 * run TypeScript with) is registered once from the user's project, and a clear
 * error names the package to add when it is missing.
 *
 * @example
 * ```ts
 * await enableTypeScriptImports("/app/plugins/auth.ts");
 * const module = await import("file:///app/plugins/auth.ts");
 * ```
 */
export function enableTypeScriptImports(file: string): Promise<void> {
  if (!/\.(ts|mts|cts)$/.test(file) || detectRuntimeName() !== "node") return Promise.resolve();
  return _enabled ??= _registerTsx();
}

async function _registerTsx(): Promise<void> {
  let api: { register(): unknown };
  try {
    // Resolved from this package's place in the user's node_modules, so the project's tsx is
    // found; not a literal, so that no compiler tries to bundle it.
    const specifier = "tsx/esm/api";
    api = await import(specifier) as { register(): unknown };
  } catch {
    throw new Error(
      "Node needs the tsx package to load TypeScript plugins: add it to your project " +
        "(npm i -D tsx), or run the CLI with Bun or Deno, which load TypeScript themselves",
    );
  }
  api.register();
}
