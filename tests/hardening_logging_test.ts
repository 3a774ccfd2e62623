// Hardening: request data in log lines never forges a line or reaches a terminal as an escape sequence.

import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { getLogger, reset } from "@logtape/logtape";
import fc from "fast-check";
import {
  escapeControlCharacters,
  escapeJsonLineSeparators,
  setupLogging,
  shutdownLogging,
} from "../src/runner/logging.ts";
import { PluginFilterError } from "../src/plugin/errors.ts";

// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]/;
const EVIL =
  "boom\n2026-01-01 00:00:00.000 +00:00 [ERR] apisix-runner: forged\r\x1b[2J\x1b]0;t\x07\u2028x";

/** Logs the lines a faulty plugin and a hostile request cause, in `format`, and returns the file. */
async function logHostileLines(format: "text" | "json"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "hardening-logging-"));
  const file = join(dir, "runner.log");
  try {
    await setupLogging({ level: "debug", format, file });
    const logger = getLogger(["apisix-runner", "server"]);
    const error = new PluginFilterError("evil\nplugin", {
      requestId: 7,
      cause: new Error(EVIL),
    });
    logger.error(
      "Frame of type {frameType} failed (request {requestId}, plugin {plugin}): {error}",
      {
        error,
        frameType: 2,
        plugin: "evil\nplugin",
        requestId: 7,
      },
    );
    logger.warn("Header {name} is {value}", { name: "x-evil", value: EVIL });
    logger.info(`A template holding request data: ${EVIL}`);
    await shutdownLogging();
    return await readFile(file, "utf8");
  } finally {
    await reset();
    await rm(dir, { recursive: true, force: true });
  }
}

describe("log line escaping", () => {
  test("setupLogging() text lines: one line per record, control characters escaped", async () => {
    const text = await logHostileLines("text");
    const lines = text.split("\n");
    assert.equal(lines.pop(), "");
    assert.equal(lines.length, 3, text);
    for (const line of lines) {
      assert.doesNotMatch(line, CONTROL, `raw control character in ${JSON.stringify(line)}`);
      assert.match(line, /^\d{4}-\d\d-\d\d .*\[(ERR|WRN|INF)\] apisix-runner·server: /);
    }
    assert.match(lines[0], /\\n2026-01-01 .*forged\\r\\x1b\[2J/);
    // The error's stack trace is kept, on the same line.
    assert.match(lines[0], /\\n {4}at /);
  });

  test("setupLogging() JSON lines parse one per record with the data intact", async () => {
    const text = await logHostileLines("json");
    const lines = text.split("\n");
    assert.equal(lines.pop(), "");
    assert.equal(lines.length, 3, text);
    for (const line of lines) assert.doesNotMatch(line, CONTROL);
    const records = lines.map((line) => JSON.parse(line));
    assert.equal(records[1].properties.value, EVIL);
    assert.equal(records[0].properties.plugin, "evil\nplugin");
  });

  test("escapeControlCharacters() leaves no control character and keeps clean text as is", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (text) => {
        const escaped = escapeControlCharacters(text);
        assert.doesNotMatch(escaped, CONTROL);
        if (!CONTROL.test(text)) assert.equal(escaped, text);
      }),
      { numRuns: 500 },
    );
    assert.equal(escapeControlCharacters("a\tb\nc\x1b[0m\u2028"), "a\tb\\nc\\x1b[0m\\u2028");
  });

  test("escapeJsonLineSeparators() keeps JSON valid and equal in value", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 100 }), (text) => {
        const line = escapeJsonLineSeparators(JSON.stringify({ text }));
        assert.doesNotMatch(line, /[\u2028\u2029]/);
        assert.equal(JSON.parse(line).text, text);
      }),
      { numRuns: 300 },
    );
  });
});
