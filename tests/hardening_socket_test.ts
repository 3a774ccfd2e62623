// Hardening: the socket file is created with its mode under any umask and never follows, deletes or chmods what is not ours.

import assert from "node:assert/strict";
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  unlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { afterEach, beforeEach, describe, test } from "node:test";
import { ApisixConnection } from "../src/dev/client/mod.ts";
import { detectRuntimeName } from "../src/runtime/detect.ts";
import { createNodeRuntime } from "../src/runtime/node.ts";
import type { SocketRuntime } from "../src/runtime/types.ts";
import { SocketPathOccupiedError } from "../src/server/errors.ts";
import {
  assertHealthyCall,
  conf,
  type InProcessRunner,
  startInProcess,
} from "./support/hardening.ts";
import { definePlugin } from "../src/plugin/define_plugin.ts";
import { stop } from "../src/plugin/stop.ts";

const plugins = [
  definePlugin({
    name: "hx-say",
    parseConf: (raw) => stop(200, { body: raw }),
    requestFilter: (_req, response) => response,
  }),
];

interface RuntimeCase {
  name: string;
  make(): SocketRuntime;
}

const runtimes: RuntimeCase[] = [{ name: "node", make: () => createNodeRuntime() }];
const native = detectRuntimeName();
if (native === "deno") {
  const { createDenoRuntime } = await import("../src/runtime/deno.ts");
  runtimes.push({ name: "deno", make: () => createDenoRuntime() });
} else if (native === "bun") {
  const { createBunRuntime } = await import("../src/runtime/bun.ts");
  runtimes.push({ name: "bun", make: () => createBunRuntime() });
}

/** Sets the umask; `undefined` where the runtime cannot. */
function setUmask(mask: number): number | undefined {
  try {
    return process.umask(mask);
  } catch {
    return undefined;
  }
}

for (const runtimeCase of runtimes) {
  describe(`socket file safety over the ${runtimeCase.name} runtime`, () => {
    let dir: string;
    let path: string;
    const started: InProcessRunner[] = [];

    const start = async (runtime = runtimeCase.make()) => {
      const runner = await startInProcess({ runtime, socketPath: path, plugins });
      started.push(runner);
      return runner;
    };

    const call = async (body: string) => {
      const conn = await ApisixConnection.connect(runtimeCase.make(), path);
      try {
        const token = await conn.prepareConf([conf("hx-say", body)], `route#${body}`);
        await assertHealthyCall(conn, token, body);
      } finally {
        conn.close();
      }
    };

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), "hardening-socket-"));
      path = join(dir, "runner.sock");
    });

    afterEach(async () => {
      for (const runner of started.splice(0)) await runner.stop();
      await rm(dir, { recursive: true, force: true });
    });

    test("start() creates the socket with mode 0766 under umask 0o077 and leaves no staging directory", async (t) => {
      const previous = setUmask(0o077);
      if (previous === undefined) return t.skip("process.umask() cannot be set here");
      try {
        await start();
      } finally {
        setUmask(previous);
      }
      const info = await lstat(path);
      assert.ok(info.isSocket());
      assert.equal((info.mode & 0o7777).toString(8), "766");
      assert.deepEqual(await readdir(dir), ["runner.sock"]);
      await call("umask");
    });

    test("a symlink planted at the socket path is replaced; its target keeps its content and mode", async () => {
      const target = join(dir, "precious");
      await writeFile(target, "do not touch");
      await chmod(target, 0o600);
      await symlink(target, path);
      await start();
      assert.ok((await lstat(path)).isSocket());
      assert.equal(await readFile(target, "utf8"), "do not touch");
      assert.equal(((await stat(target)).mode & 0o7777).toString(8), "600");
      await call("after-symlink");
    });

    test("a regular file at the socket path is refused and left untouched", async () => {
      await writeFile(path, "user data");
      await chmod(path, 0o640);
      const before = await stat(path);
      await assert.rejects(start(), SocketPathOccupiedError);
      const after = await stat(path);
      assert.equal(await readFile(path, "utf8"), "user data");
      assert.equal((after.mode & 0o7777).toString(8), "640");
      assert.equal(after.ino, before.ino);
      assert.equal(after.mtimeMs, before.mtimeMs);
    });

    test("a file planted after the stale-socket check is never replaced by listenUnix()", async () => {
      const runtime = runtimeCase.make();
      // The attacker wins the race right after prepareSocketPath() looked.
      const racing: SocketRuntime = {
        ...runtime,
        async listenUnix(at, options) {
          await writeFile(at, "planted");
          return await runtime.listenUnix(at, options);
        },
      };
      await assert.rejects(start(racing));
      assert.equal(await readFile(path, "utf8"), "planted");
      assert.deepEqual(await readdir(dir), ["runner.sock"]);
    });

    test("Listener.close() leaves whatever is at the listen path (the runtime's unlink hits the staging name)", async () => {
      const runtime = runtimeCase.make();
      const listener = await runtime.listenUnix(path, { mode: 0o766 });
      // As on APISIX reload: the next runner replaced the socket before this one closes.
      await unlink(path);
      await writeFile(path, "next runner");
      await listener.close();
      assert.equal(await readFile(path, "utf8"), "next runner");
    });

    test("shutdown() of a runner replaced on reload leaves the new runner's socket serving", async () => {
      const old = await start();
      await call("old");
      const next = await start();
      const nextIno = (await lstat(path)).ino;
      await old.stop();
      const info = await lstat(path);
      assert.ok(info.isSocket());
      assert.equal(info.ino, nextIno);
      await call("next");
      await next.stop();
      await assert.rejects(lstat(path), { code: "ENOENT" });
    });

    test("shutdown() leaves a symlink swapped in at the socket path and its target alone", async () => {
      const runner = await start();
      const target = join(dir, "precious");
      await writeFile(target, "do not touch");
      await unlink(path);
      await symlink(target, path);
      await runner.stop();
      assert.ok((await lstat(path)).isSymbolicLink());
      assert.equal(await readFile(target, "utf8"), "do not touch");
    });

    test("a socket path too long for a staging copy is bound in place, still with mode 0766", async () => {
      // 95 bytes of directory: the path fits sun_path, "<dir>/.<8 chars>/s" would not.
      let deep = dir;
      while (deep.length < 95) deep = join(deep, "d".repeat(Math.min(40, 95 - deep.length - 1)));
      await mkdir(deep, { recursive: true });
      path = join(deep, "r");
      assert.ok(path.length <= 103);
      await start();
      assert.equal(((await lstat(path)).mode & 0o7777).toString(8), "766");
      assert.deepEqual(await readdir(deep), ["r"]);
      await call("in-place");
    });

    test("shutdown() removes its own socket and nothing else", async () => {
      const runner = await start();
      await writeFile(join(dir, "neighbour"), "stay");
      await runner.stop();
      assert.deepEqual(await readdir(dir), ["neighbour"]);
    });
  });
}
