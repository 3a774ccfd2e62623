// A real redis-server for the tests: a free loopback port and a temp directory, stopped afterwards.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./e2e_helpers.ts";
import { serverPath, serversMissing } from "./test_servers.ts";

/** A running redis-server. */
export interface RedisServer {
  readonly port: number;
  /** Stops it (SIGTERM) and removes its directory. */
  stop(): Promise<void>;
}

/** Why redis-server cannot run here; in CI (REQUIRE_TEST_SERVERS) the test runs and fails instead. */
export function redisMissing(): string | undefined {
  return serversMissing(["redis-server"], "redis-server");
}

/** Starts redis-server on a free port without persistence; resolves once it accepts connections. */
export async function startRedis(): Promise<RedisServer> {
  const program = serverPath("redis-server");
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "apisix-ts-redis-"));
  const child: ChildProcess = spawn(program, [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
  ], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`redis-server did not start:\n${output}`)),
      10_000,
    );
    child.stdout!.on("data", (chunk) => {
      output += chunk;
      if (output.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`redis-server exited (${code}):\n${output}`)));
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    port,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
