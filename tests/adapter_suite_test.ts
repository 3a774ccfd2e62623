// Runs the shared adapter suite for the memory and node adapters, plus the native one of this runtime.

import { describe } from "node:test";
import { detectRuntimeName } from "../src/runtime/detect.ts";
import { createMemoryRuntime } from "../src/runtime/memory.ts";
import { createNodeRuntime } from "../src/runtime/node.ts";
import { adapterSuite } from "./adapter_suite.ts";

describe('SocketRuntime adapter "memory"', () => {
  adapterSuite(() => Promise.resolve(createMemoryRuntime()));
});
describe('SocketRuntime adapter "node"', () => {
  adapterSuite(() => Promise.resolve(createNodeRuntime()));
});

const native = detectRuntimeName();
if (native === "deno") {
  describe('SocketRuntime adapter "deno"', () => {
    adapterSuite(async () => (await import("../src/runtime/deno.ts")).createDenoRuntime());
  });
} else if (native === "bun") {
  describe('SocketRuntime adapter "bun"', () => {
    adapterSuite(async () => (await import("../src/runtime/bun.ts")).createBunRuntime());
  });
}
