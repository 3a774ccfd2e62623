// Hardening end to end: real runner processes on Deno, Bun and Node under fuzzed input, faults, slow peers, soak and SIGTERM.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { lstat, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { ApisixConnection } from "../src/dev/client/mod.ts";
import { encodeFrame, encodeFrameHeader, encodeHttpReqCallRequest } from "../src/protocol/mod.ts";
import { UnexpectedEofError } from "../src/protocol/errors.ts";
import { ErrorCode, FRAME_HEADER_SIZE, FrameType } from "../src/protocol/types.ts";
import { createNodeRuntime } from "../src/runtime/node.ts";
import { FrameConnection } from "./support/frame_connection.ts";
import {
  BUN_BIN,
  REPO_ROOT,
  type RunnerProcess,
  type RunnerRuntime,
  runnerUnavailable,
  spawnRunner,
  type SpawnRunnerOptions,
} from "./support/runner_process.ts";
import { conf, decoder, reqCall, withTimeout } from "./support/hardening.ts";

const ENTRY = "tests/support/fixtures/hardening_plugins_entry.ts";
const RUNTIMES: readonly RunnerRuntime[] = ["deno", "bun", "node"];
const FRAMES_DIR = new URL("../../shared/testdata/apisix-frames/", import.meta.url);
const net = createNodeRuntime();

let buildDir: string;
let nodeEntry: string;

before(async () => {
  buildDir = await mkdtemp(join(tmpdir(), "hardening-e2e-build-"));
  nodeEntry = join(buildDir, "hardening_runner.mjs");
  const built = spawnSync(BUN_BIN, ["build", ENTRY, "--target=node", `--outfile=${nodeEntry}`], {
    cwd: REPO_ROOT,
    encoding: "utf8",
  });
  assert.equal(built.status, 0, `bun build failed: ${built.stderr}${built.stdout}`);
});

after(async () => {
  await rm(buildDir, { recursive: true, force: true });
});

function spawnHardened(
  runtime: RunnerRuntime,
  options: Omit<SpawnRunnerOptions, "runtime"> = {},
): Promise<RunnerProcess> {
  return spawnRunner({ runtime, entry: runtime === "node" ? nodeEntry : ENTRY, ...options });
}

/** Resident set size of a process, from /proc/<pid>/status. */
async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  assert.ok(kb !== null, `no VmRSS in /proc/${pid}/status`);
  return Number(kb[1]) * 1024;
}

/** Number of open file descriptors of a process. */
async function fdCount(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`)).length;
}

/**
 * Polls `check` until it returns true: only for facts of another process that sends no
 * signal of its own (its fd table). Bounded by `ms`.
 */
async function eventually(what: string, check: () => Promise<boolean>, ms = 3000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) assert.fail(`Not true within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Resolves `"pending"` when `promise` did not settle within `ms`. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<"settled" | "pending"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = new Promise<"pending">((resolve) => {
    timer = setTimeout(() => resolve("pending"), ms);
  });
  return Promise.race([promise.then(() => "settled" as const), pending]).finally(() =>
    clearTimeout(timer)
  );
}

/**
 * A `RegExp` stand-in for `waitForOutput()` that matches once `text` occurs `count` times:
 * a real pattern for that (`(?:[\s\S]*?text){64}`) backtracks exponentially while it fails.
 */
function occurrences(text: string, count: number): RegExp {
  const matcher = {
    test: (output: string) => output.split(text).length > count,
    toString: () => `/${text}/ ×${count}`,
  };
  return matcher as unknown as RegExp;
}

async function connect(runner: RunnerProcess): Promise<ApisixConnection> {
  return await ApisixConnection.connect(net, runner.socketPath);
}

function callFrame(token: number, id: number, headerBytes = 0): Uint8Array {
  const headers = headerBytes === 0 ? [] : [{ name: "x-pad", value: "p".repeat(headerBytes) }];
  return encodeFrame(
    FrameType.HttpReqCall,
    encodeHttpReqCallRequest(reqCall(token, { id, headers })),
  );
}

async function assertSays(conn: ApisixConnection, token: number, body: string): Promise<void> {
  const outcome = await withTimeout(conn.httpReqCall(reqCall(token)), "healthy call");
  assert.equal(outcome.kind, "reply", JSON.stringify(outcome));
  const action = (outcome as { response: { action?: { type: string; body?: Uint8Array } } })
    .response.action;
  assert.equal(action?.type, "stop");
  assert.equal(decoder.decode(action?.body), body);
}

/** Recorded APISIX frames with byte edits, cuts, tails and sometimes a lying length field. */
async function fuzzedFrames(
  count: number,
  seed: number,
): Promise<{ bytes: Uint8Array; lying: boolean }[]> {
  const index = JSON.parse(await readFile(new URL("index.json", FRAMES_DIR), "utf8")) as {
    file: string;
    from: string;
  }[];
  const frames = await Promise.all(
    index.filter((entry) => entry.from === "apisix").map(async (entry) =>
      new Uint8Array(await readFile(new URL(entry.file, FRAMES_DIR)))
    ),
  );
  const arbitrary = fc.record({
    frame: fc.constantFrom(...frames),
    edits: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 6 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
    lie: fc.oneof(fc.constant(false), fc.constant(false), fc.constant(true)),
  }).map(({ frame, edits, cut, lie }) => {
    const payload = frame.slice(FRAME_HEADER_SIZE);
    for (const [at, value] of edits) payload[at % payload.length] = value;
    const sent = cut === undefined ? payload : payload.subarray(0, cut % (payload.length + 1));
    // A lying header promises the whole (or a 16 MiB) payload but only `sent` follows.
    const length = lie ? 0xFFFFFF : sent.length;
    const bytes = new Uint8Array(FRAME_HEADER_SIZE + sent.length);
    bytes.set(encodeFrameHeader(frame[0], length));
    bytes.set(sent, FRAME_HEADER_SIZE);
    return { bytes, lying: lie };
  });
  return fc.sample(arbitrary, { numRuns: count, seed });
}

for (const runtime of RUNTIMES) {
  const skip = runnerUnavailable(runtime, { entry: runtime === "node" ? undefined : ENTRY });
  describe(`hardening e2e: ${runtime} runner`, { skip }, () => {
    test("fuzzed recorded frames and lying length fields cost only their own connection", async () => {
      const runner = await spawnHardened(runtime);
      try {
        const healthy = await connect(runner);
        const token = await healthy.prepareConf([conf("say", { body: "alive" })], "route#alive");
        await assertSays(healthy, token, "alive");
        const rssStart = await rssBytes(runner.pid);
        const fdStart = await fdCount(runner.pid);
        let closed = 0;
        const frames = await fuzzedFrames(250, 0xa6 + RUNTIMES.indexOf(runtime));
        for (const [i, { bytes, lying }] of frames.entries()) {
          const bad = await FrameConnection.connect(net, runner.socketPath);
          try {
            await bad.write(bytes);
            if (lying) {
              // The runner waits for bytes that never come; APISIX would time out and close.
              bad.close();
              closed++;
              continue;
            }
            const reply = await withTimeout(bad.readFrame().catch(() => null), "answer or close");
            if (reply === null) closed++;
            else assert.ok(reply.type <= FrameType.HttpRespCall, `reply type ${reply.type}`);
          } finally {
            bad.close();
          }
          if (i % 10 === 0) await assertSays(healthy, token, "alive");
        }
        assert.ok(closed > 0);
        // 48 connections each announcing 16 MiB and sending 1 KiB stay open together.
        const liars: FrameConnection[] = [];
        for (let i = 0; i < 48; i++) {
          const liar = await FrameConnection.connect(net, runner.socketPath);
          await liar.write(
            encodeFrameHeader(FrameType.HttpReqCall, 0xFFFFFF),
            new Uint8Array(1024),
          );
          liars.push(liar);
        }
        await assertSays(healthy, token, "alive");
        const rssLiars = await rssBytes(runner.pid);
        for (const liar of liars) liar.close();
        await assertSays(healthy, token, "alive");
        await eventually(
          "the runner released the closed connections' descriptors",
          async () => (await fdCount(runner.pid)) <= fdStart + 1,
        );
        assert.ok(runner.alive);
        const grown = rssLiars - rssStart;
        assert.ok(grown < 48 * 1024 * 1024, `rss grew by ${grown} bytes`);
        assert.match(runner.output(), /Closing connection/);
        healthy.close();
      } finally {
        await runner.dispose();
      }
    });

    test("faulty plugins fail only their call; timers that throw do not end the process; log lines stay single", async () => {
      const runner = await spawnHardened(runtime, { extraArgs: ["--call-timeout", "300"] });
      try {
        const conn = await connect(runner);
        const token = async (name: string, value: unknown = {}) =>
          await conn.prepareConf([conf(name, value)], `route#${name}`);
        const say = await token("say", { body: "alive" });
        const evil = "x\n2026-01-01 00:00:00.000 +00:00 [ERR] forged\x1b[2J";
        const thrown = await conn.httpReqCall(
          reqCall(await token("hx-throw-header"), {
            id: 1,
            headers: [{ name: "x-evil", value: evil }],
          }),
        );
        assert.deepEqual(thrown, {
          kind: "error",
          code: ErrorCode.ServiceUnavailable,
          questions: [],
        });
        await runner.waitForOutput(/Call of request .?1.? failed in plugin .?hx-throw-header/);

        const timer = await conn.httpReqCall(reqCall(await token("hx-timer-throw"), { id: 2 }));
        assert.equal(timer.kind, "reply");
        await runner.waitForOutput(
          /Uncaught error outside any call.*timer boom from hx-timer-throw/,
        );
        await runner.waitForOutput(/Uncaught error outside any call.*floating rejection/);
        await assertSays(conn, say, "alive");

        const hung = await conn.httpReqCall(reqCall(await token("hx-hang"), { id: 3 }));
        assert.deepEqual(hung, {
          kind: "error",
          code: ErrorCode.ServiceUnavailable,
          questions: [],
        });
        await runner.waitForOutput(/hx-hang aborted request .?3.?: .?CallDeadlineError/);

        const leaving = await connect(runner);
        const hangToken = await token("hx-hang");
        leaving.httpReqCall(reqCall(hangToken, { id: 4 })).catch(() => {});
        await runner.waitForOutput(/hx-hang started request .?4\b/);
        leaving.close();
        await runner.waitForOutput(/hx-hang aborted request .?4.?: .?ApisixDisconnectedError/);
        await assertSays(conn, say, "alive");
        assert.ok(runner.alive);

        const lines = runner.output().split("\n");
        assert.ok(!runner.output().includes("\x1b"), "raw ESC in the runner output");
        assert.ok(!lines.some((line) => line.startsWith("2026-01-01")), "a forged log line");
        assert.ok(lines.some((line) => line.includes("bad header x\\n2026-01-01")));
        conn.close();
      } finally {
        await runner.dispose();
      }
    });

    test("slow peers do not slow down others, and unread replies do not grow memory", async () => {
      const runner = await spawnHardened(runtime);
      try {
        const healthy = await connect(runner);
        const say = await healthy.prepareConf([conf("say", { body: "alive" })], "route#alive");
        const big = await healthy.prepareConf([conf("hx-big", { size: 256 * 1024 })], "route#big");

        // A peer that trickles its frame one byte at a time, while another one calls.
        const trickler = await FrameConnection.connect(net, runner.socketPath);
        const bytes = callFrame(say, 99);
        let trickling = true;
        const trickle = (async () => {
          for (const byte of bytes) {
            await trickler.write(Uint8Array.of(byte));
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
          trickling = false;
        })();
        let calls = 0;
        let slowest = 0;
        while (trickling) {
          const started = performance.now();
          await assertSays(healthy, say, "alive");
          slowest = Math.max(slowest, performance.now() - started);
          calls++;
        }
        await trickle;
        const reply = await withTimeout(trickler.readFrame(), "trickled call's reply");
        assert.equal(reply?.type, FrameType.HttpReqCall);
        trickler.close();
        assert.ok(calls >= 20, `only ${calls} calls while the peer trickled ${bytes.length} bytes`);
        assert.ok(slowest < 200, `a call took ${slowest.toFixed(1)} ms next to the trickling peer`);

        // A peer that sends calls with 16 KiB of headers and never reads its 256 KiB replies.
        const rssBefore = await rssBytes(runner.pid);
        const deaf = await FrameConnection.connect(net, runner.socketPath);
        const frame = callFrame(big, 7, 16 * 1024);
        let sent = 0;
        let stalled: Promise<void> | undefined;
        while (sent < 2000) {
          const writing = deaf.write(frame);
          if (await settlesWithin(writing, 300) === "pending") {
            stalled = writing;
            break;
          }
          sent++;
        }
        assert.ok(
          stalled !== undefined,
          `the runner read all ${sent} frames of a peer that never reads`,
        );
        stalled.catch(() => {});
        await assertSays(healthy, say, "alive");
        const grown = (await rssBytes(runner.pid)) - rssBefore;
        // Without backpressure the runner would hold sent × 256 KiB of replies.
        assert.ok(
          grown < 32 * 1024 * 1024,
          `rss grew by ${grown} bytes after ${sent} unread calls`,
        );
        deaf.close();
        await assertSays(healthy, say, "alive");
        healthy.close();
      } finally {
        await runner.dispose();
      }
    });

    test("soak over rotating conf tokens: expired tokens answer CONF_TOKEN_NOT_FOUND, memory stays flat", async () => {
      // APISIX_CONF_EXPIRE_TIME=1 gives confs a TTL of 1.2 s.
      const runner = await spawnHardened(runtime, { confExpireTime: "1" });
      try {
        const admin = await connect(runner);
        const conns = await Promise.all(
          Array.from({ length: 8 }, () => FrameConnection.connect(net, runner.socketPath)),
        );
        const phase = async (generation: number, calls: number) => {
          const tokens: number[] = [];
          for (let route = 0; route < 20; route++) {
            tokens.push(
              await admin.prepareConf(
                [conf("say", { body: `g${generation}` })],
                `route#${route}#${generation}`,
              ),
            );
          }
          const frames = tokens.map((token, i) => callFrame(token, i));
          await Promise.all(conns.map(async (conn, c) => {
            for (let i = c; i < calls; i += conns.length) {
              await conn.write(frames[i % frames.length]);
              const reply = await conn.readFrame();
              assert.equal(reply?.type, FrameType.HttpReqCall);
            }
          }));
          return tokens;
        };
        await phase(0, 5_000);
        const rssWarm = await rssBytes(runner.pid);
        const first = await phase(1, 20_000);
        // The TTL runs on the runner's real clock: this wait is the behaviour under test.
        await new Promise((resolve) => setTimeout(resolve, 1400));
        const expired = await admin.httpReqCall(reqCall(first[0]));
        assert.deepEqual(expired, {
          kind: "error",
          code: ErrorCode.ConfTokenNotFound,
          questions: [],
        });
        await phase(2, 20_000);
        const grown = (await rssBytes(runner.pid)) - rssWarm;
        assert.ok(grown < 24 * 1024 * 1024, `rss grew by ${grown} bytes over 40 000 calls`);
        for (const conn of conns) conn.close();
        admin.close();
      } finally {
        await runner.dispose();
      }
    });

    test("SIGTERM with 64 busy connections: whole replies or clean closes, exit 0 within 1 s, socket removed", async () => {
      const runner = await spawnHardened(runtime);
      try {
        const admin = await connect(runner);
        const sleep = await admin.prepareConf([conf("hx-sleep", { ms: 300 })], "route#sleep");
        const hang = await admin.prepareConf([conf("hx-hang")], "route#hang");
        admin.close();
        const conns = await Promise.all(
          Array.from({ length: 64 }, () => FrameConnection.connect(net, runner.socketPath)),
        );
        const outcomes = conns.map(async (conn, i) => {
          await conn.write(callFrame(i % 2 === 0 ? sleep : hang, 1000 + i));
          try {
            const reply = await conn.readFrame();
            return reply === null
              ? "closed"
              : decoder.decode(reply.payload).includes("slept")
              ? "slept"
              : `frame ${reply.type}`;
          } catch (error) {
            return error instanceof UnexpectedEofError ? "half-written frame" : String(error);
          }
        });
        await runner.waitForOutput(occurrences("started request", 64), 5000);
        runner.kill("SIGTERM");
        const results = await withTimeout(Promise.all(outcomes), "every connection settled");
        const exit = await withTimeout(runner.exited, "exit");
        assert.equal(exit.code, 0, runner.output());
        assert.ok(exit.ms < 1000, `exit took ${exit.ms.toFixed(0)} ms`);
        for (const [i, result] of results.entries()) {
          // Sleepers finish within the grace time; hung calls get their connection closed.
          assert.equal(result, i % 2 === 0 ? "slept" : "closed", `connection ${i}`);
        }
        await assert.rejects(lstat(runner.socketPath), { code: "ENOENT" });
        for (const conn of conns) conn.close();
      } finally {
        await runner.dispose();
      }
    });

    test("socket file: mode 0766 under umask 077; a regular file is refused and kept; reload keeps the new socket", async () => {
      const previous = process.umask(0o077);
      let first: RunnerProcess;
      try {
        first = await spawnHardened(runtime);
      } finally {
        process.umask(previous);
      }
      let second: RunnerProcess | undefined;
      try {
        const info = await lstat(first.socketPath);
        assert.equal((info.mode & 0o7777).toString(8), "766");
        // Reload: the next runner replaces the socket while the first is still running.
        second = await spawnHardened(runtime, { socketPath: first.socketPath });
        // The old socket accepts too: wait until the new runner says it listens.
        await second.waitForOutput(/Listening on/);
        const replaced = await lstat(first.socketPath);
        assert.notEqual(replaced.ino, info.ino);
        first.kill("SIGTERM");
        assert.equal((await first.exited).code, 0);
        assert.equal((await lstat(first.socketPath)).ino, replaced.ino);
        const conn = await connect(second);
        await assertSays(
          conn,
          await conn.prepareConf([conf("say", { body: "next" })], "route#next"),
          "next",
        );
        conn.close();
      } finally {
        await second?.dispose();
        await first.dispose();
      }

      const dir = await mkdtemp(join(tmpdir(), "hardening-e2e-"));
      try {
        const path = join(dir, "runner.sock");
        await writeFile(path, "user data");
        const before = await stat(path);
        const refused = await spawnHardened(runtime, { socketPath: path, waitForSocket: false });
        const exit = await refused.exited;
        assert.equal(exit.code, 2, refused.output());
        assert.match(refused.output(), /Cannot start: Cannot listen on .*a regular file is there/);
        assert.equal(await readFile(path, "utf8"), "user data");
        assert.equal((await stat(path)).mtimeMs, before.mtimeMs);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
