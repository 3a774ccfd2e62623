// The one behavioural suite every SocketRuntime adapter (memory, node, deno, bun) must pass.

import assert from "node:assert/strict";
import { mkdtemp, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { UnexpectedEofError } from "../src/protocol/errors.ts";
import type { MemoryRuntime } from "../src/runtime/memory.ts";
import type { Connection, Listener, SocketRuntime } from "../src/runtime/types.ts";
import { ByteReader } from "./support/byte_reader.ts";

/** Rejects when `promise` did not settle within `ms`: a guard, never a way to wait. */
function withTimeout<T>(promise: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
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

function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

interface Pair {
  listener: Listener;
  client: Connection;
  server: Connection;
  /** The client's received bytes. */
  clientIn: ByteReader;
  /** The server's received bytes. */
  serverIn: ByteReader;
  accepted: AsyncIterator<Connection>;
}

/** Writes `bytes` and waits while the write queue is past its high-water mark. */
async function send(conn: Connection, bytes: Uint8Array): Promise<void> {
  await conn.write(bytes);
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "adapter-suite-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function openPair(runtime: SocketRuntime, path: string): Promise<Pair> {
  const listener = await runtime.listenUnix(path, { mode: 0o766 });
  const accepted = listener.accept()[Symbol.asyncIterator]();
  const client = await withTimeout(runtime.connectUnix(path), "connectUnix()");
  const next = await withTimeout(accepted.next(), "accept()");
  assert.equal(next.done, false);
  const server = next.value;
  return {
    listener,
    client,
    server,
    clientIn: new ByteReader(client),
    serverIn: new ByteReader(server),
    accepted,
  };
}

async function closePair(pair: Pair): Promise<void> {
  pair.client.close();
  pair.server.close();
  await pair.listener.close();
  await withTimeout(Promise.all([pair.client.closed, pair.server.closed]), "closed after close()");
}

async function withPair(
  makeRuntime: () => Promise<SocketRuntime>,
  fn: (pair: Pair, runtime: SocketRuntime, path: string) => Promise<void>,
): Promise<void> {
  const runtime = await makeRuntime();
  await withDir(async (dir) => {
    const path = join(dir, "s.sock");
    const pair = await openPair(runtime, path);
    try {
      await fn(pair, runtime, path);
    } finally {
      await closePair(pair);
    }
  });
}

/**
 * Registers the shared adapter tests for one runtime; call it inside the test file's own
 * `describe()` (test runners attribute a block to the file that calls `describe()`).
 * `makeRuntime` is called per test. The memory runtime (name `"memory"`) gets its fake
 * files through {@linkcode MemoryRuntime.addFile} instead of the real filesystem.
 */
export function adapterSuite(makeRuntime: () => Promise<SocketRuntime>): void {
  test("connectUnix() reaches listenUnix() and bytes echo back", async () => {
    await withPair(makeRuntime, async ({ client, server, clientIn, serverIn }) => {
      await send(client, new Uint8Array([1, 2, 3]));
      const got = await withTimeout(serverIn.readExactly(3), "server read");
      assert.deepEqual(got, new Uint8Array([1, 2, 3]));
      await send(server, got!);
      assert.deepEqual(
        await withTimeout(clientIn.readExactly(3), "client read"),
        new Uint8Array([1, 2, 3]),
      );
    });
  });

  test("received chunks assemble across many small writes and are never overwritten later", async () => {
    await withPair(makeRuntime, async ({ client, serverIn }) => {
      const total = 3 * 2000;
      const sent = pattern(total, 7);
      const writes: Promise<void>[] = [];
      for (let i = 0; i < total; i += 3) writes.push(send(client, sent.subarray(i, i + 3)));
      const reads: Uint8Array[] = [];
      for (let got = 0; got < total;) {
        const size = Math.min(7 + (reads.length % 5), total - got);
        const bytes = await withTimeout(serverIn.readExactly(size), "small reads");
        assert.ok(bytes !== null);
        reads.push(bytes);
        got += size;
      }
      await withTimeout(Promise.all(writes), "small writes");
      const joined = new Uint8Array(total);
      let offset = 0;
      for (const bytes of reads) {
        joined.set(bytes, offset);
        offset += bytes.byteLength;
      }
      assert.deepEqual(joined, sent);
    });
  });

  test("one 4 MiB write arrives whole", async () => {
    await withPair(makeRuntime, async ({ client, serverIn }) => {
      const sent = pattern(4 * 1024 * 1024, 3);
      const writing = send(client, sent);
      const got = await withTimeout(serverIn.readExactly(sent.byteLength), "4 MiB read", 15000);
      await withTimeout(writing, "4 MiB write");
      assert.ok(got !== null);
      assert.equal(got.byteLength, sent.byteLength);
      assert.deepEqual(got, sent);
    });
  });

  test("the sink gets the bytes written before a clean close, then end()", async () => {
    await withPair(makeRuntime, async ({ client, serverIn }) => {
      await send(client, new Uint8Array([9, 9, 9, 9]));
      client.close();
      assert.deepEqual(
        await withTimeout(serverIn.readExactly(4), "read"),
        new Uint8Array(4).fill(9),
      );
      assert.equal(await withTimeout(serverIn.readExactly(4), "read at EOF"), null);
    });
  });

  test("end() right behind a write: the peer reads every byte, then the end; end() is idempotent", async () => {
    await withPair(makeRuntime, async ({ server, clientIn }) => {
      const reply = pattern(4 * 1024 * 1024, 5);
      // Not awaited: end() itself waits for the queue, then closes right behind the last byte.
      server.write(reply)?.catch(() => {});
      const ended = server.end();
      assert.equal(server.end(), ended);
      const got = await withTimeout(clientIn.readExactly(reply.byteLength), "read", 15000);
      assert.deepEqual(got, reply);
      assert.equal(await withTimeout(clientIn.readExactly(1), "read at EOF"), null);
      await withTimeout(ended, "end()");
      await withTimeout(server.closed, "closed");
    });
  });

  test("a peer that closes mid-message leaves the sink its partial bytes, then end()", async () => {
    await withPair(makeRuntime, async ({ client, serverIn }) => {
      await send(client, new Uint8Array([1, 2]));
      client.close();
      await assert.rejects(withTimeout(serverIn.readExactly(4), "read"), UnexpectedEofError);
    });
  });

  test("concurrent connections keep their interleaved writes apart", async () => {
    const runtime = await makeRuntime();
    await withDir(async (dir) => {
      const path = join(dir, "s.sock");
      const listener = await runtime.listenUnix(path, { mode: 0o766 });
      const echoes: Promise<void>[] = [];
      const acceptLoop = (async () => {
        for await (const conn of listener.accept()) {
          const input = new ByteReader(conn);
          echoes.push((async () => {
            for (;;) {
              const header = await input.readExactly(4);
              if (header === null) break;
              const size = new DataView(header.buffer, header.byteOffset).getUint32(0);
              const payload = await input.readExactly(size);
              await send(conn, header.slice());
              await send(conn, payload!);
            }
            conn.close();
          })());
        }
      })();
      const clients = await Promise.all(
        Array.from({ length: 6 }, () => runtime.connectUnix(path)),
      );
      await withTimeout(
        Promise.all(clients.map(async (client, id) => {
          const input = new ByteReader(client);
          for (let round = 0; round < 50; round++) {
            const payload = pattern(1 + ((id * 97 + round * 13) % 300), id * 50 + round);
            const header = new Uint8Array(4);
            new DataView(header.buffer).setUint32(0, payload.byteLength);
            await send(client, header);
            await send(client, payload);
            const back = await input.readExactly(4 + payload.byteLength);
            assert.ok(back !== null);
            assert.deepEqual(back.subarray(4), payload);
          }
          client.close();
        })),
        "six clients",
        15000,
      );
      await listener.close();
      await withTimeout(acceptLoop, "accept loop end");
      await withTimeout(Promise.all(echoes), "echo loops end");
    });
  });

  test("writes arrive in order, an empty one changes nothing", async () => {
    await withPair(makeRuntime, async ({ client, serverIn }) => {
      const header = new Uint8Array([0, 0, 0, 5]);
      const payload = new Uint8Array([10, 20, 30, 40, 50]);
      for (const part of [header, payload, header.subarray(0, 2), header.subarray(2)]) {
        client.write(part);
      }
      client.write(new Uint8Array(0));
      await send(client, payload);
      assert.deepEqual(
        await withTimeout(serverIn.readExactly(18), "read"),
        new Uint8Array([0, 0, 0, 5, 10, 20, 30, 40, 50, 0, 0, 0, 5, 10, 20, 30, 40, 50]),
      );
    });
  });

  test("closed resolves on both sides when the peer closes, and a write then throws", async () => {
    await withPair(makeRuntime, async ({ client, server, serverIn }) => {
      const pendingRead = serverIn.readExactly(1);
      client.close();
      await withTimeout(server.closed, "server.closed after peer close");
      await withTimeout(client.closed, "client.closed after close()");
      assert.equal(await withTimeout(pendingRead, "pending read"), null);
      client.close();
      assert.throws(() => client.write(new Uint8Array([1])), /the connection is closed/);
    });
  });

  test("Listener.close() ends the accept() iteration and keeps accepted connections open", async () => {
    await withPair(makeRuntime, async ({ listener, client, serverIn, accepted }) => {
      const next = accepted.next();
      await listener.close();
      assert.equal((await withTimeout(next, "accept() after close()")).done, true);
      await send(client, new Uint8Array([42]));
      assert.deepEqual(await withTimeout(serverIn.readExactly(1), "read"), new Uint8Array([42]));
    });
  });

  test("listenUnix() fails when the path exists", async () => {
    await withPair(makeRuntime, async (_pair, runtime, path) => {
      await assert.rejects(() => runtime.listenUnix(path, { mode: 0o766 }));
    });
  });

  test("lstat() sees the socket with the mode applied despite a restrictive umask", async () => {
    const runtime = await makeRuntime();
    await withDir(async (dir) => {
      const path = join(dir, "m.sock");
      const previous = _setUmask(0o077);
      let listener: Listener;
      try {
        listener = await runtime.listenUnix(path, { mode: 0o766 });
      } finally {
        if (previous !== undefined) _setUmask(previous);
      }
      try {
        const info = await runtime.lstat(path);
        assert.ok(info !== undefined);
        assert.equal(info.isSocket, true);
        assert.equal(info.isFile, false);
        assert.equal(info.isSymlink, false);
        assert.equal(info.mode.toString(8), "766");
        assert.equal(await runtime.lstat(join(dir, "missing")), undefined);
      } finally {
        await listener.close();
      }
    });
  });

  test("removeFile() removes a symlink, not its target, and ignores a missing file", async () => {
    const runtime = await makeRuntime();
    await withDir(async (dir) => {
      const target = join(dir, "target");
      const link = join(dir, "link.sock");
      if (runtime.name === "memory") {
        const memory = runtime as MemoryRuntime;
        memory.addFile(target, { isFile: true });
        memory.addFile(link, { isSymlink: true });
      } else {
        await writeFile(target, "keep me");
        await symlink(target, link);
      }
      assert.equal((await runtime.lstat(link))?.isSymlink, true);
      await runtime.removeFile(link);
      assert.equal(await runtime.lstat(link), undefined);
      assert.equal((await runtime.lstat(target))?.isFile, true);
      if (runtime.name !== "memory") assert.equal((await stat(target)).size, 7);
      await runtime.removeFile(join(dir, "missing"));
    });
  });

  test("write() asks to wait while the peer does not read, and resumes when it does", async () => {
    await withPair(makeRuntime, async ({ client, serverIn }) => {
      const chunk = pattern(64 * 1024, 1);
      const limit = 64 * 1024 * 1024;
      let resolvedBytes = 0;
      let stalled: Promise<void> | undefined;
      while (resolvedBytes < limit) {
        const writing = send(client, chunk);
        if (await settlesWithin(writing, 300) === "pending") {
          stalled = writing;
          break;
        }
        await writing;
        resolvedBytes += chunk.byteLength;
      }
      assert.ok(stalled !== undefined, `write() never stayed pending (${resolvedBytes} bytes)`);
      // Reading everything that was accepted lets the stalled write through.
      const total = resolvedBytes + chunk.byteLength;
      for (let got = 0; got < total; got += chunk.byteLength) {
        const bytes = await withTimeout(serverIn.readExactly(chunk.byteLength), "drain read");
        assert.deepEqual(bytes, chunk);
      }
      await withTimeout(stalled, "stalled write after the peer read");
    });
  });
}

/** Sets the process umask where the runtime allows it; returns the previous one. */
function _setUmask(mask: number): number | undefined {
  try {
    return process.umask(mask);
  } catch {
    return undefined;
  }
}
