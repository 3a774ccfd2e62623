// Runs the shared adapter suite for the memory and node adapters, plus the native one of this runtime.

import { detectRuntimeName } from "../src/runtime/detect.ts";
import { createMemoryRuntime } from "../src/runtime/memory.ts";
import { createNodeRuntime } from "../src/runtime/node.ts";
import { runAdapterSuite } from "./adapter_suite.ts";

runAdapterSuite("memory", () => Promise.resolve(createMemoryRuntime()));
runAdapterSuite("node", () => Promise.resolve(createNodeRuntime()));

const native = detectRuntimeName();
if (native === "deno") {
  runAdapterSuite("deno", async () => (await import("../src/runtime/deno.ts")).createDenoRuntime());
} else if (native === "bun") {
  runAdapterSuite("bun", async () => (await import("../src/runtime/bun.ts")).createBunRuntime());
}
