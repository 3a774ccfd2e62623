// The built-in echo upstream: answers with the request it received, as JSON, so demos need no server.

import type { HttpServerRequest, HttpServerResponse } from "../http/http_types.ts";
import { decodeArgs } from "./args.ts";
import { splitTarget } from "./uri.ts";

const ENCODER = new TextEncoder();
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/** The JSON body of the echo upstream's answer. */
export interface EchoBody {
  /** Always `"echo"`, so a rewritten body is easy to spot. */
  upstream: "echo";
  method: string;
  /** The request target as received (path and query, not decoded). */
  uri: string;
  /** Query args decoded: one key per name, an array when repeated, `true` when valueless. */
  args: Record<string, string | true | (string | true)[]>;
  /** Headers with lower-case names, an array when a header came several times. */
  headers: Record<string, string | string[]>;
  /** The body as text when it is UTF-8; absent when empty. */
  body?: string;
  /** The body as base64 when it is not UTF-8. */
  body_base64?: string;
}

/**
 * Answers 200 with an {@linkcode EchoBody} describing `request` (pretty JSON,
 * `content-type: application/json`).
 *
 * @example
 * ```ts
 * const server = await httpRuntime.serve({ hostname: "127.0.0.1", port: 9081 }, (req) =>
 *   Promise.resolve(echoUpstream(req)));
 * ```
 */
export function echoUpstream(request: HttpServerRequest): HttpServerResponse {
  const echo: EchoBody = {
    upstream: "echo",
    method: request.method,
    uri: request.target,
    // No prototype: a header or arg named "__proto__" stays plain data.
    args: Object.create(null),
    headers: Object.create(null),
  };
  for (const { name, value } of decodeArgs(splitTarget(request.target).query)) {
    _add(echo.args, name, value ?? true);
  }
  for (const { name, value } of request.headers) _add(echo.headers, name.toLowerCase(), value);
  if (request.body.length > 0) {
    try {
      echo.body = STRICT_UTF8.decode(request.body);
    } catch {
      echo.body_base64 = _base64(request.body);
    }
  }
  return {
    status: 200,
    headers: [{ name: "Content-Type", value: "application/json" }],
    body: ENCODER.encode(JSON.stringify(echo, null, 2) + "\n"),
  };
}

function _add<T>(target: Record<string, T | T[]>, name: string, value: T): void {
  const current = target[name];
  if (current === undefined) target[name] = value;
  else if (Array.isArray(current)) current.push(value);
  else target[name] = [current, value];
}

function _base64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
