// The one place that maps a failure to what APISIX gets: an error frame code, or a closed connection.
import { ErrorCode, type ErrorCodeValue } from "../protocol/types.ts";
import { MalformedPayloadError, UnexpectedEofError } from "../protocol/errors.ts";
import { PluginConfError, UnknownPluginError } from "../plugin/errors.ts";
import { SocketClosedError } from "../runtime/errors.ts";
import {
  ApisixDisconnectedError,
  ConfTokenNotFoundError,
  ExtraInfoOutOfSyncError,
  UnexpectedFrameTypeError,
  UnknownFrameTypeError,
} from "./errors.ts";

/** What the server does about a failed frame. */
export type FailureResponse =
  /** Answer with an `A6.Err.Resp` frame carrying `code`, keep the connection. */
  | { readonly kind: "reply"; readonly code: ErrorCodeValue }
  /** Close the connection without an answer: the byte stream can no longer be trusted. */
  | { readonly kind: "close" };

const _CLOSE: FailureResponse = { kind: "close" };
const _BAD_REQUEST: FailureResponse = { kind: "reply", code: ErrorCode.BadRequest };
const _SERVICE_UNAVAILABLE: FailureResponse = {
  kind: "reply",
  code: ErrorCode.ServiceUnavailable,
};
const _CONF_TOKEN_NOT_FOUND: FailureResponse = {
  kind: "reply",
  code: ErrorCode.ConfTokenNotFound,
};

/**
 * Maps a failure while handling a frame to the answer APISIX gets.
 *
 * - unknown or expired token → CONF_TOKEN_NOT_FOUND (APISIX re-sends PrepareConf and retries);
 * - unknown frame type, unknown plugin, invalid conf → BAD_REQUEST (fail closed, no retry);
 * - undecodable payload, EOF mid-frame, a wrong frame in an ExtraInfo exchange, a call that
 *   ended with an ExtraInfo exchange unfinished, APISIX gone (also as a plugin error's cause)
 *   → close only this connection (the stream is out of sync);
 * - a plugin that throws or misses its deadline, a reply over 0xFFFFFF bytes, anything else →
 *   SERVICE_UNAVAILABLE, so APISIX's `allow_degradation` decides what the client sees.
 */
export function failureResponse(error: unknown): FailureResponse {
  if (error instanceof ConfTokenNotFoundError) return _CONF_TOKEN_NOT_FOUND;
  if (
    error instanceof UnknownFrameTypeError || error instanceof UnknownPluginError ||
    error instanceof PluginConfError
  ) {
    return _BAD_REQUEST;
  }
  if (
    error instanceof MalformedPayloadError || error instanceof UnexpectedEofError ||
    error instanceof UnexpectedFrameTypeError || error instanceof SocketClosedError ||
    error instanceof ExtraInfoOutOfSyncError || disconnectOf(error) !== undefined
  ) {
    return _CLOSE;
  }
  // PluginFilterError, PluginTimeoutError, CallDeadlineError, FrameTooLargeError and the unforeseen.
  return _SERVICE_UNAVAILABLE;
}

/**
 * The disconnect behind a failure: the error itself, or the cause a plugin's failure carries
 * (a filter that awaited `var()` when APISIX closed). The call's signal aborts with it.
 */
export function disconnectOf(error: unknown): ApisixDisconnectedError | undefined {
  if (error instanceof ApisixDisconnectedError) return error;
  if (error instanceof Error && error.cause instanceof ApisixDisconnectedError) return error.cause;
  return undefined;
}
