// Proves a freshly built executable starts and lists every compiled-in plugin, by running `<out> version`.

import process from "node:process";
import type { PluginSource } from "../discover.ts";
import { BuildError } from "../errors.ts";
import { runCommand } from "./run.ts";

/**
 * Runs `outPath version` in an empty environment and returns its output.
 *
 * @throws {BuildError} when it fails or does not list every plugin in `plugins`.
 */
export async function checkVersion(
  outPath: string,
  options: { plugins: readonly PluginSource[]; compiler: string; cwd: string },
): Promise<string> {
  const { plugins, compiler } = options;
  // An empty environment, as under APISIX; `version` must not need the listen address.
  const result = await runCommand(outPath, ["version"], options.cwd, {});
  const output = result.output;
  const listed = /^plugins: (.*)$/m.exec(output)?.[1]?.split(", ") ?? [];
  const missing = plugins.map((p) => p.name).filter((name) => !listed.includes(name));
  if (result.code !== 0 || !output.startsWith("apisix-ts-plugin-runner ") || missing.length > 0) {
    const hint = compiler === "deno" && process.env.DENORT_BIN !== undefined
      ? ` (is DENORT_BIN=${process.env.DENORT_BIN} really a denort? A full deno binary ignores the embedded program)`
      : "";
    throw new BuildError(
      `${outPath} version exited with ${result.code} and did not list ` +
        `${missing.length > 0 ? missing.join(", ") : "the runner"}${hint}`,
      output,
    );
  }
  return output;
}
