// The public test kit for plugin authors: fake calls and runners over the real chain code.

export { FakeExtraInfoChannel, fakeHttpReqCall, fakeHttpRespCall } from "./fake.ts";
export { parseIp } from "../plugin/ip.ts";
export type { FakeArgsInit, FakeExtraInfoInit, FakeRequestInit, FakeResponseInit } from "./fake.ts";
export {
  runRequestChain,
  runRequestPlugin,
  runResponseChain,
  runResponsePlugin,
  setupPlugin,
} from "./run.ts";
export type {
  AskedInfo,
  ChainStep,
  ConfInput,
  RequestRunResult,
  ResponseRunResult,
  RunRequestOptions,
  RunResponseOptions,
} from "./run.ts";
