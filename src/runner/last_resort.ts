// Last-resort handlers: an error thrown or rejected outside every call is logged instead of ending the process.
import { getLogger } from "@logtape/logtape";
import process from "node:process";
import { detectRuntimeName } from "../runtime/detect.ts";
import { clipPeerValue, RepeatedLog } from "../server/repeated_log.ts";

const logger = getLogger(["apisix-runner", "runner"]);

/** The web `error` / `unhandledrejection` events Deno dispatches on `globalThis`. */
interface _WebEvents {
  addEventListener(type: string, listener: (event: Event) => void): void;
  removeEventListener(type: string, listener: (event: Event) => void): void;
}

/**
 * Keeps the runner alive when an error escapes every handler: a plugin that
 * throws in its own `setTimeout` callback, or leaves a promise rejected with
 * nobody listening. Deno, Bun and Node end the process on both by default,
 * which would fail every call in flight on every connection and leave APISIX
 * without a runner for the 3 s it waits before respawning. Each such error is
 * logged at error level (`Uncaught error outside any call ...`), once per error
 * class and then counted (`RepeatedLog`: a plugin timer throwing every
 * millisecond cannot flood the log), and the runner goes on: the runner's own code handles every failure of a call inside the
 * call, so what arrives here comes from plugin code running outside a call and
 * cannot be attributed to one. Returns a function that removes the handlers.
 *
 * On Deno the web `error` and `unhandledrejection` events are cancelled; on
 * Bun and Node `process` gets `uncaughtException` and `unhandledRejection`
 * listeners (having one switches off the default exit).
 *
 * @example
 * ```ts
 * const uninstall = installLastResortHandlers();
 * setTimeout(() => { throw new Error("late") }, 0); // logged, the process lives on
 * uninstall();
 * ```
 */
export function installLastResortHandlers(): () => void {
  const log = new RepeatedLog(logger);
  const _report = (kind: "exception" | "rejection", error: unknown) => _reportTo(log, kind, error);
  if (detectRuntimeName() === "deno") {
    const global = globalThis as unknown as _WebEvents;
    const onError = (event: Event) => {
      event.preventDefault();
      _report("exception", (event as ErrorEvent).error ?? (event as ErrorEvent).message);
    };
    const onRejection = (event: Event) => {
      event.preventDefault();
      _report("rejection", (event as PromiseRejectionEvent).reason);
    };
    global.addEventListener("error", onError);
    global.addEventListener("unhandledrejection", onRejection);
    return () => {
      global.removeEventListener("error", onError);
      global.removeEventListener("unhandledrejection", onRejection);
      log.flush();
    };
  }
  const onException = (error: unknown) => _report("exception", error);
  const onRejection = (reason: unknown) => _report("rejection", reason);
  process.on("uncaughtException", onException);
  process.on("unhandledRejection", onRejection);
  return () => {
    process.off("uncaughtException", onException);
    process.off("unhandledRejection", onRejection);
    log.flush();
  };
}

function _reportTo(log: RepeatedLog, kind: "exception" | "rejection", error: unknown): void {
  try {
    log.tick();
    // One kind per message: a flood of one error is counted, distinct errors each get a line.
    const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    log.log(
      `Uncaught errors outside any call (${clipPeerValue(what)})`,
      "error",
      "Uncaught error outside any call (unhandled {kind}), carrying on: {error}",
      { kind, error },
    );
  } catch {
    // Logging itself failed: nothing else is left to tell.
  }
}
