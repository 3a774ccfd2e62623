// Finds the plugins to compile in: every plugin export of the user's modules and folders, or the bundled ones.

import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { DuplicatePluginNameError, PluginDiscoveryError } from "./errors.ts";
import { callerCwd, displayPath, ROOT } from "./paths.ts";

/** One plugin found in the user's modules, or a bundled one. */
export interface PluginSource {
  /** The plugin's name as routes use it. */
  name: string;
  /** Absolute path of the module the generated entry imports it from. */
  file: string;
  /** Absolute path of the module defining it (differs from `file` for the bundled ones). */
  definedIn: string;
  /** How the generated entry reaches it from the module namespace: `hello`, `plugins[1]`. */
  access: string;
  /** Whether it is one of the bundled example plugins. */
  bundled: boolean;
}

/**
 * Finds the plugins in `paths`: for a file, every export that is a plugin
 * value (an object with a string `name` and a `parseConf` function) and every
 * exported array made only of them; for a folder, the same for each `*.ts`
 * file directly inside it, except `*_test.ts`, `*.d.ts` and `_`-prefixed
 * files, in name order. A value exported twice is taken once.
 *
 * @throws {PluginDiscoveryError} for a missing path, a file without plugins, or no plugins at all.
 * @throws {DuplicatePluginNameError} when two different plugins share a name.
 * @example
 * ```ts
 * const plugins = await discoverPlugins(["./my_plugins.ts"], { withBundled: true });
 * console.log(plugins.map((p) => p.name));
 * ```
 */
export async function discoverPlugins(
  paths: readonly string[],
  options: { withBundled?: boolean; cwd?: string } = {},
): Promise<PluginSource[]> {
  const cwd = options.cwd ?? callerCwd();
  const found: PluginSource[] = [];
  const seen = new Set<unknown>();
  if (paths.length === 0 || options.withBundled === true) {
    found.push(...await _bundledSources(seen));
  }
  for (const path of paths) {
    const absolute = resolve(cwd, path);
    if (!existsSync(absolute)) throw new PluginDiscoveryError(`Plugin path ${path} does not exist`);
    if (statSync(absolute).isDirectory()) {
      const files = _pluginFilesIn(absolute);
      if (files.length === 0) {
        throw new PluginDiscoveryError(
          `Plugin folder ${path} has no *.ts module (tests and _-prefixed files are left out)`,
        );
      }
      for (const file of files) found.push(...await _pluginsOf(file, seen));
    } else {
      const plugins = await _pluginsOf(absolute, seen);
      if (plugins.length === 0) {
        throw new PluginDiscoveryError(
          `${path} exports no plugin (an object with a string "name" and a parseConf function, ` +
            `or an array of them)`,
        );
      }
      found.push(...plugins);
    }
  }
  if (found.length === 0) throw new PluginDiscoveryError(`No plugins found in ${paths.join(", ")}`);
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
  const mod = await import(pathToFileURL(join(ROOT, "plugins", "mod.ts")).href) as {
    bundledPlugins: readonly unknown[];
  };
  // Name the file each bundled plugin lives in, for duplicate-name messages.
  const fileOf = new Map<unknown, string>();
  for (const file of _pluginFilesIn(join(ROOT, "plugins"))) {
    if (basename(file) === "mod.ts") continue;
    const exports = await import(pathToFileURL(file).href) as Record<string, unknown>;
    for (const value of Object.values(exports)) if (_isPlugin(value)) fileOf.set(value, file);
  }
  const sources: PluginSource[] = [];
  const modFile = join(ROOT, "plugins", "mod.ts");
  mod.bundledPlugins.forEach((plugin, index) => {
    if (!_isPlugin(plugin) || seen.has(plugin)) return;
    seen.add(plugin);
    sources.push({
      name: plugin.name,
      file: modFile,
      definedIn: fileOf.get(plugin) ?? modFile,
      access: `.bundledPlugins[${index}]`,
      bundled: true,
    });
  });
  return sources;
}

async function _pluginsOf(file: string, seen: Set<unknown>): Promise<PluginSource[]> {
  let exports: Record<string, unknown>;
  try {
    exports = await import(pathToFileURL(file).href) as Record<string, unknown>;
  } catch (error) {
    throw new PluginDiscoveryError(
      `Cannot import plugin module ${file}: ${(error as Error).message}`,
    );
  }
  const sources: PluginSource[] = [];
  const take = (value: unknown, access: string) => {
    if (seen.has(value)) return;
    seen.add(value);
    const name = (value as { name: string }).name;
    sources.push({ name, file, definedIn: file, access, bundled: false });
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

function _isPlugin(value: unknown): value is { name: string; parseConf: unknown } {
  return typeof value === "object" && value !== null &&
    typeof (value as { name?: unknown }).name === "string" &&
    typeof (value as { parseConf?: unknown }).parseConf === "function";
}

function _pluginFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) =>
      name.endsWith(".ts") && !name.endsWith(".d.ts") && !name.endsWith("_test.ts") &&
      !name.startsWith("_")
    )
    .sort()
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}

function _describe(plugin: PluginSource, cwd: string): string {
  if (plugin.bundled) return `${displayPath(plugin.definedIn, cwd)} (bundled)`;
  return `${displayPath(plugin.file, cwd)} (export ${plugin.access.replace(/^\./, "")})`;
}
