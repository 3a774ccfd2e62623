// PluginRegistry: the plugins a runner instance knows, by name.

import { DuplicatePluginError } from "./errors.ts";
import type { AnyPlugin, Plugin } from "./types.ts";

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
}
