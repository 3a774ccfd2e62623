// Test helper: a raw runner connection as frames, for tests that send malformed bytes or read frames by hand.

import { encodeFrame, type Frame, FrameReader } from "../../src/protocol/mod.ts";
import type { Connection, SocketRuntime } from "../../src/runtime/types.ts";

/**
 * A connection to a runner seen as frames: bytes go out exactly as given (a
 * cut frame, a lying length field), frames come in through a FrameReader.
 */
export class FrameConnection {
  /** The raw connection. */
  readonly conn: Connection;
  #reader: FrameReader;

  /** Reads `conn`'s frames from now on. */
  constructor(conn: Connection) {
    this.conn = conn;
    this.#reader = new FrameReader({ onPause: () => conn.pause(), onResume: () => conn.resume() });
    conn.receive(this.#reader);
  }

  /** Connects to the runner's socket at `path`. */
  static async connect(
    runtime: Pick<SocketRuntime, "connectUnix">,
    path: string,
  ): Promise<FrameConnection> {
    return new FrameConnection(await runtime.connectUnix(path));
  }

  /** Writes `chunks` back to back as one write; waits while the write queue is full. */
  async write(...chunks: Uint8Array[]): Promise<void> {
    await this.conn.write(Uint8Array.from(chunks.flatMap((chunk) => Array.from(chunk))));
  }

  /** Writes one frame (header and payload). */
  async writeFrame(type: number, payload: Uint8Array): Promise<void> {
    await this.conn.write(encodeFrame(type, payload));
  }

  /** The next frame; `null` at a clean close between frames; rejects on a cut frame. */
  readFrame(): Promise<Frame | null> {
    return this.#reader.next();
  }

  /** Closes the connection. */
  close(): void {
    this.conn.close();
  }

  /** Resolves once the connection is closed, by either side. */
  get closed(): Promise<void> {
    return this.conn.closed;
  }
}
