// Serving plugins: their setup() before the socket listens, the drain, then their dispose() and the operations' stop.

import { getLogger } from "@logtape/logtape";
import { DISPOSE_BUDGET_MS, pluginLogger, type PluginRegistry } from "../plugin/registry.ts";
import type { RunnerServer } from "../server/server.ts";
import type { Operations } from "./operations.ts";

const logger = getLogger(["apisix-runner", "runner"]);

/** A server whose plugins are being set up, served, or stopped. */
export interface PluginServing {
  /** Resolves once every plugin's `setup()` finished; rejects with the first failure. */
  readonly setUp: Promise<void>;
  /** Resolves once the socket listens (after {@linkcode PluginServing.setUp}). */
  readonly started: Promise<void>;
  /**
   * Aborts a setup still running; once listening, drains within
   * `shutdownTimeoutMs`; then disposes the plugins (within `DISPOSE_BUDGET_MS`,
   * failures logged) and stops `operations`. Rejects when the drain failed.
   */
  stop(shutdownTimeoutMs: number): Promise<void>;
}

/**
 * Sets the plugins of `registry` up, then starts `server` on them. The one
 * sequence `run` and the in-process `dev` runner share, so a plugin's state is
 * there before the first call and released after the last.
 *
 * @example
 * ```ts
 * const serving = servePlugins(registry, server, operations);
 * await serving.started;
 * // …on SIGTERM:
 * await serving.stop(800);
 * ```
 */
export function servePlugins(
  registry: PluginRegistry,
  server: RunnerServer,
  operations?: Operations,
): PluginServing {
  const stopping = new AbortController();
  const setUp = registry.setup({
    signal: stopping.signal,
    logger: pluginLogger,
  });
  const started = setUp.then(() => server.start());
  started.catch(() => {}); // the caller learns of it through `setUp` and `started`
  return {
    setUp,
    started,
    async stop(shutdownTimeoutMs) {
      stopping.abort(new Error("The runner is stopping"));
      try {
        await started.then(() => server.shutdown(shutdownTimeoutMs), () => {});
      } finally {
        // After the drain, so no call still uses a plugin's client; bounded, inside APISIX's 1 s.
        const [failures] = await Promise.all([
          registry.dispose(DISPOSE_BUDGET_MS),
          operations?.stop(),
        ]);
        for (const { plugin, error } of failures) {
          logger.warn("Plugin {plugin} dispose() failed: {error}", { plugin, error });
        }
      }
    },
  };
}
