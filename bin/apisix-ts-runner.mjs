#!/usr/bin/env node
// The package's `apisix-ts-runner` command. Bun runs the TypeScript sources, as the package's "bun"
// export condition gives plugins the sources too (one copy of the runner in the process); Node and
// Deno run the built JavaScript in lib/ (Deno refuses TypeScript inside node_modules).
const entry = typeof globalThis.Bun === "undefined" ? "../lib/src/cli/bin.js" : "../src/cli/bin.ts";
await import(new URL(entry, import.meta.url).href);
