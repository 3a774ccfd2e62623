// Tests of RepeatedLog: each kind once, repeats counted and summarised, a fixed number of lines per window.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Logger } from "@logtape/logtape";
import { clipPeerValue, MAX_PEER_VALUE_LENGTH, RepeatedLog } from "./repeated_log.ts";

interface Line {
  level: string;
  message: string;
  properties: Record<string, unknown>;
}

/** A logger stand-in recording what RepeatedLog writes, and a clock the test moves. */
function setup(options: { maxKinds?: number } = {}) {
  const lines: Line[] = [];
  const record = (level: string) => (message: string, properties: Record<string, unknown>) => {
    lines.push({ level, message, properties });
  };
  const logger = {
    debug: record("debug"),
    info: record("info"),
    warn: record("warning"),
    warning: record("warning"),
    error: record("error"),
  } as unknown as Logger;
  let now = 0;
  const log = new RepeatedLog(logger, { intervalMs: 10_000, now: () => now, ...options });
  return { lines, log, advance: (ms: number) => now += ms };
}

describe("RepeatedLog", () => {
  test("logs the first occurrence of a kind and counts the repeats into one summary", () => {
    const { lines, log, advance } = setup();
    assert.equal(log.log("k", "warning", "first {n}", { n: 1 }), true);
    for (let i = 0; i < 7_412; i++) assert.equal(log.log("k", "warning", "again", {}), false);
    assert.equal(lines.length, 1);
    assert.deepEqual(lines[0], { level: "warning", message: "first {n}", properties: { n: 1 } });
    advance(9_999);
    log.tick();
    assert.equal(lines.length, 1, "no summary before the window is over");
    advance(1);
    log.tick();
    assert.equal(lines.length, 2);
    assert.equal(lines[1]!.level, "warning");
    assert.equal(lines[1]!.message, "{kind}: repeated {repeats} times in the last {seconds} s");
    assert.deepEqual(lines[1]!.properties, { kind: "k", repeats: "7,412", seconds: 10 });
  });

  test("a kind still repeating is only summarised in the next window; a quiet one is forgotten", () => {
    const { lines, log, advance } = setup();
    log.log("k", "info", "first", {});
    log.log("k", "info", "again", {});
    advance(10_000);
    log.tick();
    log.log("k", "info", "still", {});
    advance(10_000);
    log.tick();
    assert.deepEqual(lines.map((line) => line.message), [
      "first",
      "{kind}: repeated {repeats} times in the last {seconds} s",
      "{kind}: repeated {repeats} times in the last {seconds} s",
    ]);
    advance(10_000);
    log.tick(); // a window without the kind: forgotten
    log.log("k", "info", "back", {});
    assert.equal(lines.at(-1)!.message, "back");
  });

  test("whatever arrives, a window holds at most 2 × maxKinds + 1 lines", () => {
    const { lines, log, advance } = setup({ maxKinds: 5 });
    for (let i = 0; i < 10_000; i++) log.log(`kind ${i % 1_000}`, "warning", "first", {});
    advance(10_000);
    log.tick();
    assert.equal(lines.filter((line) => line.message === "first").length, 5);
    const untracked = lines.find((line) => line.message.includes("more failures of other kinds"));
    assert.equal(untracked?.properties.count, "9,950");
    assert.ok(lines.length <= 2 * 5 + 1, `${lines.length} lines`);
  });

  test("flush() writes the pending summaries at once (shutdown)", () => {
    const { lines, log } = setup();
    log.log("k", "error", "first", {});
    log.log("k", "error", "again", {});
    log.flush();
    assert.deepEqual(lines.at(-1)!.properties, { kind: "k", repeats: "1", seconds: 1 });
  });

  test("clipPeerValue() keeps short values and cuts long ones with a mark", () => {
    assert.equal(clipPeerValue("route#1"), "route#1");
    const clipped = clipPeerValue("x".repeat(5_000));
    assert.equal(clipped.length, MAX_PEER_VALUE_LENGTH + 1);
    assert.ok(clipped.endsWith("…"));
  });
});
