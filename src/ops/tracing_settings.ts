// Whether to trace and where to, from `--otel` and the standard OTEL_* variables (no SDK loaded here).

/** Where spans go unless a variable says otherwise (the OTLP/HTTP default). */
export const DEFAULT_OTLP_ENDPOINT = "http://localhost:4318";

/** Tracing settings, from `--otel` and the `OTEL_*` variables. */
export interface TracingSettings {
  /** Full URL spans are POSTed to (`…/v1/traces`). */
  readonly url: string;
  /** `service.name` of the spans. */
  readonly serviceName: string;
}

/**
 * Whether tracing is on, and where to: on with `--otel`, or when
 * `OTEL_TRACES_EXPORTER=otlp` or an OTLP endpoint variable is set; always off
 * with `OTEL_SDK_DISABLED=true`. `undefined` when off.
 *
 * @example
 * ```ts
 * tracingSettings(true, (name) => undefined);
 * // { url: "http://localhost:4318/v1/traces", serviceName: "apisix-ts-runner" }
 * ```
 */
export function tracingSettings(
  flag: boolean,
  env: (name: string) => string | undefined,
): TracingSettings | undefined {
  if (env("OTEL_SDK_DISABLED")?.trim().toLowerCase() === "true") return undefined;
  const traces = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")?.trim() || undefined;
  const base = env("OTEL_EXPORTER_OTLP_ENDPOINT")?.trim() || undefined;
  const on = flag || env("OTEL_TRACES_EXPORTER")?.trim() === "otlp" || traces !== undefined ||
    base !== undefined;
  if (!on) return undefined;
  return {
    url: traces ?? `${(base ?? DEFAULT_OTLP_ENDPOINT).replace(/\/+$/, "")}/v1/traces`,
    serviceName: env("OTEL_SERVICE_NAME")?.trim() || "apisix-ts-runner",
  };
}
