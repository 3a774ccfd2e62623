// The `--metrics-listen` value: host and port, checked before anything starts.

/** A `--metrics-listen` address: host and port. */
export interface MetricsAddress {
  readonly host: string;
  readonly port: number;
}

/** `--metrics-listen` is not `host:port`. */
export class MetricsAddressError extends Error {
  /** Creates the error for the value given. */
  constructor(value: string) {
    super(
      `--metrics-listen must be <host>:<port> (e.g. 127.0.0.1:9091 or [::1]:9091), got ${
        JSON.stringify(value)
      }`,
    );
    this.name = "MetricsAddressError";
  }
}

/**
 * Parses `host:port` (`[v6]:port` for IPv6); the port is 0 to 65535 (0: any free port).
 *
 * @example
 * ```ts
 * parseMetricsAddress("127.0.0.1:9091"); // { host: "127.0.0.1", port: 9091 }
 * ```
 * @throws {MetricsAddressError}
 */
export function parseMetricsAddress(value: string): MetricsAddress {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(value);
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || !(port >= 0 && port <= 65535)) throw new MetricsAddressError(value);
  return { host: match[1] ?? match[2]!, port };
}
