// Configures LogTape for the executable: level, text or JSON lines, stdout or a file.
import { createWriteStream } from "node:fs";
import {
  configure,
  dispose,
  getTextFormatter,
  jsonLinesFormatter,
  type LogRecord,
  type Sink,
} from "@logtape/logtape";
import type { LogLevelName } from "./args.ts";

/** Options of {@linkcode setupLogging}. */
export interface LoggingOptions {
  level: LogLevelName;
  format: "text" | "json";
  /** Append to this file instead of writing to stdout. */
  file?: string | undefined;
}

/** Configures the process-wide LogTape sinks; call {@linkcode shutdownLogging} before exiting. */
export async function setupLogging(options: LoggingOptions): Promise<void> {
  const format = options.format === "json" ? jsonLinesFormatter : getTextFormatter();
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

function _stdoutSink(format: (record: LogRecord) => string): Sink {
  return (record) => console.log(format(record).trimEnd());
}

function _fileSink(path: string, format: (record: LogRecord) => string): Sink & AsyncDisposable {
  const stream = createWriteStream(path, { flags: "a" });
  stream.on("error", (error) => console.error(`Cannot write log file ${path}: ${error.message}`));
  const sink = (record: LogRecord) => {
    stream.write(format(record));
  };
  return Object.assign(sink, {
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => stream.end(resolve)),
  });
}
