// APISIX reloads under load: a new runner takes the socket path over, the old one drains; no call may fail.

import { describe, test } from "node:test";
import { runnerSkipReason } from "./support/e2e_helpers.ts";
import { assertReloadsUnderLoad } from "./support/reload_under_load.ts";
import type { RunnerRuntime } from "./support/runner_process.ts";

const RUNTIMES: readonly RunnerRuntime[] = ["deno", "bun", "node"];
const RELOADS = 20;
const WORKERS = 16;

for (const runtime of RUNTIMES) {
  describe(`APISIX reload under load on ${runtime}`, { skip: runnerSkipReason(runtime) }, () => {
    test(`${RELOADS} reloads with ${WORKERS} calls always in flight: every call gets its reply`, {
      timeout: 120_000,
    }, () => assertReloadsUnderLoad(runtime, { runtime }, { reloads: RELOADS, workers: WORKERS }));
  });
}
