// A local OTLP/HTTP receiver for the tests: keeps the JSON trace exports a runner POSTs to /v1/traces.

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** A span as received, its attributes flattened to plain values. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  attributes: Record<string, unknown>;
}

/** A running receiver. */
export interface OtlpReceiver {
  /** What `OTEL_EXPORTER_OTLP_ENDPOINT` should say. */
  readonly endpoint: string;
  /** The spans received once `count` arrived, or all after `ms`. */
  spans(count: number, ms: number): Promise<ReceivedSpan[]>;
  /** Stops listening. */
  close(): Promise<void>;
}

/** Starts a receiver on a free loopback port. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const received: unknown[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => body += chunk);
    request.on("end", () => {
      if (request.url === "/v1/traces") received.push(JSON.parse(body));
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans: (count, ms) => _spansWithin(received, count, ms),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The spans in the OTLP/HTTP JSON requests received, once `count` arrived (or `ms` passed). */
async function _spansWithin(
  received: unknown[],
  count: number,
  ms: number,
): Promise<ReceivedSpan[]> {
  const deadline = performance.now() + ms;
  for (;;) {
    const spans = received.flatMap((request) =>
      (request as { resourceSpans: { scopeSpans: { spans: RawSpan[] }[] }[] }).resourceSpans
        .flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans))
        .map(_span)
    );
    if (spans.length >= count || performance.now() > deadline) return spans;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface RawSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  attributes: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}

function _span(raw: RawSpan): ReceivedSpan {
  const attributes: Record<string, unknown> = {};
  for (const { key, value } of raw.attributes) {
    attributes[key] = value.stringValue ??
      (value.intValue === undefined ? undefined : Number(value.intValue));
  }
  return { traceId: raw.traceId, spanId: raw.spanId, parentSpanId: raw.parentSpanId, attributes };
}
