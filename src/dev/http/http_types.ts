// The HTTP seam of the dev gateway: serve HTTP/1.1 and call upstreams, with raw header lines kept.

/**
 * One header line. Names keep the case they had on the wire; a header sent
 * several times is several entries (one per line), never joined.
 */
export interface HttpHeader {
  readonly name: string;
  readonly value: string;
}

/** A request the server received, body fully read. */
export interface HttpServerRequest {
  /** Method as sent, e.g. `"GET"`. */
  readonly method: string;
  /** The request target exactly as sent (`/path?query`), not decoded. */
  readonly target: string;
  /** Header lines in order, original case, one entry per line. */
  readonly headers: readonly HttpHeader[];
  /** The request body (empty when none). */
  readonly body: Uint8Array;
  /** `"1.1"` or `"1.0"`. */
  readonly httpVersion: string;
  /** Client address (text form, e.g. `"127.0.0.1"`). */
  readonly remoteAddress: string;
  /** Client port. */
  readonly remotePort: number;
  /** Address of the server side of the connection. */
  readonly localAddress: string;
  /** Port of the server side of the connection. */
  readonly localPort: number;
}

/** What the server sends back. `content-length` is computed from `body` when not given. */
export interface HttpServerResponse {
  readonly status: number;
  /** Header lines in order; repeated names become repeated lines. */
  readonly headers: readonly HttpHeader[];
  readonly body?: Uint8Array | undefined;
}

/** Handles one request; a rejection becomes a 500. */
export type HttpHandler = (request: HttpServerRequest) => Promise<HttpServerResponse>;

/** Options of {@linkcode HttpRuntime.serve}. */
export interface HttpServeOptions {
  /** Address to listen on, e.g. `"127.0.0.1"`. */
  readonly hostname: string;
  /** TCP port; 0 picks a free one (read it back from {@linkcode HttpServer.port}). */
  readonly port: number;
}

/** A listening HTTP server. */
export interface HttpServer {
  /** The address it listens on. */
  readonly hostname: string;
  /** The port it listens on (the real one when 0 was asked). */
  readonly port: number;
  /** Stops listening and closes every connection, idle or not. Idempotent. */
  close(): Promise<void>;
}

/** An HTTP request to an upstream. */
export interface HttpClientRequest {
  /** `"http"` or `"https"`. */
  readonly scheme: "http" | "https";
  /** Host to connect to (name or address). */
  readonly hostname: string;
  readonly port: number;
  readonly method: string;
  /** Request target sent as is (`/path?query`, already escaped). */
  readonly target: string;
  /**
   * Header lines sent as given, `Host` included, never joined. The keepalive
   * pool adds `Connection: keep-alive`; a method that usually has a body (POST,
   * PUT, PATCH...) sent without `Content-Length` goes chunked.
   */
  readonly headers: readonly HttpHeader[];
  /** Body to send, if any. */
  readonly body?: Uint8Array | undefined;
  /** Gives up (with {@linkcode UpstreamTimeoutError}) when the upstream is silent this long. */
  readonly timeoutMs: number;
}

/** An upstream's response, body fully read and not decoded (no transparent decompression). */
export interface HttpClientResponse {
  readonly status: number;
  /** Header lines in order, original case, one entry per line. */
  readonly headers: readonly HttpHeader[];
  readonly body: Uint8Array;
}

/** What the dev gateway needs from a JavaScript runtime to speak HTTP. */
export interface HttpRuntime {
  /** Starts an HTTP/1.1 server. */
  serve(options: HttpServeOptions, handler: HttpHandler): Promise<HttpServer>;
  /** Sends a request over a keepalive pool of upstream connections. */
  request(request: HttpClientRequest): Promise<HttpClientResponse>;
  /** Closes the idle upstream connections of the pool. */
  close(): void;
}

/** The upstream did not answer within the request's `timeoutMs`. */
export class UpstreamTimeoutError extends Error {
  /** `where` names the upstream (`host:port`), `timeoutMs` the limit that passed. */
  constructor(where: string, timeoutMs: number) {
    super(`Upstream ${where} did not answer within ${timeoutMs} ms`);
    this.name = "UpstreamTimeoutError";
  }
}

/** The HTTP server could not listen. */
export class HttpListenError extends Error {
  /** `where` is `host:port`, `cause` the system error. */
  constructor(where: string, cause: unknown) {
    super(`Cannot listen on ${where}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = "HttpListenError";
  }
}
