// Configures LogTape for the executable: level, text or JSON lines, stdout or a file.
import { createWriteStream, openSync } from "node:fs";
import { inspect } from "node:util";
import {
  configure,
  dispose,
  getTextFormatter,
  jsonLinesFormatter,
  type LogRecord,
  type Sink,
} from "@logtape/logtape";
import type { LogLevelName } from "./args.ts";
import { ConfigError } from "./errors.ts";

/** Options of {@linkcode setupLogging}. */
export interface LoggingOptions {
  level: LogLevelName;
  format: "text" | "json";
  /** Append to this file instead of writing to stdout. */
  file?: string | undefined;
}

/**
 * Configures the process-wide LogTape sinks; call {@linkcode shutdownLogging} before exiting.
 * A log file is opened (for appending) before anything is configured.
 *
 * @throws {ConfigError} when the log file cannot be opened, naming it and why.
 * Every line is passed through {@linkcode escapeControlCharacters} (text) or
 * {@linkcode escapeJsonLineSeparators} (JSON), so request data in a log line can never
 * start a new line or send terminal escapes.
 */
export async function setupLogging(options: LoggingOptions): Promise<void> {
  const format = options.format === "json" ? _jsonFormat : _textFormat();
  const sink = options.file === undefined ? _stdoutSink(format) : _fileSink(options.file, format);
  await configure({
    reset: true,
    sinks: { main: sink },
    loggers: [
      { category: ["apisix-runner"], lowestLevel: options.level, sinks: ["main"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["main"] },
    ],
  });
}

/** Flushes and closes the log sinks. */
export async function shutdownLogging(): Promise<void> {
  await dispose();
}

// Matches what escapeControlCharacters() rewrites: C0 but tab, DEL, C1, U+2028 and U+2029.
// deno-lint-ignore no-control-regex
const _CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]/g;
// deno-lint-ignore no-control-regex
const _HAS_CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]/;
const _LINE_SEPARATORS = /[\u2028\u2029]/g;

/**
 * Escapes control characters in one log line: `\n` and `\r` as those two-character
 * escapes, other C0 and C1 controls, DEL and ESC as `\xNN`, U+2028/U+2029 as `\uNNNN`.
 * Tabs stay. LogTape's text formatter quotes string values but renders an `Error`
 * value through `inspect()`, raw: a plugin's error message holding `"\n[ERR] ..."` or
 * an ANSI sequence would otherwise forge a log line or restyle a terminal; stack
 * traces become one line.
 *
 * @example
 * ```ts
 * escapeControlCharacters("boom\n\x1b[31m"); // "boom\\n\\x1b[31m"
 * ```
 */
export function escapeControlCharacters(line: string): string {
  if (!_HAS_CONTROL.test(line)) return line;
  return line.replace(_CONTROL, _escapeChar);
}

/**
 * Escapes U+2028 and U+2029 in a JSON line as `\u2028`/`\u2029` (valid JSON): the one
 * kind of line break `JSON.stringify()` and LogTape's JSON Lines formatter leave raw.
 *
 * @example
 * ```ts
 * escapeJsonLineSeparators('{"m":"a\u2028b"}'); // '{"m":"a\\u2028b"}'
 * ```
 */
export function escapeJsonLineSeparators(line: string): string {
  return line.replace(_LINE_SEPARATORS, _escapeChar);
}

function _escapeChar(char: string): string {
  const code = char.charCodeAt(0);
  if (code === 10) return "\\n";
  if (code === 13) return "\\r";
  if (code > 0xff) return `\\u${code.toString(16)}`;
  return `\\x${code.toString(16).padStart(2, "0")}`;
}

function _textFormat(): (record: LogRecord) => string {
  // Strings go in bare (`Listening on unix:/tmp/x.sock`, not `unix:"/tmp/x.sock"`): the
  // escaping below already keeps request data from breaking a line.
  const format = getTextFormatter({
    value: (value) => typeof value === "string" ? value : inspect(value, { breakLength: Infinity }),
  });
  return (record) => `${escapeControlCharacters(format(record).trimEnd())}\n`;
}

function _jsonFormat(record: LogRecord): string {
  return escapeJsonLineSeparators(jsonLinesFormatter(record));
}

function _stdoutSink(format: (record: LogRecord) => string): Sink {
  return (record) => console.log(format(record).trimEnd());
}

function _fileSink(path: string, format: (record: LogRecord) => string): Sink & AsyncDisposable {
  let fd: number;
  try {
    fd = openSync(path, "a");
  } catch (error) {
    throw new ConfigError(`Cannot open log file ${path}: ${_reason(error)}`);
  }
  const stream = createWriteStream(path, { fd });
  stream.on("error", (error) => console.error(`Cannot write log file ${path}: ${error.message}`));
  const sink = (record: LogRecord) => {
    stream.write(format(record));
  };
  return Object.assign(sink, {
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => stream.end(resolve)),
  });
}

function _reason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ENOENT") return "its directory does not exist (ENOENT)";
  if (code === "EACCES") return "permission denied (EACCES)";
  if (code === "EISDIR") return "it is a directory (EISDIR)";
  return typeof code === "string" ? code : String(error);
}
