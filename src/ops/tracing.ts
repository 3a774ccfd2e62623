// Trace continuation: each plugin filter of a call that carries `traceparent` becomes a child span, exported over OTLP/HTTP.

import {
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
} from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import type {
  FilterObserver,
  FilterOutcome,
  FilterWatch,
  ObservedCall,
  PhaseName,
} from "../plugin/observer.ts";
import type { TextEntry } from "../protocol/types.ts";
import { VERSION } from "../version.ts";
import type { TracingSettings } from "./tracing_settings.ts";

/**
 * A {@linkcode FilterObserver} making a span per plugin filter of each call
 * whose headers carry a valid W3C `traceparent`, as its child. Spans are
 * batched and POSTed as OTLP/HTTP JSON; {@linkcode Tracing.shutdown} flushes.
 */
export class Tracing implements FilterObserver {
  #provider: BasicTracerProvider;
  #tracer: Tracer;

  /** The call whose headers were read last, and the trace context they carry. */
  #lastCall: ObservedCall | undefined;
  #lastParent: ReturnType<typeof _parentOf>;

  /** Starts the exporter for `settings`. */
  constructor(settings: TracingSettings) {
    const exporter = new OTLPTraceExporter({ url: settings.url });
    this.#provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        "service.name": settings.serviceName,
        "service.version": VERSION,
      }),
      spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 })],
    });
    this.#tracer = this.#provider.getTracer("apisix-ts-runner", VERSION);
  }

  /** Starts the filter's span when the call carries a trace; a no-op watch otherwise. */
  start(plugin: string, phase: PhaseName, call: ObservedCall): FilterWatch {
    // Every filter of a call has the same parent: its headers are read once per call.
    if (call !== this.#lastCall) {
      this.#lastCall = call;
      this.#lastParent = _parentOf(call.headers);
    }
    const parent = this.#lastParent;
    if (parent === undefined) return _UNTRACED;
    const span: Span = this.#tracer.startSpan(`${phase} ${plugin}`, {
      kind: SpanKind.INTERNAL,
      attributes: {
        "apisix.plugin.name": plugin,
        "apisix.plugin.phase": phase,
        "apisix.conf_token": call.confToken,
        "apisix.request_id": call.id,
      },
    }, parent);
    const context = span.spanContext();
    return {
      traceparent: `00-${context.traceId}-${context.spanId}-${
        (context.traceFlags & 0xff).toString(16).padStart(2, "0")
      }`,
      end(outcome: FilterOutcome): void {
        span.setAttribute("apisix.plugin.outcome", outcome);
        if (outcome !== "ok" && outcome !== "stop") {
          span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
        }
        span.end();
      },
    };
  }

  /** Sends the spans still batched and stops, within `timeoutMs`. */
  async shutdown(timeoutMs = 100): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#provider.shutdown().catch(() => {}),
      new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs)),
    ]);
    clearTimeout(timer);
  }
}

const _UNTRACED: FilterWatch = Object.freeze({ end(): void {} });

const _TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The remote parent a `traceparent` header names, or `undefined` when absent or invalid. */
function _parentOf(headers: readonly TextEntry[]): Context | undefined {
  let value: string | undefined;
  for (const header of headers) {
    if (header.name.toLowerCase() === "traceparent") {
      value = header.value;
      break;
    }
  }
  const match = value === undefined ? null : _TRACEPARENT.exec(value.trim());
  if (match === null || match[1] === "ff") return undefined;
  const [, , traceId, spanId, flags] = match;
  if (/^0+$/.test(traceId!) || /^0+$/.test(spanId!)) return undefined;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: traceId!,
    spanId: spanId!,
    traceFlags: parseInt(flags!, 16),
    isRemote: true,
  });
}
