// What the log says about a failed frame or a closed connection: one line per kind, stacks only for the unforeseen.
import { getLogger } from "@logtape/logtape";
import { errorCodeName, type ErrorCodeValue, FrameType } from "../protocol/types.ts";
import { FrameTooLargeError } from "../protocol/errors.ts";
import {
  PluginConfError,
  PluginFilterError,
  PluginTimeoutError,
  UnknownPluginError,
} from "../plugin/errors.ts";
import { CallDeadlineError, ConfTokenNotFoundError, UnknownFrameTypeError } from "./errors.ts";
import { clipPeerValue, type RepeatedLog } from "./repeated_log.ts";

const logger = getLogger(["apisix-runner", "server"]);

/** What the log line of a failed frame names. */
export interface FailedFrame {
  /** Type byte of the frame. */
  readonly type: number;
  /** The call's id (0 for PrepareConf). */
  readonly requestId: number;
  /** The call's conf token (0 for PrepareConf, or when the call had not started). */
  readonly confToken?: number;
  /** The PrepareConf key, for a PrepareConf. */
  readonly confKey?: string | undefined;
}

/**
 * Logs a failed frame through `log`, one line per kind (route key, plugin, error
 * class), the rest counted. A call's line carries `requestId`, `confToken`,
 * `plugin` and `phase` as properties (fields in JSON lines). Failures the runner foresees (an unknown plugin, a
 * bad conf, an unknown token, a plugin past its deadline or returning something
 * that is not a Response) are logged by message alone; what a plugin threw, and
 * anything unforeseen, with its stack. The full error of every first line is
 * also logged at debug.
 */
export function logFrameFailure(
  log: RepeatedLog,
  error: unknown,
  answered: ErrorCodeValue,
  frame: FailedFrame,
): void {
  const code = errorCodeName(answered);
  const name = error instanceof Error ? error.name : typeof error;
  const reason = clipPeerValue(error instanceof Error ? error.message : String(error));
  let written: boolean;
  if (frame.type === FrameType.PrepareConf && frame.confKey !== undefined) {
    const key = clipPeerValue(frame.confKey);
    const level = _isForeseen(error) ? "warning" : "error";
    written = log.log(`PrepareConf ${key} refused (${name})`, level, _PREPARE, {
      key,
      code,
      error: level === "error" ? error : reason,
      errorName: name,
    });
  } else if (error instanceof ConfTokenNotFoundError) {
    written = log.log("Calls naming an unknown or expired conf token", "info", _TOKEN, {
      requestId: frame.requestId,
      token: error.token,
      code,
    });
  } else if (error instanceof UnknownFrameTypeError) {
    written = log.log("Frames of an unknown type", "warning", _UNKNOWN_TYPE, {
      frameType: error.frameType,
      code,
    });
  } else {
    const plugin = clipPeerValue(String((error as { pluginName?: unknown }).pluginName ?? "-"));
    // A plugin's own error is what its author needs, with its stack: not our wrapper's.
    const thrown = error instanceof PluginFilterError && error.cause instanceof Error
      ? error.cause
      : undefined;
    const phase = frame.type === FrameType.HttpRespCall ? "HTTPRespCall" : "HTTPReqCall";
    const kind = `${phase} calls failing in plugin ${plugin} (${thrown?.name ?? name})`;
    written = log.log(kind, "error", _CALL, {
      requestId: frame.requestId,
      confToken: frame.confToken,
      phase: phase === "HTTPRespCall" ? "response" : "request",
      plugin,
      code,
      error: thrown ?? (_isForeseen(error) || error instanceof PluginFilterError ? reason : error),
      errorName: name,
    });
  }
  if (written) logger.debug("Full error of the line above: {error}", { error });
}

/**
 * Logs a connection closed because its byte stream can no longer be trusted,
 * one line per error class, with no stack: the peer's bytes caused it.
 */
export function logConnectionClosed(log: RepeatedLog, error: unknown): void {
  const name = error instanceof Error ? error.name : typeof error;
  const reason = clipPeerValue(error instanceof Error ? error.message : String(error));
  if (log.log(`Connections closed (${name})`, "warning", _CLOSED, { reason, errorName: name })) {
    logger.debug("Full error of the line above: {error}", { error });
  }
}

const _PREPARE = "PrepareConf {key} refused with {code}: {error}";
const _TOKEN =
  "Call of request {requestId} names conf token {token}, unknown or expired: answered {code} (APISIX prepares the conf again)";
const _UNKNOWN_TYPE = "Frame of unknown type {frameType}: answered {code}";
const _CALL = "Call of request {requestId} failed in plugin {plugin}, answered {code}: {error}";
const _CLOSED = "Closing connection: {reason}";

/** Failures that follow from the route's conf or APISIX's state, not from a bug. */
function _isForeseen(error: unknown): boolean {
  return error instanceof UnknownPluginError || error instanceof PluginConfError ||
    error instanceof PluginTimeoutError || error instanceof CallDeadlineError ||
    error instanceof FrameTooLargeError;
}
