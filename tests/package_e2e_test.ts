// End-to-end: the package as a user gets it — packed, installed into a fresh project, init, test, dev, build, doctor.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, rmdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, before, describe, test } from "node:test";
import { ApisixConnection } from "../src/dev/client/mod.ts";
import { createNodeRuntime } from "../src/runtime/node.ts";
import { REPO_ROOT, spawnRunner } from "./support/runner_process.ts";

const BIN = join(REPO_ROOT, "node_modules", ".bin");
/** PATH of the project's commands: deno and bun come from this repository, as from a global install. */
const PATH = `${BIN}:${process.env.PATH ?? ""}`;
/** A user's shell: none of the variables npm sets for the scripts of this repository. */
const ENV: Record<string, string> = Object.fromEntries(
  Object.entries(process.env).filter(([name, value]) =>
    value !== undefined && !name.startsWith("npm_") && name !== "INIT_CWD"
  ),
) as Record<string, string>;
const STEP_TIMEOUT_MS = 180_000;

let work = "";
let project = "";
let tarball = "";
let cli = "";

/** How a command ended. */
interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `command` in the project with exactly the user's environment and the test PATH. Not
 * spawnSync: Deno 2.9.5's spawnSync adds the parent's environment to `env` (npm's INIT_CWD
 * would leak in and point the CLI at this repository).
 */
function run(command: string, args: readonly string[], cwd = project): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(command, [...args], {
      cwd,
      env: { ...ENV, PATH, NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), STEP_TIMEOUT_MS);
    child.stdout.on("data", (chunk) => stdout += chunk);
    child.stderr.on("data", (chunk) => stderr += chunk);
    child.once("error", (error) => stderr += `cannot start ${command}: ${error.message}`);
    child.once("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

function output(result: Ran): string {
  return `exit ${result.status}\n${result.stdout}${result.stderr}`;
}

async function ok(running: Promise<Ran>): Promise<string> {
  const result = await running;
  assert.equal(result.status, 0, output(result));
  return `${result.stdout}${result.stderr}`;
}

describe("the packed package in a fresh project", () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), "apisix-package-e2e-"));
    project = join(work, "my-gateway-plugins");
    await mkdir(project);
    const packed = await ok(
      run("npm", ["pack", "--silent", "--pack-destination", work], REPO_ROOT),
    );
    tarball = join(work, packed.trim().split("\n").at(-1)!);
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({ name: "my-gateway-plugins", private: true }),
    );
    await ok(run("npm", ["install", "--no-audit", "--no-fund", tarball]));
    cli = join(project, "node_modules", ".bin", "apisix-ts-runner");
  });

  after(async () => {
    if (work !== "") await rm(work, { recursive: true, force: true });
  });

  test("the tarball holds no test, bench or fixture file", () => {
    const listing = spawnSync("tar", ["-tzf", tarball], { encoding: "utf8" });
    const files = listing.stdout.trim().split("\n");
    const stray = files.filter((f) =>
      /_test\.|\/tests\/|\/scripts\/|fixtures|bench|\.tmp\//.test(f)
    );
    assert.deepEqual(stray, []);
    assert.ok(files.includes("package/lib/mod.js") && files.includes("package/mod.ts"));
    console.log(
      `tarball: ${(statSync(tarball).size / 1024).toFixed(0)} KiB, ${files.length} files`,
    );
  });

  test("init writes the starter, and npm install brings what its scripts need", async () => {
    const said = await ok(run("node", [cli, "init"]));
    assert.match(
      said,
      /Wrote: package\.json \(scripts and dependencies added\), plugins\/hello\.ts/,
    );
    for (const file of ["plugins/hello.ts", "plugins/hello_test.ts", "routes.json", "README.md"]) {
      assert.ok(existsSync(join(project, file)), `${file} was not written`);
    }
    const manifest = JSON.parse(readFileSync(join(project, "package.json"), "utf8"));
    assert.match(manifest.dependencies["apisix-ts-plugin-runner"], /^file:/, "kept the install");
    assert.equal(manifest.scripts.test, "node --import tsx --test plugins/*_test.ts");
    // A second init changes nothing it wrote.
    assert.match(await ok(run("node", [cli, "init"])), /Kept as they were: plugins\/hello\.ts/);
    await ok(run("npm", ["install", "--no-audit", "--no-fund"]));
  });

  test("the starter's tests pass under Node, Bun and Deno", async () => {
    assert.match(await ok(run("npm", ["test"])), /# pass 3/);
    assert.match(await ok(run("bun", ["test", "plugins/"])), /3 pass/);
    assert.match(await ok(run("deno", ["test", "-A", "plugins/"])), /3 passed \| 0 failed/);
  });

  test("dev --watch answers the starter route over HTTP and reloads a changed plugin", async () => {
    const dev = spawn("node", [
      cli,
      "dev",
      "--plugins",
      "./plugins",
      "--routes",
      "./routes.json",
      "--port",
      "0",
      "--upstream-port",
      "0",
      "--watch",
    ], { cwd: project, env: { ...ENV, PATH, NO_COLOR: "1" } });
    let log = "";
    const seen = (pattern: RegExp) =>
      new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${pattern} in:\n${log}`)), 30_000);
        const check = () => {
          if (!pattern.test(log)) return;
          clearTimeout(timer);
          resolve(log);
        };
        dev.stdout.on("data", (chunk) => (log += chunk, check()));
        dev.stderr.on("data", (chunk) => (log += chunk, check()));
        check();
      });
    const hello = join(project, "plugins", "hello.ts");
    const original = readFileSync(hello, "utf8");
    try {
      await seen(/Ctrl-C stops the gateway/);
      const base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log)![1];
      const greeted = await fetch(`${base}/hello?name=APISIX`);
      assert.equal(greeted.status, 200);
      assert.equal(await greeted.text(), "Hello, APISIX!\n");
      const proxied = await fetch(`${base}/hello`);
      assert.equal((await proxied.json()).headers["x-greeting"], "Hello");

      writeFileSync(
        hello,
        original.replace("`${conf.greeting}, ${name}!", "`${conf.greeting}, dear ${name}!"),
      );
      await seen(/Reloaded after a change in plugins\/hello\.ts/);
      const again = await fetch(`${base}/hello?name=APISIX`);
      assert.equal(await again.text(), "Hello, dear APISIX!\n");
    } finally {
      writeFileSync(hello, original);
      dev.kill("SIGINT");
      await new Promise((resolve) => dev.once("exit", resolve));
    }
    assert.match(log, /Stopped\./);
  });

  test("build makes an executable that serves the starter plugin and stops cleanly on SIGTERM", async () => {
    const said = await ok(
      run("node", [cli, "build", "--plugins", "./plugins", "--out", "dist/runner"]),
    );
    assert.match(said, /Type check: 1 module\(s\) clean \(tsc\)/);
    const binary = join(project, "dist", "runner");
    console.log(`starter executable: ${(statSync(binary).size / 1024 / 1024).toFixed(1)} MiB`);
    const runner = await spawnRunner({ runtime: "binary", binaryPath: binary });
    const conn = await ApisixConnection.connect(createNodeRuntime(), runner.socketPath);
    try {
      const token = await conn.prepareConf(
        [{ name: "hello", value: '{"greeting":"Hi"}' }],
        "route#hello#ext-plugin-pre-req#1",
      );
      const outcome = await conn.httpReqCall({
        id: 9,
        srcIp: new Uint8Array([127, 0, 0, 1]),
        method: 0,
        path: "/hello",
        args: [{ name: "name", value: "APISIX" }],
        headers: [],
        confToken: token,
      });
      assert.equal(outcome.kind, "reply");
      const action = outcome.kind === "reply" ? outcome.response.action : undefined;
      assert.equal(action?.type, "stop");
      assert.equal(new TextDecoder().decode(action?.body), "Hi, APISIX!\n");
    } finally {
      conn.close();
    }
    runner.kill("SIGTERM");
    const exit = await runner.exited;
    assert.deepEqual([exit.code, exit.signal], [0, null], runner.output());
    assert.equal(existsSync(runner.socketPath), false, "the socket file is gone");
    await runner.dispose();
  });

  test("build stops at a type error, naming the file and line", async () => {
    const broken = join(project, "plugins", "broken.ts");
    writeFileSync(
      broken,
      `import { definePlugin } from "apisix-ts-plugin-runner";
export const broken = definePlugin({
  name: "broken",
  parseConf: (raw) => raw.length,
  requestFilter(req, conf) {
    const text: string = conf;
    req.headers.set("x-broken", text);
  },
});
`,
    );
    try {
      const result = await run("node", [cli, "build", "--plugins", "./plugins", "--no-measure"]);
      assert.equal(result.status, 1, output(result));
      assert.match(result.stderr, /^plugins\/broken\.ts:6:11: TS2322 /m, output(result));
    } finally {
      rmSync(broken, { force: true });
    }
  });

  test("doctor names a socket path over the unix limit and a missing directory", async () => {
    const long = `/tmp/${"d".repeat(110)}/runner.sock`;
    const tooLong = await run("node", [cli, "doctor", "--plugins", "./plugins", "--socket", long]);
    assert.equal(tooLong.status, 1, output(tooLong));
    assert.match(
      tooLong.stdout,
      /^PROBLEM {2}Socket path \S+ is 127 bytes long; .* at most 107 bytes/m,
    );
    const missing = await run("bun", [
      "--bun",
      cli,
      "doctor",
      "--plugins",
      "./plugins",
      "--socket",
      "/nonexistent/dir/r.sock",
    ]);
    assert.equal(missing.status, 1, output(missing));
    assert.match(
      missing.stdout,
      /^PROBLEM {2}Directory \/nonexistent\/dir of the socket path does not exist/m,
    );
    assert.match(
      missing.stdout,
      /^ext-plugin:\n {2}cmd: \[.*"run", "--plugins", ".*\/plugins", "--log-file"/m,
    );
    const fine = await mkdtemp(join(tmpdir(), "doctor-"));
    // nginx workers run as another user: every directory on the way must let them through.
    await chmod(fine, 0o755);
    try {
      const well = await run("deno", [
        "run",
        "-A",
        "npm:apisix-ts-plugin-runner/apisix-ts-runner",
        "doctor",
        "--plugins",
        "./plugins",
        "--socket",
        join(fine, "r.sock"),
      ]);
      assert.equal(well.status, 0, output(well));
      assert.match(well.stdout, /All is well\./);
    } finally {
      await rmdir(fine);
    }
  });
});
