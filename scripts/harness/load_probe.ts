// Imports each test file given as an argument and prints one JSON line per file that throws while loading.
//
// Why: when a file registers node:test tests and then throws at load, `deno test` runs the
// registered tests and reports the file "ok" (seen on Deno 2.9.5). Outside `deno test`,
// node:test's test() and describe() register nothing, so importing the files here runs only
// their top-level code. Usage: deno run -A --no-check scripts/harness/load_probe.ts FILE...

import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import process from "node:process";

for (const file of process.argv.slice(2)) {
  try {
    await import(pathToFileURL(resolve(file)).href);
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    console.log(JSON.stringify({ file, error: message.split("\n")[0] }));
  }
}
// Test files may leave timers or sockets behind at load: the probe's answer is complete here.
process.exit(0);
