// Public surface of the wire codec: frame header and I/O, message codecs, errors and message types.

export { FrameTooLargeError, MalformedPayloadError } from "./errors.ts";
export {
  decodeFrameHeader,
  encodeFrameHeader,
  type Frame,
  readFrame,
  writeFrame,
} from "./frame.ts";
export {
  decodePrepareConfRequest,
  decodePrepareConfResponse,
  encodePrepareConfRequest,
  encodePrepareConfResponse,
  encodePrepareConfResponseFrame,
} from "./prepare_conf.ts";
export {
  decodeHttpReqCallRequest,
  decodeHttpReqCallResponse,
  encodeHttpReqCallRequest,
  encodeHttpReqCallResponse,
  encodeHttpReqCallResponseFrame,
} from "./http_req_call.ts";
export {
  decodeExtraInfoRequest,
  decodeExtraInfoResponse,
  encodeExtraInfoRequest,
  encodeExtraInfoRequestFrame,
  encodeExtraInfoResponse,
} from "./extra_info.ts";
export {
  decodeHttpRespCallRequest,
  decodeHttpRespCallResponse,
  encodeHttpRespCallRequest,
  encodeHttpRespCallResponse,
  encodeHttpRespCallResponseFrame,
} from "./http_resp_call.ts";
export {
  decodeErrorResponse,
  encodeErrorResponse,
  encodeErrorResponseFrame,
} from "./error_response.ts";
export {
  type Action,
  ErrorCode,
  type ErrorCodeValue,
  type ErrorResponse,
  type ExtraInfoRequest,
  type ExtraInfoResponse,
  FRAME_HEADER_SIZE,
  FrameType,
  type FrameTypeValue,
  type HttpReqCallRequest,
  type HttpReqCallResponse,
  type HttpRespCallRequest,
  type HttpRespCallResponse,
  MAX_PAYLOAD_SIZE,
  type Method,
  METHODS,
  type PrepareConfRequest,
  type PrepareConfResponse,
  type RewriteAction,
  type StopAction,
  type TextEntry,
} from "./types.ts";
