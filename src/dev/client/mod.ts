// Public surface of the APISIX-playing client used by tests, the benchmark and the dev gateway.

export {
  ApisixConnection,
  type CallOutcome,
  ConnectionBusyError,
  type ExtraInfoAnswerer,
  PrepareConfError,
  type RawFrame,
  type ReqCallOutcome,
  type RespCallOutcome,
  RunnerClosedError,
  UnexpectedReplyTypeError,
} from "./connection.ts";
export {
  ApisixClient,
  ApisixClientClosedError,
  type ApisixClientOptions,
  type ApisixClientStats,
  type CallBase,
  type ClientOutcome,
  DEFAULT_MAX_IDLE,
  DEFAULT_TOKEN_TTL_MS,
  formatPrepareConfKey,
  MAX_CALL_ATTEMPTS,
  type PrepareConfKeyOptions,
  type ReqCallDescription,
  type ReqCallInput,
  type RespCallDescription,
  type RespCallInput,
} from "./client.ts";
