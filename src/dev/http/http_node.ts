// HttpRuntime on node:http, which Deno, Bun and Node all implement with raw header lines intact.
//
// Why node:http everywhere instead of each runtime's own HTTP server or fetch: the gateway must
// see each request header line as sent (repeated lines apart, as APISIX sends them) and must set
// the upstream `Host` (fetch drops it on Deno and Node) and read upstream headers as received,
// without transparent decompression. node:http gives all of that on the three runtimes with one
// adapter.

import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import {
  type HttpClientRequest,
  type HttpClientResponse,
  type HttpHandler,
  type HttpHeader,
  HttpListenError,
  type HttpRuntime,
  type HttpServeOptions,
  type HttpServer,
  type HttpServerRequest,
  UpstreamTimeoutError,
} from "./http_types.ts";

const EMPTY = new Uint8Array(0);
const INTERNAL_ERROR = new TextEncoder().encode("Internal Server Error\n");

/**
 * Creates the node:http based {@linkcode HttpRuntime}: a server that hands
 * the handler raw header lines and a fully read body, and a client with a
 * keepalive pool that sends header lines as given (`Host` included).
 *
 * @example
 * ```ts
 * const httpRuntime = createNodeHttpRuntime();
 * const server = await httpRuntime.serve({ hostname: "127.0.0.1", port: 0 }, (req) =>
 *   Promise.resolve({ status: 200, headers: [], body: req.body }));
 * await server.close();
 * httpRuntime.close();
 * ```
 */
export function createNodeHttpRuntime(): HttpRuntime {
  const agents = {
    http: new http.Agent({ keepAlive: true }),
    https: new https.Agent({ keepAlive: true }),
  };
  return {
    serve: (options, handler) => _serve(options, handler),
    request: (request) => _request(request, agents[request.scheme]),
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

function _serve(options: HttpServeOptions, handler: HttpHandler): Promise<HttpServer> {
  const server = http.createServer((req, res) => {
    const chunks: Uint8Array[] = [];
    req.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    req.on("error", () => res.destroy());
    req.on("end", () => {
      const socket = req.socket;
      const request: HttpServerRequest = {
        method: req.method ?? "GET",
        target: req.url ?? "/",
        headers: _pairs(req.rawHeaders),
        body: _concat(chunks),
        httpVersion: req.httpVersion,
        remoteAddress: socket.remoteAddress ?? "",
        remotePort: socket.remotePort ?? 0,
        localAddress: socket.localAddress ?? "",
        localPort: socket.localPort ?? 0,
      };
      handler(request).then(
        (response) => {
          const body = response.body ?? EMPTY;
          const flat: string[] = [];
          let hasLength = false;
          for (const { name, value } of response.headers) {
            if (name.length === 14 && name.toLowerCase() === "content-length") hasLength = true;
            flat.push(name, value);
          }
          if (!hasLength && _mayHaveBody(response.status)) {
            flat.push("Content-Length", String(body.length));
          }
          res.writeHead(response.status, flat);
          res.end(body.length > 0 && request.method !== "HEAD" ? body : undefined);
        },
        () => {
          if (res.headersSent) {
            res.destroy();
            return;
          }
          res.writeHead(500, ["Content-Type", "text/plain", "Content-Length", "22"]);
          res.end(INTERNAL_ERROR);
        },
      );
    });
  });
  return new Promise((resolve, reject) => {
    const where = `${options.hostname}:${options.port}`;
    server.once("error", (error) => reject(new HttpListenError(where, error)));
    server.listen(options.port, options.hostname, () => {
      const address = server.address() as AddressInfo;
      let closing: Promise<void> | undefined;
      resolve({
        hostname: options.hostname,
        port: address.port,
        close() {
          closing ??= new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections();
          });
          return closing;
        },
      });
    });
  });
}

function _request(
  request: HttpClientRequest,
  agent: http.Agent,
): Promise<HttpClientResponse> {
  const send = request.scheme === "https" ? https.request : http.request;
  const flat: string[] = [];
  for (const { name, value } of request.headers) flat.push(name, value);
  return new Promise((resolve, reject) => {
    const req = send({
      agent,
      host: request.hostname,
      port: request.port,
      method: request.method,
      path: request.target,
      headers: flat as unknown as http.OutgoingHttpHeaders,
      setHost: false,
      timeout: request.timeoutMs,
    }, (res) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (chunk: Uint8Array) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        resolve({
          status: res.statusCode ?? 502,
          headers: _pairs(res.rawHeaders),
          body: _concat(chunks),
        });
      });
    });
    req.on("timeout", () => {
      req.destroy(
        new UpstreamTimeoutError(`${request.hostname}:${request.port}`, request.timeoutMs),
      );
    });
    req.on("error", reject);
    req.end(request.body !== undefined && request.body.length > 0 ? request.body : undefined);
  });
}

function _pairs(raw: readonly string[]): HttpHeader[] {
  const headers: HttpHeader[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) headers.push({ name: raw[i]!, value: raw[i + 1]! });
  return headers;
}

function _concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 0) return EMPTY;
  if (chunks.length === 1) return new Uint8Array(chunks[0]!);
  let size = 0;
  for (const chunk of chunks) size += chunk.length;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

function _mayHaveBody(status: number): boolean {
  return status >= 200 && status !== 204 && status !== 304;
}
