// Public surface of the wire codec: framing, message codecs, the reply encoder, errors and message types.

export { FrameTooLargeError, MalformedPayloadError, UnexpectedEofError } from "./errors.ts";
export {
  decodeFrameHeader,
  encodeFrame,
  encodeFrameHeader,
  type Frame,
  writeFrameHeader,
} from "./framing.ts";
export {
  DEFAULT_READ_HIGH_WATER_MARK,
  type FrameHandler,
  FrameReader,
  type FrameReaderOptions,
  type FrameWriter,
} from "./frame_reader.ts";
export { FrameEncoder } from "./encoder.ts";
export { NameCache } from "./lazy_text_entries.ts";
export {
  decodePrepareConfRequest,
  decodePrepareConfResponse,
  encodePrepareConfRequest,
  encodePrepareConfResponse,
} from "./prepare_conf.ts";
export {
  decodeHttpReqCallRequest,
  decodeHttpReqCallResponse,
  encodeHttpReqCallRequest,
  encodeHttpReqCallResponse,
} from "./http_req_call.ts";
export {
  decodeExtraInfoRequest,
  decodeExtraInfoResponse,
  encodeExtraInfoRequest,
  encodeExtraInfoResponse,
} from "./extra_info.ts";
export {
  decodeHttpRespCallRequest,
  decodeHttpRespCallResponse,
  encodeHttpRespCallRequest,
  encodeHttpRespCallResponse,
} from "./http_resp_call.ts";
export { decodeErrorResponse, encodeErrorResponse } from "./error_response.ts";
export {
  type Action,
  type DecodedTextEntry,
  ErrorCode,
  errorCodeName,
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
  type PreparedStop,
  type RewriteAction,
  type StopAction,
  type TextEntry,
} from "./types.ts";
