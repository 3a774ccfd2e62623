// Serves GET /metrics over HTTP (node:http, which Deno, Bun and Node all provide) for Prometheus to scrape.

import { createServer, type Server } from "node:http";
import type { MetricsAddress } from "./metrics_address.ts";

/** A running metrics endpoint. */
export interface MetricsEndpoint {
  /** The port it listens on (the real one when 0 was asked). */
  readonly port: number;
  /** Stops listening. */
  close(): Promise<void>;
}

/**
 * Listens on `address` and answers `GET /metrics` with `render()` as
 * `text/plain; version=0.0.4`; anything else gets 404.
 *
 * @example
 * ```ts
 * const endpoint = await serveMetrics({ host: "127.0.0.1", port: 9091 }, () => metrics.render());
 * ```
 */
export function serveMetrics(
  address: MetricsAddress,
  render: () => Promise<string>,
): Promise<MetricsEndpoint> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? "").split("?")[0];
    if (request.method !== "GET" || path !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("Not found: GET /metrics\n");
      return;
    }
    render().then(
      (text) => {
        response.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
        response.end(text);
      },
      (error) => {
        response.writeHead(500, { "content-type": "text/plain" }).end(`${error}\n`);
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.host, () => {
      server.off("error", reject);
      const bound = server.address();
      resolve({
        port: typeof bound === "object" && bound !== null ? bound.port : address.port,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            // A scraper keeps its connection alive: without this, close() would wait for it.
            server.closeAllConnections?.();
          }),
      });
    });
  });
}
