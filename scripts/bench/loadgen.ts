// Closed-loop load generator playing APISIX over N unix-socket connections (runs on Bun).
//
// Usage: bun scripts/bench/loadgen.ts --socket <path> --workload <name> [--connections 16]
//        [--warmup 500] [--duration 2000] [--pid <server pid>]
// Prints one JSON line (a LoadResult). Frames are encoded once per workload; per call it only
// counts reply bytes, answers ExtraInfo questions with pre-encoded frames and writes the next
// call. Before the load, one call is fully decoded and checked against the expected reply.

import process from "node:process";
import { parseArgs } from "node:util";
import { decodePrepareConfResponse } from "../../src/protocol/mod.ts";
import { FrameSplitter } from "./frames.ts";
import { Histogram, type LatencySummary } from "./histogram.ts";
import { cpuSeconds, machineBusySeconds } from "./proc.ts";
import {
  checkQuestion,
  checkReply,
  type LoadScript,
  loadScript,
  prepareConfFrame,
  type Workload,
  workloadNamed,
} from "./workloads.ts";

/** What one run measured. */
export interface LoadResult {
  workload: string;
  connections: number;
  /** Calls completed inside the measurement window. */
  calls: number;
  seconds: number;
  callsPerSecond: number;
  latency: LatencySummary;
  /** Replies that were error frames or of the wrong type. */
  errors: number;
  /** CPU of the measured server process, in cores (1 = one core busy all the time). */
  serverCpu: number;
  /** CPU of this load generator, in cores. */
  loadgenCpu: number;
  /** CPU used by everything else on the machine during the window, in cores (noise). */
  otherCpu: number;
  /** Bytes of the final reply frame of the checked call. */
  replyBytes: number;
}

// The small part of Bun's socket API used here (no @types/bun).
interface BunSocket<T> {
  data: T;
  write(bytes: Uint8Array): number;
  end(): void;
}
interface BunHandler<T> {
  data(socket: BunSocket<T>, chunk: Uint8Array): void;
  drain(socket: BunSocket<T>): void;
}
interface BunApi {
  connect<T>(options: { unix: string; data: T; socket: BunHandler<T> }): Promise<BunSocket<T>>;
}

function _bun(): BunApi {
  const bun = (globalThis as unknown as { Bun?: BunApi }).Bun;
  if (bun === undefined) throw new Error("The load generator runs on Bun: bun scripts/bench/...");
  return bun;
}

/** A connection that writes whole buffers, keeping the unwritten rest for `drain`. */
class _Link {
  socket!: BunSocket<_Link>;
  readonly splitter: FrameSplitter;
  #pending: Uint8Array[] = [];

  /** `capture` hands each frame's payload to {@linkcode _Link.onFrame} (checks only). */
  constructor(capture = false) {
    this.splitter = new FrameSplitter((type, payload) => this.onFrame(type, payload), capture);
  }

  onFrame(_type: number, _payload: Uint8Array | undefined): void {}

  send(bytes: Uint8Array): void {
    if (this.#pending.length > 0) {
      this.#pending.push(bytes);
      return;
    }
    const n = this.socket.write(bytes);
    if (n < bytes.length) this.#pending.push(bytes.subarray(Math.max(0, n)));
  }

  drain(): void {
    const pending = this.#pending;
    while (pending.length > 0) {
      const bytes = pending[0]!;
      const n = this.socket.write(bytes);
      if (n < bytes.length) {
        pending[0] = bytes.subarray(Math.max(0, n));
        return;
      }
      pending.shift();
    }
  }
}

const HANDLER: BunHandler<_Link> = {
  data(socket, chunk) {
    socket.data.splitter.push(chunk);
  },
  drain(socket) {
    socket.data.drain();
  },
};

async function _connect(path: string, link: _Link): Promise<void> {
  link.socket = await _bun().connect({ unix: path, data: link, socket: HANDLER });
}

/** The shared state of one measured run. */
class _Run {
  readonly histogram = new Histogram();
  errors = 0;
  running = true;
  #busy: number;
  #allIdle!: () => void;
  /** Resolves once every connection finished its last call after `running` went false. */
  readonly stopped: Promise<void>;

  constructor(readonly script: LoadScript, readonly callType: number, connections: number) {
    this.#busy = connections;
    this.stopped = new Promise((resolve) => this.#allIdle = resolve);
  }

  idle(): void {
    if (--this.#busy === 0) this.#allIdle();
  }
}

/** One closed-loop connection: a call, its ExtraInfo answers, the reply, the next call. */
class _LoopLink extends _Link {
  #run: _Run;
  #answered = 0;
  #startedAt = 0;

  constructor(run: _Run) {
    super();
    this.#run = run;
  }

  start(): void {
    this.#answered = 0;
    this.#startedAt = performance.now();
    this.send(this.#run.script.call);
  }

  override onFrame(type: number): void {
    const run = this.#run;
    if (type === 3) {
      const answer = run.script.answers[this.#answered++];
      if (answer !== undefined) this.send(answer);
      else {
        run.errors++;
        this.socket.end();
      }
      return;
    }
    run.histogram.record((performance.now() - this.#startedAt) * 1000);
    if (type !== run.callType) run.errors++;
    if (run.running) this.start();
    else run.idle();
  }
}

/** PrepareConf, then one call decoded and checked in full; resolves the load script. */
async function _prepareAndCheck(
  path: string,
  workload: Workload,
): Promise<{ script: LoadScript; replyBytes: number }> {
  let onFrame: (type: number, payload: Uint8Array) => void = () => {};
  const link = new _Link(true);
  link.onFrame = (type, payload) => onFrame(type, payload!);
  await _connect(path, link);
  try {
    const token = await new Promise<number>((resolve, reject) => {
      onFrame = (type, payload) => {
        if (type !== 1) reject(new Error(`PrepareConf answered with frame type ${type}`));
        else resolve(decodePrepareConfResponse(payload).confToken);
      };
      link.send(prepareConfFrame(workload));
    });
    const script = loadScript(workload, token);
    const replyBytes = await new Promise<number>((resolve, reject) => {
      let asked = 0;
      onFrame = (type, payload) => {
        if (type === 3) {
          const problem = checkQuestion(workload, asked, payload);
          if (problem !== undefined) reject(new Error(`${workload.name}: ${problem}`));
          else link.send(script.answers[asked++]!);
          return;
        }
        const problem = checkReply(workload, type, payload) ??
          (asked === workload.questions.length
            ? undefined
            : `${asked} ExtraInfo question(s) instead of ${workload.questions.length}`);
        if (problem !== undefined) reject(new Error(`${workload.name}: ${problem}`));
        else resolve(4 + payload.length);
      };
      link.send(script.call);
    });
    return { script, replyBytes };
  } finally {
    link.socket.end();
  }
}

function _sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Options of {@linkcode runLoad}. */
export interface RunLoadOptions {
  /** Socket of the runner or ceiling. */
  path: string;
  workload: Workload;
  connections: number;
  warmupMs: number;
  durationMs: number;
  /** Process whose CPU time is measured over the window. */
  serverPid: number;
}

/** Runs one workload against the server at `options.path` and returns what it measured. */
export async function runLoad(options: RunLoadOptions): Promise<LoadResult> {
  const { path, workload, connections, serverPid } = options;
  const { script, replyBytes } = await _prepareAndCheck(path, workload);
  const run = new _Run(script, workload.callType, connections);
  const links: _LoopLink[] = [];
  for (let i = 0; i < connections; i++) {
    const link = new _LoopLink(run);
    await _connect(path, link);
    links.push(link);
  }
  for (const link of links) link.start();
  await _sleep(options.warmupMs);

  run.histogram.reset();
  run.errors = 0;
  const server0 = cpuSeconds(serverPid);
  const machine0 = machineBusySeconds();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  await _sleep(options.durationMs);
  const seconds = (performance.now() - t0) / 1000;
  const calls = run.histogram.count;
  const latency = run.histogram.summary();
  const errors = run.errors;
  const selfUsage = process.cpuUsage(self0);
  const serverCpu = (cpuSeconds(serverPid) - server0) / seconds;
  const machineCpu = (machineBusySeconds() - machine0) / seconds;
  run.running = false;

  await Promise.race([run.stopped, _sleep(5_000)]);
  for (const link of links) link.socket.end();
  const loadgenCpu = (selfUsage.user + selfUsage.system) / 1e6 / seconds;
  return {
    workload: workload.name,
    connections,
    calls,
    seconds,
    callsPerSecond: calls / seconds,
    latency,
    errors,
    serverCpu,
    loadgenCpu,
    otherCpu: Math.max(0, machineCpu - serverCpu - loadgenCpu),
    replyBytes,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      socket: { type: "string" },
      workload: { type: "string" },
      connections: { type: "string", default: "16" },
      warmup: { type: "string", default: "500" },
      duration: { type: "string", default: "2000" },
      pid: { type: "string" },
    },
  });
  if (values.socket === undefined || values.workload === undefined || values.pid === undefined) {
    console.error(
      "Usage: bun scripts/bench/loadgen.ts --socket <path> --workload <name> --pid <n>",
    );
    process.exit(2);
  }
  const result = await runLoad({
    path: values.socket,
    workload: workloadNamed(values.workload),
    connections: Number(values.connections),
    warmupMs: Number(values.warmup),
    durationMs: Number(values.duration),
    serverPid: Number(values.pid),
  });
  console.log(JSON.stringify(result));
  process.exit(0);
}
