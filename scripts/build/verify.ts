// Proves a freshly built executable starts and lists every compiled-in plugin, by running `<out> version`.

import { spawnSync } from "node:child_process";
import process from "node:process";
import type { PluginSource } from "./discover.ts";
import { BuildError } from "./errors.ts";

/**
 * Runs `outPath version` in an empty environment and returns its output.
 *
 * @throws {BuildError} when it fails or does not list every plugin in `plugins`.
 */
export function checkVersion(
  outPath: string,
  options: { plugins: readonly PluginSource[]; compiler: string },
): string {
  const { plugins, compiler } = options;
  // An empty environment, as under APISIX; `version` must not need the listen address.
  const result = spawnSync(outPath, ["version"], { env: {}, encoding: "utf8", timeout: 30_000 });
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`;
  const listed = /^plugins: (.*)$/m.exec(output)?.[1]?.split(", ") ?? [];
  const missing = plugins.map((p) => p.name).filter((name) => !listed.includes(name));
  if (result.status !== 0 || !output.startsWith("apisix-ts-plugin-runner ") || missing.length > 0) {
    const hint = compiler === "deno" && process.env.DENORT_BIN !== undefined
      ? ` (is DENORT_BIN=${process.env.DENORT_BIN} really a denort? A full deno binary ignores the embedded program)`
      : "";
    throw new BuildError(
      `${outPath} version exited with ${result.status} and did not list ` +
        `${missing.length > 0 ? missing.join(", ") : "the runner"}${hint}`,
      output,
    );
  }
  return output;
}
