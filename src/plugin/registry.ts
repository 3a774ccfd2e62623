// PluginRegistry: the plugins a runner instance knows, by name.

import { getLogger } from "@logtape/logtape";
import { DuplicatePluginError, PluginSetupError } from "./errors.ts";
import type { AnyPlugin, Plugin, PluginLogger } from "./types.ts";

/** The logger a plugin's `setup()` gets: category `apisix-runner.plugin.<name>`. */
export function pluginLogger(name: string): PluginLogger {
  return getLogger(["apisix-runner", "plugin", name]);
}

/** Time the plugins' `dispose()` get after the drain (100 ms): drain and dispose stay inside 1 s. */
export const DISPOSE_BUDGET_MS = 100;

/**
 * The plugins of one runner instance, looked up by name. Built once in the
 * composition root; there is no global registry.
 *
 * @example
 * ```ts
 * import { PluginRegistry } from "./registry.ts";
 * import { say } from "../../plugins/say.ts";
 * const registry = new PluginRegistry([say]);
 * registry.get("say") === say; // true
 * ```
 */
export class PluginRegistry {
  #plugins = new Map<string, Plugin>();
  #states = new Map<Plugin, unknown>();
  /** Plugins whose setup() ran, in order. */
  #setUp: Plugin[] = [];

  /** Indexes the plugins; throws {@linkcode DuplicatePluginError} on a repeated name. */
  constructor(plugins: readonly AnyPlugin[]) {
    for (const plugin of plugins) {
      if (this.#plugins.has(plugin.name)) throw new DuplicatePluginError(plugin.name);
      this.#plugins.set(plugin.name, plugin as Plugin);
    }
  }

  /** The plugin called `name`, or `undefined`. */
  get(name: string): Plugin | undefined {
    return this.#plugins.get(name);
  }

  /** Every registered name, in registration order. */
  names(): string[] {
    return [...this.#plugins.keys()];
  }

  /** What `plugin`'s `setup()` returned here; `undefined` before {@linkcode PluginRegistry.setup} or without one. */
  stateOf(plugin: Plugin): unknown {
    return this.#states.get(plugin);
  }

  /**
   * Runs each plugin's `setup()`, in registration order; their results are the
   * states the filters get. `signal` fires when the runner stops.
   *
   * @throws {PluginSetupError} naming the first plugin whose setup threw; the
   *   plugins set up before it are disposed again.
   */
  async setup(options: {
    readonly signal: AbortSignal;
    readonly logger: (plugin: string) => PluginLogger;
  }): Promise<void> {
    for (const plugin of this.#plugins.values()) {
      if (plugin.setup === undefined) continue;
      try {
        const state = await plugin.setup({
          logger: options.logger(plugin.name),
          signal: options.signal,
        });
        this.#states.set(plugin, state);
        this.#setUp.push(plugin);
      } catch (cause) {
        await this.dispose(1_000);
        throw new PluginSetupError(plugin.name, cause);
      }
    }
  }

  /**
   * Runs the `dispose()` of every plugin set up, all at once, and waits at most
   * `timeoutMs`. Returns the names of those that failed or did not finish.
   */
  async dispose(timeoutMs: number): Promise<{ plugin: string; error: unknown }[]> {
    const plugins = this.#setUp.splice(0).reverse();
    const failures: { plugin: string; error: unknown }[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) =>
      timer = setTimeout(() => resolve("late"), timeoutMs)
    );
    await Promise.all(plugins.map(async (plugin) => {
      if (plugin.dispose === undefined) return;
      try {
        const done = Promise.resolve(plugin.dispose(this.#states.get(plugin))).then(() =>
          "done" as const
        );
        if (await Promise.race([done, late]) === "late") {
          failures.push({
            plugin: plugin.name,
            error: new Error(`dispose() took over ${timeoutMs} ms`),
          });
        }
      } catch (error) {
        failures.push({ plugin: plugin.name, error });
      }
    }));
    clearTimeout(timer);
    return failures;
  }
}
