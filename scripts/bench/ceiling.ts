// The runtime's ceiling: a minimal frame responder on the raw socket API of Deno, Bun or Node.
//
// Usage: <runtime> scripts/bench/ceiling.ts <socket path> <workload>
// (Node runs the bundle dist/bench/ceiling.mjs.) It reads frames by counting bytes and answers
// with fixed frames prepared at start: no decoding, no allocation per call. For a workload with
// ExtraInfo it asks the same questions as the runner, one at a time, before the final reply.

import net from "node:net";
import { FrameSplitter } from "./frames.ts";
import { type CeilingScript, ceilingScript, workloadNamed } from "./workloads.ts";

/** What to write after each frame received on one connection. */
function _responder(script: CeilingScript, send: (bytes: Uint8Array) => void): FrameSplitter {
  const questions = script.questions;
  let asked = 0;
  return new FrameSplitter((type) => {
    if (type === 1) {
      send(script.prepareReply);
    } else if (type === 3) {
      // An ExtraInfo answer: ask the next question or give the final reply.
      if (asked < questions.length) send(questions[asked++]!);
      else send(script.reply);
    } else if (questions.length > 0) {
      asked = 1;
      send(questions[0]!);
    } else {
      send(script.reply);
    }
  });
}

interface BunSocket {
  data: { splitter: FrameSplitter; pending: Uint8Array[] };
  write(bytes: Uint8Array): number;
}

function _serveBun(path: string, script: CeilingScript): void {
  const bun = (globalThis as unknown as {
    Bun: { listen(options: unknown): unknown };
  }).Bun;
  const flush = (socket: BunSocket) => {
    const pending = socket.data.pending;
    while (pending.length > 0) {
      const bytes = pending[0]!;
      const n = socket.write(bytes);
      if (n === bytes.length) pending.shift();
      else {
        if (n > 0) pending[0] = bytes.subarray(n);
        return;
      }
    }
  };
  bun.listen({
    unix: path,
    socket: {
      open(socket: BunSocket) {
        const pending: Uint8Array[] = [];
        const send = (bytes: Uint8Array) => {
          if (pending.length === 0) {
            const n = socket.write(bytes);
            if (n === bytes.length) return;
            bytes = bytes.subarray(Math.max(0, n));
          }
          pending.push(bytes);
        };
        socket.data = { splitter: _responder(script, send), pending };
      },
      data(socket: BunSocket, chunk: Uint8Array) {
        socket.data.splitter.push(chunk);
      },
      drain: flush,
    },
  });
}

async function _serveDeno(path: string, script: CeilingScript): Promise<void> {
  const deno = (globalThis as unknown as { Deno: DenoApi }).Deno;
  const listener = deno.listen({ transport: "unix", path });
  for await (const conn of listener) _serveDenoConn(conn, script);
}

interface DenoConn {
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
}
interface DenoApi {
  listen(options: { transport: "unix"; path: string }): AsyncIterable<DenoConn>;
}

async function _serveDenoConn(conn: DenoConn, script: CeilingScript): Promise<void> {
  // Replies are queued while the splitter runs and written after: Deno writes are async.
  const out: Uint8Array[] = [];
  const splitter = _responder(script, (bytes) => out.push(bytes));
  const buffer = new Uint8Array(64 * 1024);
  try {
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      splitter.push(buffer.subarray(0, n));
      while (out.length > 0) {
        const bytes = out.shift()!;
        let written = 0;
        while (written < bytes.length) written += await conn.write(bytes.subarray(written));
      }
    }
  } catch {
    // The load generator closed the connection.
  }
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

function _serveNode(path: string, script: CeilingScript): void {
  net.createServer((socket) => {
    const splitter = _responder(script, (bytes) => socket.write(bytes));
    socket.on("data", (chunk: Uint8Array) => splitter.push(chunk));
    socket.on("error", () => socket.destroy());
  }).listen(path);
}

function _args(): string[] {
  const g = globalThis as unknown as { Deno?: { args: string[] }; process?: { argv: string[] } };
  return g.Deno?.args ?? g.process!.argv.slice(2);
}

const [socketPath, workloadName] = _args();
if (socketPath === undefined || workloadName === undefined) {
  throw new Error("Usage: ceiling.ts <socket path> <workload>");
}
const script = ceilingScript(workloadNamed(workloadName));
const g = globalThis as { Bun?: unknown; Deno?: unknown };
if (g.Bun !== undefined) _serveBun(socketPath, script);
else if (g.Deno !== undefined) await _serveDeno(socketPath, script);
else _serveNode(socketPath, script);
