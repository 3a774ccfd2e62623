// Stop responses: the cheap stop() helper and the conversion of a web Response.

import type { PreparedStop, StopAction, TextEntry } from "../protocol/types.ts";
import { type HeaderInit, HeaderMap } from "./headers.ts";

/** Options of {@linkcode stop}. */
export interface StopInit {
  /** Response body; text is UTF-8 encoded. An empty body is sent as no body. */
  readonly body?: string | Uint8Array | undefined;
  /** Response headers; repeated names give several values. */
  readonly headers?: HeaderInit | undefined;
}

const ENCODER = new TextEncoder();

/**
 * Builds a stop response without the `Response` machinery: synchronous and a
 * few allocations. The result is a {@linkcode PreparedStop}, frozen, so a
 * plugin can build it once in `parseConf` and return the same value on every
 * call: the runner then encodes its reply once and reuses it.
 *
 * @example
 * ```ts
 * import { stop } from "./stop.ts";
 * const denied = stop(403, { body: "forbidden", headers: { "content-type": "text/plain" } });
 * denied.status; // 403
 * ```
 */
export function stop(status: number, init?: StopInit): PreparedStop {
  if (!Number.isInteger(status) || status < 0 || status > 0xFFFF) {
    throw new RangeError(`Stop status must be an integer from 0 to 65535, got ${status}`);
  }
  let body: Uint8Array | undefined;
  const raw = init?.body;
  if (typeof raw === "string") body = raw.length === 0 ? undefined : ENCODER.encode(raw);
  else if (raw !== undefined && raw.length > 0) body = raw;
  let headers: readonly TextEntry[] | undefined;
  if (init?.headers !== undefined) {
    const entries = HeaderMap.from(init.headers).toTextEntries();
    if (entries.length > 0) headers = Object.freeze(entries);
  }
  return Object.freeze({ type: "stop" as const, status, headers, body, prepared: true as const });
}

/**
 * Converts a web `Response` into a stop action, reading its whole body.
 *
 * @example
 * ```ts
 * import { responseToStop } from "./stop.ts";
 * const action = await responseToStop(new Response("hi", { status: 201 }));
 * action.status; // 201
 * ```
 */
export async function responseToStop(response: Response): Promise<StopAction> {
  const headers: TextEntry[] = [];
  for (const [name, value] of response.headers) headers.push({ name, value });
  let body: Uint8Array | undefined;
  if (response.body !== null) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length > 0) body = bytes;
  }
  return {
    type: "stop",
    status: response.status,
    headers: headers.length > 0 ? headers : undefined,
    body,
  };
}

/** Whether `value` is a stop action (as built by {@linkcode stop}). */
export function isStopAction(value: unknown): value is StopAction {
  return typeof value === "object" && value !== null &&
    (value as { type?: unknown }).type === "stop" &&
    typeof (value as { status?: unknown }).status === "number";
}
