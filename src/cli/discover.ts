// Finds plugins in the user's modules and folders (every plugin export), or the bundled ones.

import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { AnyPlugin } from "../plugin/types.ts";
import { DuplicatePluginNameError, PluginDiscoveryError } from "./errors.ts";
import { displayPath } from "./tools.ts";
import { enableTypeScriptImports } from "./typescript_imports.ts";

/** The specifier a generated entry imports the bundled plugins from. */
export const BUNDLED_PLUGINS_SPECIFIER = "apisix-ts-plugin-runner/plugins";

/** One plugin found in the user's modules, or a bundled one. */
export interface PluginSource {
  /** The plugin's name as routes use it. */
  readonly name: string;
  /** The plugin itself. */
  readonly plugin: AnyPlugin;
  /**
   * Where a generated entry imports it from: the module's absolute path, or
   * {@linkcode BUNDLED_PLUGINS_SPECIFIER} for a bundled plugin.
   */
  readonly file: string;
  /** How the generated entry reaches it from the module namespace: `.hello`, `.plugins[1]`. */
  readonly access: string;
  /** Whether it is one of the bundled example plugins. */
  readonly bundled: boolean;
}

/** Options of {@linkcode discoverPlugins}. */
export interface DiscoverOptions {
  /** Also take the bundled example plugins (first, in their order). */
  readonly withBundled?: boolean | undefined;
  /** Base of relative paths and of the paths in messages. */
  readonly cwd: string;
}

/**
 * Finds the plugins in `paths`: for a file, every export that is a plugin
 * value (an object with a string `name` and a `parseConf` function) and every
 * exported array made only of them; for a folder, the same for each `*.ts`
 * file directly inside it, except `*_test.ts`, `*.test.ts`, `*.d.ts` and
 * `_`-prefixed files, in name order. A value exported twice is taken once.
 * On Node, TypeScript modules are loaded through `tsx` (see `typescript_imports.ts`).
 *
 * @throws {PluginDiscoveryError} for a missing path, a module that fails to load or
 *   exports no plugin, or no plugins at all.
 * @throws {DuplicatePluginNameError} when two different plugins share a name.
 * @example
 * ```ts
 * const found = await discoverPlugins(["./plugins"], { cwd: process.cwd(), withBundled: true });
 * console.log(found.map((p) => p.name));
 * ```
 */
export async function discoverPlugins(
  paths: readonly string[],
  options: DiscoverOptions,
): Promise<PluginSource[]> {
  const { cwd } = options;
  const found: PluginSource[] = [];
  const seen = new Set<unknown>();
  if (options.withBundled === true) found.push(...await _bundledSources(seen));
  for (const path of paths) {
    const absolute = resolve(cwd, path);
    if (!existsSync(absolute)) throw new PluginDiscoveryError(`Plugin path ${path} does not exist`);
    if (statSync(absolute).isDirectory()) {
      const files = _pluginFilesIn(absolute);
      if (files.length === 0) {
        throw new PluginDiscoveryError(
          `Plugin folder ${path} has no module (*.ts or *.js; tests and _-prefixed files are left out)`,
        );
      }
      for (const file of files) found.push(...await _pluginsOf(file, seen, cwd));
    } else {
      const plugins = await _pluginsOf(absolute, seen, cwd);
      if (plugins.length === 0) {
        throw new PluginDiscoveryError(
          `${path} exports no plugin (an object with a string "name" and a parseConf function, ` +
            `or an array of them)`,
        );
      }
      found.push(...plugins);
    }
  }
  if (found.length === 0) {
    throw new PluginDiscoveryError(
      paths.length === 0
        ? "No plugins to serve: pass --plugins <file|dir> (yours) and/or --with-bundled (the examples)"
        : `No plugins found in ${paths.join(", ")}`,
    );
  }
  const byName = new Map<string, PluginSource>();
  for (const plugin of found) {
    const other = byName.get(plugin.name);
    if (other !== undefined) {
      throw new DuplicatePluginNameError(
        plugin.name,
        _describe(other, cwd),
        _describe(plugin, cwd),
      );
    }
    byName.set(plugin.name, plugin);
  }
  return found;
}

async function _bundledSources(seen: Set<unknown>): Promise<PluginSource[]> {
  const { bundledPlugins } = await import("../../plugins/mod.ts");
  const sources: PluginSource[] = [];
  bundledPlugins.forEach((plugin, index) => {
    if (seen.has(plugin)) return;
    seen.add(plugin);
    sources.push({
      name: plugin.name,
      plugin,
      file: BUNDLED_PLUGINS_SPECIFIER,
      access: `.bundledPlugins[${index}]`,
      bundled: true,
    });
  });
  return sources;
}

async function _pluginsOf(file: string, seen: Set<unknown>, cwd: string): Promise<PluginSource[]> {
  let exports: Record<string, unknown>;
  try {
    await enableTypeScriptImports(file);
    exports = await import(pathToFileURL(file).href) as Record<string, unknown>;
  } catch (error) {
    throw new PluginDiscoveryError(
      `Cannot load plugin module ${displayPath(file, cwd)}: ${(error as Error).message}`,
    );
  }
  const sources: PluginSource[] = [];
  const take = (value: AnyPlugin, access: string) => {
    if (seen.has(value)) return;
    seen.add(value);
    sources.push({ name: value.name, plugin: value, file, access, bundled: false });
  };
  for (const exportName of Object.keys(exports).sort(_defaultLast)) {
    const value = exports[exportName];
    const access = /^[A-Za-z_$][\w$]*$/.test(exportName)
      ? `.${exportName}`
      : `[${JSON.stringify(exportName)}]`;
    if (_isPlugin(value)) take(value, access);
    else if (Array.isArray(value) && value.length > 0 && value.every(_isPlugin)) {
      value.forEach((plugin, index) => take(plugin, `${access}[${index}]`));
    }
  }
  return sources;
}

// Module namespaces list exports alphabetically; keep that order, with `default` after the named ones.
function _defaultLast(a: string, b: string): number {
  if (a === "default") return 1;
  if (b === "default") return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function _isPlugin(value: unknown): value is AnyPlugin {
  return typeof value === "object" && value !== null &&
    typeof (value as { name?: unknown }).name === "string" &&
    typeof (value as { parseConf?: unknown }).parseConf === "function";
}

function _pluginFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) =>
      /\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith(".d.ts") &&
      !/[._]test\.(ts|mts|js|mjs)$/.test(name) && !name.startsWith("_")
    )
    .sort()
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}

function _describe(plugin: PluginSource, cwd: string): string {
  if (plugin.bundled) return "the bundled example plugin";
  return `${displayPath(plugin.file, cwd)} (export ${plugin.access.replace(/^\./, "")})`;
}
