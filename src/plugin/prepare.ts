// Conf preparation: a PrepareConf's entries parsed once into the plugins a route's calls run.

import { getLogger } from "@logtape/logtape";
import type { TextEntry } from "../protocol/types.ts";
import { PluginConfError, UnknownPluginError } from "./errors.ts";
import type { PluginRegistry } from "./registry.ts";
import type { Plugin } from "./types.ts";

const logger = getLogger(["apisix-runner", "plugin"]);

/** One entry of a prepared conf: the plugin and its parsed conf, in conf order. */
export interface PreparedPlugin {
  /** The plugin to run. */
  readonly plugin: Plugin<unknown>;
  /** What its `parseConf` returned. */
  readonly conf: unknown;
  /** What its `setup()` returned (`undefined` without one). */
  readonly state?: unknown;
}

/** Options of {@linkcode prepareConfs}. */
export interface PrepareConfsOptions {
  /** Skip unknown plugins and invalid confs with a warning (the Go runner's behaviour). */
  readonly skipInvalid: boolean;
  /** Reports a skipped entry; defaults to a warning in the log. */
  readonly onSkip?: (error: UnknownPluginError | PluginConfError) => void;
}

/**
 * Parses the confs of one PrepareConf, in order. Throws
 * {@linkcode UnknownPluginError} or {@linkcode PluginConfError} unless
 * `skipInvalid`, in which case the entry is skipped with a warning.
 *
 * @example
 * ```ts
 * import { PluginRegistry } from "./registry.ts";
 * import { say } from "../../plugins/say.ts";
 * const chain = prepareConfs(new PluginRegistry([say]), [{ name: "say", value: '{"body":"hi"}' }], {
 *   skipInvalid: false,
 * });
 * chain.length; // 1
 * ```
 */
export function prepareConfs(
  registry: PluginRegistry,
  entries: readonly TextEntry[],
  options: PrepareConfsOptions,
): PreparedPlugin[] {
  const prepared: PreparedPlugin[] = [];
  const skipped = options.onSkip ?? _warnSkipped;
  for (const entry of entries) {
    const plugin = registry.get(entry.name);
    if (plugin === undefined) {
      const error = new UnknownPluginError(entry.name);
      if (!options.skipInvalid) throw error;
      skipped(error);
      continue;
    }
    const state = registry.stateOf(plugin);
    let conf: unknown;
    try {
      conf = plugin.parseConf(entry.value ?? "");
    } catch (cause) {
      const detail = cause instanceof Error ? cause.message : String(cause);
      const error = new PluginConfError(entry.name, detail, { cause });
      if (!options.skipInvalid) throw error;
      skipped(error);
      continue;
    }
    prepared.push({ plugin, conf, state });
  }
  return prepared;
}

function _warnSkipped(error: UnknownPluginError | PluginConfError): void {
  logger.warn("Skipping conf entry: {error}", {
    pluginName: error.pluginName,
    error: error.message,
  });
}
