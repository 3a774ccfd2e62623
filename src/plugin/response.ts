// ResponseView: the change-tracking PluginResponse of an HttpRespCall that response filters receive.

import type { HttpRespCallRequest, HttpRespCallResponse, TextEntry } from "../protocol/types.ts";
import { CallViewBase } from "./call_view.ts";
import { HeaderMap } from "./headers.ts";
import type { CallContext, PluginResponse } from "./types.ts";

const ENCODER = new TextEncoder();

/**
 * Headers never returned in a full header set: they describe the upstream
 * connection or body framing, which APISIX redoes for the client.
 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  "connection",
  "content-length",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/**
 * The {@linkcode PluginResponse} of one HttpRespCall. Because APISIX sends only
 * the returned headers when any is returned (docs/PROTOCOL.md §3.4), a header
 * change makes the runner return the full set: the upstream headers minus
 * hop-by-hop ones and `content-length`, with the changes applied.
 *
 * @example
 * ```ts
 * import { definePlugin } from "../../mod.ts";
 * export const shout = definePlugin({
 *   name: "shout",
 *   parseConf: () => ({}),
 *   async responseFilter(res) {
 *     res.setBody((await res.text()).toUpperCase());
 *     res.headers.set("x-shouted", "1");
 *   },
 * });
 * ```
 */
export class ResponseView extends CallViewBase implements PluginResponse {
  #raw: HttpRespCallRequest;
  #status: number;
  #headers: HeaderMap | undefined;
  #newBody: Uint8Array | undefined;

  /** Wraps a decoded HttpRespCall; the phase runner builds one per call. */
  constructor(raw: HttpRespCallRequest, call: CallContext) {
    super(call, "respBody");
    this.#raw = raw;
    this.#status = raw.status;
  }

  /** The call id APISIX gave this request (for logs). */
  get id(): number {
    return this.#raw.id;
  }

  /** Client status: the upstream one until a filter sets it. */
  get status(): number {
    return this.#status;
  }

  set status(value: number) {
    if (!Number.isInteger(value) || value < 100 || value > 999) {
      throw new RangeError(`Response status must be an integer from 100 to 999, got ${value}`);
    }
    this.#status = value;
  }

  /** Upstream response headers, original case, one entry per value. */
  get headers(): HeaderMap {
    return this.#headers ??= HeaderMap.fromEntries(this.#raw.headers);
  }

  /** Replaces the body sent to the client. An empty body keeps the upstream one. */
  setBody(body: string | Uint8Array): void {
    this.#newBody = typeof body === "string" ? ENCODER.encode(body) : body;
  }

  /** The HttpRespCall reply fields the changes so far amount to (empty object: no change). */
  toResult(): Omit<HttpRespCallResponse, "id"> {
    const status = this.#status !== this.#raw.status ? this.#status : undefined;
    const headers = this.#headers?.touched
      ? _fullHeaders(this.#raw.headers, this.#headers)
      : undefined;
    const body = this.#newBody !== undefined && this.#newBody.length > 0
      ? this.#newBody
      : undefined;
    if (status === undefined && headers === undefined && body === undefined) return {};
    return { status, headers, body };
  }
}

function _fullHeaders(original: readonly TextEntry[], now: HeaderMap): TextEntry[] | undefined {
  const before = HeaderMap.fromEntries(original).toTextEntries();
  const after = now.toTextEntries();
  if (
    before.length === after.length &&
    before.every((e, i) => e.name === after[i]!.name && e.value === after[i]!.value)
  ) return undefined;
  const full = now.toTextEntries(HOP_BY_HOP_HEADERS);
  if (full.length > 0) return full;
  // An empty list would make APISIX copy the upstream headers: delete them instead.
  const deletes: TextEntry[] = [];
  for (const name of new Set(original.map((e) => e.name.toLowerCase()))) {
    if (!HOP_BY_HOP_HEADERS.has(name)) deletes.push({ name });
  }
  return deletes.length > 0 ? deletes : undefined;
}
